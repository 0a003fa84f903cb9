// The demo adversary's own crypto, written from docs/PROTOCOL.md with libsodium calls and
// byte strings: the KDF contexts, key unwrapping, the Sealed seal and the traffic AEAD.
// It does not go through the runtime's key tree, MemberKeys or traffic code, so that a
// derivation the runtime gets wrong (or changes) cannot also blind the oracle that
// judges it. Every key it returns is a SymmetricKey (wiped on destruction); nothing
// here logs.
#ifndef NETKEY_SAMPLES_COMMON_ADVERSARY_SPEC_H_
#define NETKEY_SAMPLES_COMMON_ADVERSARY_SPEC_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "netkey/aead.h"
#include "netkey/keys.h"

namespace netkey::demo::spec {

// crypto_kdf_derive_from_key(key, context, id): `context` is exactly 8 characters.
SymmetricKey kdf(const SymmetricKey& key, const char (&context)[9], uint64_t id);
// Keyed BLAKE2b-256(key = ikm, message = context || info).
SymmetricKey extract(const SymmetricKey& ikm, const char (&context)[9], std::span<const uint8_t> info);

// Per-member keys ("Key tree" table).
inline SymmetricKey leaf_key(const SymmetricKey& secret) { return kdf(secret, "nk-leafw", 0); }
inline SymmetricKey unicast_key(const SymmetricKey& secret) { return kdf(secret, "nk-unica", 0); }
inline SymmetricKey forward_key(const SymmetricKey& node_key, uint64_t epoch) {
  return kdf(node_key, "nk-fwdky", epoch);
}
inline SymmetricKey net_key(const SymmetricKey& root_key, uint64_t epoch) { return kdf(root_key, "nk-netky", epoch); }
inline SymmetricKey traffic_key(const SymmetricKey& net, uint16_t sender) { return kdf(net, "nk-trafk", sender); }
// Issue 12. A team's key of `epoch` from its team node's key (node t + 1 for team t):
// KDF(node key, "nk-teamk", epoch); a type-4 packet is sealed under it directly.
inline SymmetricKey team_key(const SymmetricKey& node_key, uint64_t epoch) { return kdf(node_key, "nk-teamk", epoch); }
// A private channel's key of `epoch` and direction (0: Root -> member, type 5; 1: member
// -> Root, type 6) from the member's secret: extract(KDF(secret, "nk-privb", 0),
// "nk-privk", le64(epoch) || u8(direction)); a type-5/6 packet is sealed under it.
SymmetricKey private_key(const SymmetricKey& member_secret, uint64_t epoch, uint8_t direction);

// The key of node `node`, created by splitting the leaf of the member with `secret` in
// the LKH+ batch of `epoch`. The spec's derivation binds the node:
//   extract(secret, "nk-split", le64(epoch) || le32(node));
// the runtime used KDF(secret, "nk-split", epoch) before, which gives every node split
// in one batch for one member the same key. The adversary tries both (split_keys), so
// it does not depend on which one the runtime under test implements.
SymmetricKey split_key(const SymmetricKey& secret, uint64_t epoch, uint32_t node);
SymmetricKey split_key_unbound(const SymmetricKey& secret, uint64_t epoch);

// A WrappedKey as it is on the wire (56 bytes: node, wrapper, 48 bytes of ciphertext).
struct Wrapped {
  uint32_t node;
  uint32_t wrapper;
  std::array<uint8_t, 48> ciphertext;
};
// Opens `w` under `key` with the nonce and AD the spec gives for the fields as written
// (nonce le32(node) || le64(epoch); AD le64(group) || le64(epoch) || le32(node) ||
// le32(wrapper)). nullopt when `key` is not the one it was sealed under.
std::optional<SymmetricKey> unwrap(const Wrapped& w, const SymmetricKey& key, uint64_t group_id, uint64_t epoch);

// The header fields of a Sealed message, as written.
struct SealedHeader {
  uint64_t group_id;
  uint64_t epoch;
  uint32_t member;
  uint64_t seq;
  uint8_t kind;
};
// Opens a Sealed ciphertext (tag included) under `unicast`: nonce le32(kind) || le64(seq),
// AD le64(group) || le64(epoch) || le32(member) || le64(seq) || u8(kind). The caller
// wipes the plaintext (it holds keys). False when the tag fails.
bool open_sealed(const SealedHeader& h, std::span<const uint8_t> ciphertext, const SymmetricKey& unicast,
                 std::vector<uint8_t>& plaintext);

// Opens a traffic packet (header, ciphertext, tag, and for type 3 a signature, which is
// not checked: only secrecy is judged) under a sender key. `scratch` receives the
// payload. False when the tag fails or the packet is too short.
bool open_traffic(AeadSuite suite, uint64_t group_id, std::span<const uint8_t> packet, const SymmetricKey& sender_key,
                  std::vector<uint8_t>& scratch);

}  // namespace netkey::demo::spec

#endif  // NETKEY_SAMPLES_COMMON_ADVERSARY_SPEC_H_
