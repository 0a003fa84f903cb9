// netkey/certificate.h: identity certificates signed by the Root-CA.
//
// A certificate binds a subject id to an Ed25519 public key, a role and a clearance
// level, for a validity window. It is a FlatBuffers table (schemas/certificate.fbs)
// whose body bytes the CA signs. docs/PROTOCOL.md gives the bytes.
//
// Time: certificate validity is wall-clock Unix seconds, passed in by the caller (the
// runtime never reads a clock).
#ifndef NETKEY_CERTIFICATE_H_
#define NETKEY_CERTIFICATE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netkey/keys.h"
#include "netkey/sign.h"
#include "netkey/status.h"

namespace netkey {

enum class Role : uint8_t {
  kRoot = 1,            // the game server
  kListController = 2,  // the matchmaker
  kInitiator = 3,       // the lobby service that creates a match
  kParticipant = 4,     // a player or bot
};

// "root", "list-controller", "initiator", "participant".
std::string_view role_name(Role role);
// Errors: kInvalidArgument for any other string.
Result<Role> parse_role(std::string_view name);

inline constexpr size_t kMaxCertificateBytes = 1024;
inline constexpr size_t kMaxSubjectIdBytes = 64;

struct CertificateFields {
  uint64_t serial = 0;
  std::string subject_id;
  Role role = Role::kParticipant;
  Ed25519PublicKey public_key;
  uint8_t clearance = 0;
  uint64_t not_before = 0;  // Unix seconds, inclusive
  uint64_t not_after = 0;   // Unix seconds, inclusive
  KeyId issuer_key_id;      // set by issue_certificate
};

// CA side: serializes `fields` and signs the body with `ca`. issuer_key_id is taken
// from `ca`. Errors: kInvalidArgument when the subject id is empty or longer than
// kMaxSubjectIdBytes, or when not_before > not_after.
Result<std::vector<uint8_t>> issue_certificate(const SigningKey& ca, CertificateFields fields);

// Reads the fields without checking the signature or the dates (for display only).
// Errors: kTooLarge, kMalformed.
Result<CertificateFields> parse_certificate(std::span<const uint8_t> bytes);

// Full verification, in this order; the first failure is returned:
//   kTooLarge / kMalformed  size cap, FlatBuffers Verifier, field sizes
//   kUnknownIssuer          issuer_key_id is not the key id of `ca_public_key`
//   kBadSignature           the CA signature does not verify over the body bytes
//   kNotYetValid            now_unix < not_before
//   kExpired                now_unix > not_after
//   kWrongRole              required_role is set and differs
// On success returns the verified fields. Hostile bytes never abort.
Result<CertificateFields> verify_certificate(std::span<const uint8_t> bytes,
                                             const Ed25519PublicKey& ca_public_key,
                                             uint64_t now_unix,
                                             std::optional<Role> required_role = std::nullopt);

}  // namespace netkey

#endif  // NETKEY_CERTIFICATE_H_
