// Internal: the unicast seal shared by the Root's encoders and MemberKeys.
//
// Sealed messages (Slice, Welcome, Resync) use ChaCha20-Poly1305-IETF under the member's
// unicast key with nonce = le32(kind) || 0 || le64(seq). The Root takes seq from
// KeyTree::next_unicast_seq, a per-member counter that only grows while the member's
// unicast key exists (a reconnect makes a new handshake, a new member secret and a new
// unicast key), so (key, nonce) never repeats.
#ifndef NETKEY_SRC_KEYTREE_SEALED_H_
#define NETKEY_SRC_KEYTREE_SEALED_H_

#include <array>
#include <cstdint>

#include "netkey/aead.h"
#include "netkey/rekey_codec.h"

namespace netkey::detail {

inline constexpr char kWholeId[] = "NKRW";
inline constexpr char kSealedId[] = "NKSL";
inline constexpr char kRekeySigLabel[] = "netkey-rekey-v1";  // signed with its NUL

struct SealedHeader {
  uint64_t group_id;
  uint64_t epoch;
  MemberId member;
  uint64_t seq;
  SealedKind kind;

  std::array<uint8_t, 29> ad() const {
    std::array<uint8_t, 29> a{};
    for (int i = 0; i < 8; ++i) a[static_cast<size_t>(i)] = static_cast<uint8_t>(group_id >> (8 * i));
    for (int i = 0; i < 8; ++i) a[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(epoch >> (8 * i));
    for (int i = 0; i < 4; ++i) a[static_cast<size_t>(16 + i)] = static_cast<uint8_t>(member >> (8 * i));
    for (int i = 0; i < 8; ++i) a[static_cast<size_t>(20 + i)] = static_cast<uint8_t>(seq >> (8 * i));
    a[28] = static_cast<uint8_t>(kind);
    return a;
  }
  Nonce nonce() const { return Nonce::from_counter(12, static_cast<uint32_t>(kind), seq); }
};

inline const Aead& sealed_aead() {
  static const Aead aead = Aead::create(AeadSuite::kChaCha20Poly1305).value();
  return aead;
}

}  // namespace netkey::detail

#endif  // NETKEY_SRC_KEYTREE_SEALED_H_
