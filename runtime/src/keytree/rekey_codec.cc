#include "netkey/rekey_codec.h"

#include <array>
#include <cstring>
#include <string>

#include "netkey/wire/rekey_generated.h"
#include "src/keytree/sealed.h"
#include "src/keytree/wrap.h"

namespace netkey {
namespace {

using detail::SealedHeader;

wire::WrappedKey to_wire(const WrappedKey& w) {
  return wire::WrappedKey(w.node, w.wrapper,
                          flatbuffers::span<const uint8_t, kWrappedKeySize>(w.ciphertext.data(), kWrappedKeySize));
}

// Builds the RekeyBody into `b` (cleared first); the result is b's buffer. Structs are
// written in place: no temporary vectors.
void build_body(flatbuffers::FlatBufferBuilder& b, const RekeyPlan& plan, std::span<const WrappedKey* const> entries,
                std::span<const LeafMove> moves) {
  b.Clear();
  wire::LeafMove* mp = nullptr;
  auto mv = b.CreateUninitializedVectorOfStructs<wire::LeafMove>(moves.size(), &mp);
  for (size_t i = 0; i < moves.size(); ++i) mp[i] = wire::LeafMove(moves[i].from, moves[i].to);
  wire::WrappedKey* ep = nullptr;
  auto ev = b.CreateUninitializedVectorOfStructs<wire::WrappedKey>(entries.size(), &ep);
  for (size_t i = 0; i < entries.size(); ++i) ep[i] = to_wire(*entries[i]);
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
  SealedHeader h{tree.group_id(), tree.epoch(), id, to.seq, kind};
  auto ad = h.ad();
  b.Clear();
  uint8_t* ct = nullptr;
  // Seal straight into the message's ciphertext vector: no intermediate copy.
  auto cv = b.CreateUninitializedVector(plaintext.size() + kAeadTagSize, &ct);
  detail::sealed_aead().seal(*to.key, h.nonce(), ad, plaintext, std::span<uint8_t>(ct, plaintext.size() + kAeadTagSize));
  b.Finish(wire::CreateSealed(b, h.group_id, h.epoch, h.member, h.seq,
                              static_cast<wire::SealedKind>(kind), cv),
           detail::kSealedId);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
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
  flatbuffers::FlatBufferBuilder b(64 + path.size() * 40);
  std::vector<wire::PathKey> keys;
  keys.reserve(path.size());
  for (const auto& [node, key] : path) {
    keys.emplace_back(node, flatbuffers::span<const uint8_t, 32>(key->data(), 32));
  }
  auto kv = b.CreateVectorOfStructs(keys);
  b.Finish(wire::CreatePathBody(b, tree.group_id(), tree.epoch(), id, tree.policy().degree, *leaf, kv));
  std::span<uint8_t> plain(b.GetBufferPointer(), b.GetSize());
  auto out = seal_to(tree, id, kind, plain);
  detail::wipe(plain.data(), plain.size());  // path keys in the clear
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

SliceEncoder::SliceEncoder(const RekeyPlan& plan) : plan_(plan) {
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
  flatbuffers::FlatBufferBuilder& b = builder_;
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
  wire::LeafMove* mp = nullptr;
  auto mv_it = move_to_.find(to->leaf);
  auto mv = b.CreateUninitializedVectorOfStructs<wire::LeafMove>(mv_it != move_to_.end() ? 1 : 0, &mp);
  if (mv_it != move_to_.end()) mp[0] = wire::LeafMove(plan_.moves[mv_it->second].from, plan_.moves[mv_it->second].to);
  auto kv = b.CreateVectorOfStructs(keys.data(), count);
  wire::RekeyBodyBuilder rb(b);
  rb.add_group_id(plan_.group_id);
  rb.add_epoch(plan_.epoch);
  rb.add_kind(static_cast<wire::RekeyKind>(plan_.kind));
  rb.add_degree(plan_.degree);
  rb.add_moves(mv);
  rb.add_path_keys(kv);
  b.Finish(rb.Finish());
  auto out = seal_with(sealed_builder_, tree, id, *to, SealedKind::kSlice, {b.GetBufferPointer(), b.GetSize()});
  detail::wipe(b.GetBufferPointer(), b.GetSize());  // path keys in the clear
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
