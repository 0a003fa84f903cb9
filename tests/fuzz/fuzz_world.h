// Shared set-up for the fuzz targets and fuzz_seeds, so that the seeds fuzz_seeds writes
// are valid inputs for the targets (same identities, charter, tree and member).
//
// Several parsers sit behind a signature or an AEAD tag (a Whole's body, the plaintext
// of a Slice, Welcome or Resync, an ACL update's body, a charter's body) or behind
// handshake state (a HandshakeInit after a real cookie and with a real proof of
// possession, a HandshakeResponse to a client that sent its Init, an Authenticated
// message under a member's control key). A fuzzer cannot forge those, so the
// structure-aware targets sign, seal or set up the state themselves and fuzz the bytes
// behind it (fuzz_group.h runs the handshakes).
#ifndef NETKEY_TESTS_FUZZ_FUZZ_WORLD_H_
#define NETKEY_TESTS_FUZZ_FUZZ_WORLD_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/pki.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/rekey_codec.h"
#include "netkey/root.h"
#include "netkey/sign.h"

namespace netkey::fuzz {

inline constexpr uint64_t kSession = 0x5151;

// Identities(3) and its charter for session kSession listing p1 and p2. Use only the
// identities all_identities() lists: a new one would be issued from the shared Rng.
demo::Identities& ids();
const std::vector<uint8_t>& charter();
// root, lc, lobby, p1, p2, then p3 (not on the ACL), p1 expired, p2 with clearance 0.
const std::vector<const demo::Identity*>& all_identities();

// Member 1 of group 7, welcomed at epoch 1 into a tree of 19 members (degree 4).
struct FuzzMember {
  FuzzMember();
  DeterministicRng rng;
  SigningKey root;
  SymmetricKey secret;
  KeyTree tree;
  std::vector<uint8_t> welcome;
  static constexpr uint64_t kGroup = 7;
  static constexpr MemberId kId = 1;
};
// A MemberKeys for member 1 with the Welcome applied (epoch 1).
MemberKeys welcomed(const FuzzMember& m);

// A Whole around `body`, signed by `root`.
std::vector<uint8_t> signed_whole(const SigningKey& root, std::span<const uint8_t> body);
// A Sealed message of `kind` for member `id` around `plaintext`, under `secret`'s
// unicast key.
std::vector<uint8_t> sealed(const SymmetricKey& secret, uint64_t group, uint64_t epoch, MemberId id, uint64_t seq,
                            SealedKind kind, std::span<const uint8_t> plaintext);
// The plaintext of a Sealed message for `secret` (empty if it does not open).
std::vector<uint8_t> open_sealed(const SymmetricKey& secret, std::span<const uint8_t> message);

// A fresh Root for the fuzz charter (DeterministicRng(9), as every Root here: the same
// boot nonce, so the same group id, cookie secret and ephemerals in every process).
std::unique_ptr<Root> fresh_root();
const std::array<uint8_t, 32>& charter_digest();

// The harnesses: each fuzz_<name>.cc calls one (fuzz_group.h has those that run a
// handshake). Each returns whether the input got all the way through (applied,
// accepted, answered), so that fuzz_seeds can check that its seeds reach the parser
// behind the signature, tag or state. The stateful ones check all or nothing on every
// input they reject (fuzz_invariants.h).
bool run_whole_body(std::span<const uint8_t> body);          // a member applied the Whole
bool run_sealed_body(std::span<const uint8_t> input);        // a member applied it
bool run_rekey(std::span<const uint8_t> input);              // a member applied it
bool run_acl_update(std::span<const uint8_t> body);          // the Root applied the update
bool run_charter_body(std::span<const uint8_t> body);        // the charter verified
// fuzz_parsers.cc: the parsers without a signature or state in front.
bool run_traffic(std::span<const uint8_t> packet);           // a receiver opened it
bool run_private_channel(std::span<const uint8_t> packet);   // a PrivateChannel opened it
inline constexpr SenderId kPrivateFuzzMember = 7;            // fuzz_private_channel's member
const SymmetricKey& private_fuzz_base();                     // and its private base key
bool run_certificate(std::span<const uint8_t> input);        // it verified
bool run_charter(std::span<const uint8_t> input);            // it verified
bool run_keyfile(std::span<const uint8_t> input);            // it parsed as a CA file
bool run_cookie(std::span<const uint8_t> input);             // the cookie checked

}  // namespace netkey::fuzz

#endif  // NETKEY_TESTS_FUZZ_FUZZ_WORLD_H_
