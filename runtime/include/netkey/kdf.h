// netkey/kdf.h: key derivation with 8-byte contexts (libsodium crypto_kdf, BLAKE2b).
//
// Key separation: every derived key has its own context, listed in kdf_ctx below and in
// docs/PROTOCOL.md. A context is exactly 8 ASCII bytes. Deriving with the same
// (key, context, id) always gives the same key; changing any of them gives an
// independent key.
#ifndef NETKEY_KDF_H_
#define NETKEY_KDF_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "netkey/keys.h"

namespace netkey {

class KdfContext {
 public:
  // Exactly 8 characters, checked at compile time: KdfContext("nk-netky").
  consteval KdfContext(const char (&s)[9]) : chars_{} {  // NOLINT: implicit by design
    for (int i = 0; i < 8; ++i) chars_[static_cast<size_t>(i)] = s[i];
    if (s[8] != '\0') throw "KdfContext must be exactly 8 characters";
  }
  const char* data() const { return chars_.data(); }

 private:
  std::array<char, 8> chars_;
};

// subkey = crypto_kdf_derive_from_key(master, context, id): BLAKE2b-256 keyed with
// `master`, no message, salt = le64(id) || 0^8, personalization = context || 0^8
// (docs/PROTOCOL.md "Primitives"). Cannot fail.
SymmetricKey kdf_derive(const SymmetricKey& master, const KdfContext& context, uint64_t subkey_id);

// Extracts a uniform key from input keying material that is not itself a uniform key
// (an X25519 shared secret) bound to `info` (a transcript hash):
//   BLAKE2b-256(key = ikm, message = context || info).
SymmetricKey kdf_extract(std::span<const uint8_t> ikm, const KdfContext& context,
                         std::span<const uint8_t> info);

// BLAKE2b-256 of the concatenation of `parts` (not a secret; transcript hashes, ids).
std::array<uint8_t, 32> hash256(std::initializer_list<std::span<const uint8_t>> parts);

// Every context netkey uses. Adding one: also add it to docs/PROTOCOL.md.
namespace kdf_ctx {
inline constexpr KdfContext kNetKey("nk-netky");    // root node key -> net key of epoch e
inline constexpr KdfContext kTeamKey("nk-teamk");   // team node key -> team key of epoch e
inline constexpr KdfContext kForward("nk-fwdky");   // LKH+ hash-forward of a node key
inline constexpr KdfContext kLeafWrap("nk-leafw");  // member secret -> leaf wrapping key
inline constexpr KdfContext kUnicast("nk-unica");   // member secret -> unicast seal key
inline constexpr KdfContext kSplit("nk-split");     // member secret, epoch, node -> split-node key (LKH+; kdf_extract)
inline constexpr KdfContext kTraffic("nk-trafk");   // net key -> per-sender traffic key
inline constexpr KdfContext kResync("nk-resyn");    // member secret -> resync key
inline constexpr KdfContext kHandshake("nk-hands");  // X25519 secret + transcript -> member secret
inline constexpr KdfContext kControl("nk-contr");   // member secret -> authenticated control key
inline constexpr KdfContext kConnectTag("nk-conid");  // member secret -> transport connect tag (32 bits)
}  // namespace kdf_ctx

}  // namespace netkey

#endif  // NETKEY_KDF_H_
