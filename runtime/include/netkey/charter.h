// netkey/charter.h: the session charter, created and signed by the Initiator.
//
// The charter fixes a match's security attributes, the elected Root and List
// Controller (by key id), and the initial participant list. The Root refuses to run on
// a charter that does not verify; a participant's handshake names the charter's hash,
// so both sides agree on the same one.
#ifndef NETKEY_CHARTER_H_
#define NETKEY_CHARTER_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "netkey/aead.h"
#include "netkey/keys.h"
#include "netkey/sign.h"
#include "netkey/status.h"

namespace netkey {

inline constexpr size_t kMaxCharterBytes = 256 * 1024;
inline constexpr uint32_t kMaxMemberCap = 65535;  // sender ids are 16-bit

struct CharterFields {
  uint64_t session_id = 0;  // the group id
  AeadSuite suite = AeadSuite::kChaCha20Poly1305;
  uint8_t classification = 0;
  uint8_t degree = 4;
  uint8_t teams = 0;  // 0: no teams; 1..degree: team subtrees (TreePolicy::teams)
  uint32_t batch_window_ms = 50;
  uint32_t max_batch = 256;
  bool hash_forward_joins = false;  // join policy: rekey on join (false) or hash-forward
  bool signed_broadcasts = false;   // broadcast auth: group-only (false) or Root-signed
  uint32_t member_cap = 1024;
  KeyId root_key_id;
  KeyId list_controller_key_id;
  std::vector<std::string> participants;  // subject ids
  uint64_t not_before = 0;  // Unix seconds
  uint64_t not_after = 0;
};

// Initiator side: checks the fields (see verify_charter) and signs them. `initiator`
// must be the key of `initiator_certificate`. Errors: kInvalidArgument naming the bad
// field.
Result<std::vector<uint8_t>> sign_charter(const CharterFields& fields, const SigningKey& initiator,
                                          std::span<const uint8_t> initiator_certificate);

// Verification, in order: size and FlatBuffers (kTooLarge, kMalformed); the
// initiator's certificate against the CA with role initiator (its own errors); the
// signature (kBadSignature); the validity window (kNotYetValid, kExpired); the
// attributes (kInvalidArgument: suite, 256-bit keys, degree 2..16, teams 0..degree, window, batch,
// member cap 1..65535, at most 65535 participants).
Result<CharterFields> verify_charter(std::span<const uint8_t> bytes, const Ed25519PublicKey& ca_public_key,
                                     uint64_t now_unix);

// BLAKE2b-256 of the charter's exact bytes: what handshakes bind to.
std::array<uint8_t, 32> charter_hash(std::span<const uint8_t> bytes);

}  // namespace netkey

#endif  // NETKEY_CHARTER_H_
