#include "netkey/rekey_codec.h"

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

std::vector<uint8_t> body_bytes(const RekeyPlan& plan, const std::vector<const WrappedKey*>& entries,
                                const std::vector<LeafMove>& moves) {
  flatbuffers::FlatBufferBuilder b(64 + entries.size() * 60 + moves.size() * 8);
  std::vector<wire::LeafMove> wm;
  wm.reserve(moves.size());
  for (const LeafMove& m : moves) wm.emplace_back(m.from, m.to);
  std::vector<wire::WrappedKey> we;
  we.reserve(entries.size());
  for (const WrappedKey* e : entries) we.push_back(to_wire(*e));
  auto mv = b.CreateVectorOfStructs(wm);
  auto ev = b.CreateVectorOfStructs(we);
  b.Finish(wire::CreateRekeyBody(b, plan.group_id, plan.epoch,
                                 static_cast<wire::RekeyKind>(plan.kind), plan.degree, mv, ev));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::vector<uint8_t> seal_to(KeyTree& tree, MemberId id, SealedKind kind,
                             std::span<const uint8_t> plaintext) {
  SealedHeader h{tree.group_id(), tree.epoch(), id, tree.next_unicast_seq(id), kind};
  std::vector<uint8_t> ct(plaintext.size() + kAeadTagSize);
  auto ad = h.ad();
  detail::sealed_aead().seal(*tree.unicast_key(id), h.nonce(), ad, plaintext, ct);
  flatbuffers::FlatBufferBuilder b(ct.size() + 64);
  auto cv = b.CreateVector(ct);
  b.Finish(wire::CreateSealed(b, h.group_id, h.epoch, h.member, h.seq,
                              static_cast<wire::SealedKind>(kind), cv),
           detail::kSealedId);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
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
  auto leaf = tree.leaf_of(id);
  if (!leaf) return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is not in the group");
  if (tree.epoch() != plan_.epoch) {
    return Status(Errc::kInvalidArgument, "the tree is at another epoch than this plan");
  }
  for (MemberId j : plan_.joined) {
    if (j == id) return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " joined in this batch: send a Welcome");
  }
  std::vector<const WrappedKey*> entries;
  NodeId below = *leaf;
  for (NodeId a : detail::ancestors_of(*leaf, plan_.degree)) {
    auto it = by_node_.find(a);
    if (it != by_node_.end()) {
      for (size_t i : it->second) {
        if (plan_.entries[i].wrapper == below) {
          entries.push_back(&plan_.entries[i]);
          break;
        }
      }
    }
    below = a;
  }
  std::vector<LeafMove> moves;
  auto mv = move_to_.find(*leaf);
  if (mv != move_to_.end()) moves.push_back(plan_.moves[mv->second]);
  std::vector<uint8_t> body = body_bytes(plan_, entries, moves);
  return seal_to(tree, id, SealedKind::kSlice, body);
}

Result<std::vector<uint8_t>> encode_welcome(KeyTree& tree, MemberId id) {
  return encode_path(tree, id, SealedKind::kWelcome);
}

Result<std::vector<uint8_t>> encode_resync(KeyTree& tree, MemberId id) {
  return encode_path(tree, id, SealedKind::kResync);
}

}  // namespace netkey
