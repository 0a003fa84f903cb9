#include "netkey/rekey_codec.h"

#include <array>
#include <cstring>
#include <string>

#include "netkey/wire/rekey_generated.h"
#include "src/keytree/sealed.h"
#include "src/keytree/secret_builder.h"
#include "src/keytree/wrap.h"

namespace netkey {
namespace {

using detail::SealedHeader;
using detail::SecretBuilder;

wire::WrappedKey pack_entry(const WrappedKey* const& w) {
  return wire::WrappedKey(w->node, w->wrapper,
                          flatbuffers::span<const uint8_t, kWrappedKeySize>(w->ciphertext.data(), kWrappedKeySize));
}

wire::LeafMove pack_move(const LeafMove& m) { return wire::LeafMove(m.from, m.to); }

// Builds the RekeyBody into `b` (cleared first); the result is b's buffer. Structs are
// packed in place, no temporary vectors, in the reference encoding (docs/PROTOCOL.md):
// vectors in field order, then the generated Create. (FlatBuffers 2.0.8's
// CreateUninitializedVectorOfStructs aligns to sizeof(T), 56 for a WrappedKey, which
// pads the buffer oddly; CreateVectorOfNativeStructs aligns to the struct's alignment,
// like CreateVectorOfStructs.)
void build_body(flatbuffers::FlatBufferBuilder& b, const RekeyPlan& plan, std::span<const WrappedKey* const> entries,
                std::span<const LeafMove> moves) {
  b.Clear();
  auto mv = b.CreateVectorOfNativeStructs<wire::LeafMove, LeafMove>(moves.data(), moves.size(), &pack_move);
  auto ev = b.CreateVectorOfNativeStructs<wire::WrappedKey, const WrappedKey*>(entries.data(), entries.size(), &pack_entry);
  b.Finish(wire::CreateRekeyBody(b, plan.group_id, plan.epoch,
                                 static_cast<wire::RekeyKind>(plan.kind), plan.degree, mv, ev));
}

std::vector<uint8_t> body_bytes(const RekeyPlan& plan, std::span<const WrappedKey* const> entries,
                                std::span<const LeafMove> moves) {
  flatbuffers::FlatBufferBuilder b(64 + entries.size() * 60 + moves.size() * 8);
  build_body(b, plan, entries, moves);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::vector<uint8_t> seal_with(flatbuffers::FlatBufferBuilder& b, const KeyTree& tree, MemberId id,
                               const KeyTree::UnicastTarget& to, SealedKind kind, std::span<const uint8_t> plaintext) {
  return detail::build_sealed(b, *to.key, SealedHeader{tree.group_id(), tree.epoch(), id, to.seq, kind}, plaintext);
}

std::vector<uint8_t> seal_to(KeyTree& tree, MemberId id, SealedKind kind, std::span<const uint8_t> plaintext) {
  auto to = tree.take_unicast(id);
  NETKEY_CHECK(to.has_value());
  flatbuffers::FlatBufferBuilder b(plaintext.size() + kAeadTagSize + 96);
  return seal_with(b, tree, id, *to, kind, plaintext);
}

Result<std::vector<uint8_t>> encode_path(KeyTree& tree, MemberId id, SealedKind kind) {
  auto leaf = tree.leaf_of(id);
  if (!leaf) return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is not in the group");
  auto path = tree.path_of(id);
  // The body holds the path keys in the clear: every buffer this builder drops, and its
  // last one when it goes out of scope, is wiped (secret_builder.h).
  SecretBuilder b(64 + path.size() * 40);
  std::vector<wire::PathKey> keys;
  keys.reserve(path.size());
  for (const auto& [node, key] : path) {
    keys.emplace_back(node, flatbuffers::span<const uint8_t, 32>(key->data(), 32));
  }
  auto kv = b.CreateVectorOfStructs(keys);
  b.Finish(wire::CreatePathBody(b, tree.group_id(), tree.epoch(), id, tree.policy().degree, *leaf, kv));
  std::span<uint8_t> plain(b.GetBufferPointer(), b.GetSize());
  auto out = seal_to(tree, id, kind, plain);
  b.wipe_and_clear();
  for (auto& k : keys) detail::wipe(&k, sizeof k);
  return out;
}

}  // namespace

std::vector<uint8_t> encode_whole(const RekeyPlan& plan, const SigningKey& root_key) {
  std::vector<const WrappedKey*> entries;
  entries.reserve(plan.entries.size());
  for (const WrappedKey& e : plan.entries) entries.push_back(&e);
  std::vector<uint8_t> body = body_bytes(plan, entries, plan.moves);
  std::vector<uint8_t> msg(sizeof(detail::kRekeySigLabel) + body.size());
  std::memcpy(msg.data(), detail::kRekeySigLabel, sizeof(detail::kRekeySigLabel));
  std::memcpy(msg.data() + sizeof(detail::kRekeySigLabel), body.data(), body.size());
  Ed25519Signature sig = root_key.sign(msg);
  flatbuffers::FlatBufferBuilder b(body.size() + 128);
  auto bv = b.CreateVector(body);
  auto sv = b.CreateVector(sig.bytes.data(), sig.bytes.size());
  b.Finish(wire::CreateRekeyWhole(b, bv, sv), detail::kWholeId);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

// `body` holds the slice's path keys in the clear, so it is a SecretBuilder, wiped after
// every slice and when the encoder goes. `sealed` only ever holds ciphertext.
struct SliceEncoder::Builders {
  SecretBuilder body{512};
  flatbuffers::FlatBufferBuilder sealed{512};
};

SliceEncoder::SliceEncoder(SliceEncoder&&) noexcept = default;
SliceEncoder::~SliceEncoder() = default;

SliceEncoder::SliceEncoder(const RekeyPlan& plan) : plan_(plan), builders_(std::make_unique<Builders>()) {
  for (size_t i = 0; i < plan.entries.size(); ++i) by_node_[plan.entries[i].node].push_back(i);
  for (size_t i = 0; i < plan.moves.size(); ++i) move_to_[plan.moves[i].to] = i;
}

Result<std::vector<uint8_t>> SliceEncoder::encode(KeyTree& tree, MemberId id) const {
  if (tree.epoch() != plan_.epoch) {
    return Status(Errc::kInvalidArgument, "the tree is at another epoch than this plan");
  }
  for (MemberId j : plan_.joined) {
    if (j == id) return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " joined in this batch: send a Welcome");
  }
  auto to = tree.take_unicast(id);
  if (!to) return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is not in the group");
  // The new key of every node on the member's path that this batch changed, leaf's
  // parent first. The seal under the member's own unicast key keeps them secret; no
  // per-entry wrapping is needed inside it.
  SecretBuilder& b = builders_->body;
  b.Clear();
  std::array<wire::PathKey, 32> keys;
  size_t count = 0;
  for (NodeId below = to->leaf; below != kRootNode;) {
    const NodeId a = detail::parent_of(below, plan_.degree);
    if (by_node_.count(a)) {
      const SymmetricKey* k = tree.node_key(a);
      NETKEY_CHECK(k != nullptr && count < keys.size());
      keys[count++] = wire::PathKey(a, flatbuffers::span<const uint8_t, 32>(k->data(), 32));
    }
    below = a;
  }
  auto mv_it = move_to_.find(to->leaf);
  const LeafMove* own_move = mv_it != move_to_.end() ? &plan_.moves[mv_it->second] : nullptr;
  auto mv = b.CreateVectorOfNativeStructs<wire::LeafMove, LeafMove>(own_move, own_move ? size_t{1} : size_t{0}, &pack_move);
  auto kv = b.CreateVectorOfStructs(keys.data(), count);
  // The reference encoding (docs/PROTOCOL.md): vectors first, then the generated Create.
  b.Finish(wire::CreateRekeyBody(b, plan_.group_id, plan_.epoch, static_cast<wire::RekeyKind>(plan_.kind),
                                 plan_.degree, mv, 0, kv));
  auto out = seal_with(builders_->sealed, tree, id, *to, SealedKind::kSlice, {b.GetBufferPointer(), b.GetSize()});
  b.wipe_and_clear();  // path keys in the clear
  detail::wipe(keys.data(), sizeof(wire::PathKey) * count);
  return out;
}

Result<std::vector<uint8_t>> encode_welcome(KeyTree& tree, MemberId id) {
  return encode_path(tree, id, SealedKind::kWelcome);
}

Result<std::vector<uint8_t>> encode_resync(KeyTree& tree, MemberId id) {
  return encode_path(tree, id, SealedKind::kResync);
}

}  // namespace netkey
