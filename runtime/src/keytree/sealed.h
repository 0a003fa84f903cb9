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
#include <span>
#include <vector>

#include "netkey/aead.h"
#include "netkey/rekey_codec.h"
#include "netkey/status.h"
#include "netkey/wire/rekey_generated.h"

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

// The header fields of a (verified) Sealed table, as they are.
inline SealedHeader header_of(const wire::Sealed& m) {
  return {m.group_id(), m.epoch(), m.member(), m.seq(), static_cast<SealedKind>(m.kind())};
}

// Builds a Sealed message (identifier NKSL) in `b` (cleared first), sealing `plaintext`
// under `unicast` straight into the message's ciphertext vector: no intermediate copy.
inline std::vector<uint8_t> build_sealed(flatbuffers::FlatBufferBuilder& b, const SymmetricKey& unicast,
                                         const SealedHeader& h, std::span<const uint8_t> plaintext) {
  const auto ad = h.ad();
  b.Clear();
  uint8_t* ct = nullptr;
  auto cv = b.CreateUninitializedVector(plaintext.size() + kAeadTagSize, &ct);
  sealed_aead().seal(unicast, h.nonce(), ad, plaintext, std::span<uint8_t>(ct, plaintext.size() + kAeadTagSize));
  b.Finish(wire::CreateSealed(b, h.group_id, h.epoch, h.member, h.seq, static_cast<wire::SealedKind>(h.kind), cv),
           kSealedId);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

// Opens a Sealed message's ciphertext (tag included) under `unicast`. The caller wipes
// the plaintext. Errors: kMalformed (shorter than a tag), kBadTag.
inline Result<std::vector<uint8_t>> open_sealed(const SymmetricKey& unicast, const SealedHeader& h,
                                                std::span<const uint8_t> ciphertext) {
  if (ciphertext.size() < kAeadTagSize) return Status(Errc::kMalformed, "sealed message lacks ciphertext");
  const auto ad = h.ad();
  std::vector<uint8_t> plain(ciphertext.size() - kAeadTagSize);
  if (!sealed_aead().open(unicast, h.nonce(), ad, ciphertext, plain)) {
    return Status(Errc::kBadTag, "sealed message failed authentication");
  }
  return plain;
}

}  // namespace netkey::detail

#endif  // NETKEY_SRC_KEYTREE_SEALED_H_
