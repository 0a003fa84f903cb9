// Internal: control-message encoding and verified decoding, the handshake transcript,
// and the stateless cookie. Shared by Root, Participant and ListController.
#ifndef NETKEY_SRC_GROUP_MESSAGES_H_
#define NETKEY_SRC_GROUP_MESSAGES_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netkey/charter.h"
#include "netkey/group.h"
#include "netkey/keys.h"
#include "netkey/sign.h"
#include "netkey/status.h"
#include "netkey/traffic.h"
#include "netkey/wire/control_generated.h"

namespace netkey::detail {

inline constexpr size_t kMaxControlBytes = 64 * 1024;  // an ACL update may list many subjects
inline constexpr size_t kCookieSize = 40;
// A Hello is padded to at least this many bytes, and the Root drops a smaller one: the
// CookieChallenge it answers with is no larger (no amplification for a spoofed source).
inline constexpr size_t kMinHelloBytes = 96;
inline constexpr size_t kBootNonceSize = 16;
using BootNonce = std::array<uint8_t, kBootNonceSize>;

using Bytes = std::shared_ptr<const std::vector<uint8_t>>;

// A verified Control message. Keeps its own aligned copy of the bytes.
struct ParsedControl {
  std::vector<uint8_t> storage;
  const wire::Control* msg = nullptr;
};
// Errors: kTooLarge, kMalformed (Verifier with depth 6, 64 tables).
Result<ParsedControl> parse_control(std::span<const uint8_t> bytes);

Bytes encode_hello(uint64_t session_id);  // padded to kMinHelloBytes
Bytes encode_cookie(std::span<const uint8_t> cookie);
Bytes encode_handshake_init(std::span<const uint8_t> cookie, uint64_t session_id,
                            std::span<const uint8_t> charter_hash, std::span<const uint8_t> certificate,
                            const X25519PublicKey& ephemeral, const Ed25519Signature& proof);
Bytes encode_handshake_response(uint32_t member_id, std::span<const uint8_t> certificate,
                                const X25519PublicKey& ephemeral, const Ed25519Signature& sig,
                                const BootNonce& boot_nonce);
Bytes encode_handshake_finish(const Ed25519Signature& sig);
Bytes encode_refusal(RefusalReason reason);
Bytes encode_leave(uint32_t member_id);  // sent only inside an Authenticated message
Bytes encode_resync_request(uint64_t have_epoch);
Bytes encode_acl_update(std::span<const uint8_t> body, const Ed25519Signature& sig,
                        std::span<const uint8_t> certificate);
Bytes encode_authenticated(uint32_t member_id, uint8_t direction, uint64_t seq,
                           std::span<const uint8_t> ciphertext);

// What a HandshakeInit's proof of possession signs:
// "netkey-hs-init" || 0x00 || cookie || le64(session) || charter hash || ephemeral.
std::vector<uint8_t> init_message(std::span<const uint8_t> cookie, uint64_t session_id,
                                  std::span<const uint8_t> charter_hash, const X25519PublicKey& ephemeral);

// The group id of one run of a Root: the first 8 bytes, little-endian, of
// BLAKE2b-256("netkey-group-v1" || le64(session) || boot nonce). Every AD, rekey body
// and ACL update binds it, so nothing from an earlier run replays into this one.
uint64_t group_id_of(uint64_t session_id, const BootNonce& boot_nonce);

// The TrafficConfig fields the charter decides, as a Root or Participant config sets
// them: group_id must be 0 (the runtime derives it per run); suite the default
// (kChaCha20Poly1305) or the charter's; signed_broadcasts false or the charter's.
// Errors: kInvalidArgument naming the first conflicting field ("traffic.suite").
// `who` prefixes the message ("RootConfig").
Status check_charter_traffic(const TrafficConfig& traffic, const CharterFields& charter, std::string_view who);

// The transport binding tag of a handshake: the first 4 bytes, little-endian, of
// KDF(member secret, "nk-conid", 0), never 0 (then 1). Both sides know it after the
// Response; an off-path attacker does not.
uint32_t connect_tag_of(const SymmetricKey& member_secret);

// The handshake transcript hash both sides sign:
// BLAKE2b-256("netkey-hs-v2" || le64(session) || le32(member id) || charter hash ||
//             le32(len) || member cert || member ephemeral || le32(len) || root cert ||
//             root ephemeral || boot nonce).
std::array<uint8_t, 32> transcript_hash(uint64_t session_id, std::span<const uint8_t> charter_hash,
                                        uint32_t member_id, std::span<const uint8_t> member_cert,
                                        const X25519PublicKey& member_eph,
                                        std::span<const uint8_t> root_cert, const X25519PublicKey& root_eph,
                                        const BootNonce& boot_nonce);
// What each side signs: label || transcript.
std::vector<uint8_t> transcript_message(const char* label, const std::array<uint8_t, 32>& transcript);
inline constexpr char kRootHsLabel[] = "netkey-hs-root";
inline constexpr char kMemberHsLabel[] = "netkey-hs-member";

// The bytes an AclUpdate's signature covers.
std::vector<uint8_t> acl_message(std::span<const uint8_t> body);

// Stateless cookie: le64(issued_ms) || BLAKE2b-256(key = secret,
// "netkey-cookie-v1" || address || le64(issued_ms)).
std::array<uint8_t, kCookieSize> make_cookie(const SymmetricKey& secret, std::string_view address,
                                             uint64_t now_ns);
// True when `cookie` was made for `address` by `secret` within `lifetime_ns` before now.
bool check_cookie(const SymmetricKey& secret, std::string_view address, std::span<const uint8_t> cookie,
                  uint64_t now_ns, uint64_t lifetime_ns);

}  // namespace netkey::detail

#endif  // NETKEY_SRC_GROUP_MESSAGES_H_
