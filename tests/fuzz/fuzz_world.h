// Shared set-up for the fuzz targets and fuzz_seeds, so that the seeds fuzz_seeds writes
// are valid inputs for the targets (same identities, charter, tree and member).
//
// Several parsers sit behind a signature or an AEAD tag (a Whole's body, the plaintext
// of a Slice, Welcome or Resync, an ACL update's body, a charter's body) or behind
// handshake state (a HandshakeInit after a real cookie, a HandshakeResponse to a client
// that sent its Init). A fuzzer cannot forge those, so the structure-aware targets sign,
// seal or set up the state themselves and fuzz the bytes behind it.
#ifndef NETKEY_TESTS_FUZZ_FUZZ_WORLD_H_
#define NETKEY_TESTS_FUZZ_FUZZ_WORLD_H_

#include <cstdint>
#include <span>
#include <vector>

#include "common/pki.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/rekey_codec.h"
#include "netkey/sign.h"

namespace netkey::fuzz {

inline constexpr uint64_t kSession = 0x5151;

// Identities(3) and its charter for session kSession listing p1 and p2.
demo::Identities& ids();
const std::vector<uint8_t>& charter();

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

// The structure-aware harnesses: each fuzz_<name>.cc calls one. Each returns whether the
// input got all the way through (applied, accepted, answered), so that fuzz_seeds can
// check that its seeds reach the parser behind the signature, tag or state.
bool run_whole_body(std::span<const uint8_t> body);          // a member applied the Whole
bool run_sealed_body(std::span<const uint8_t> input);        // a member applied it
bool run_acl_update(std::span<const uint8_t> body);          // the Root applied the update
bool run_charter_body(std::span<const uint8_t> body);        // the charter verified
bool run_handshake_init(std::span<const uint8_t> input);     // the Root sent a HandshakeResponse
bool run_handshake_response(std::span<const uint8_t> input); // the client sent its Finish

}  // namespace netkey::fuzz

#endif  // NETKEY_TESTS_FUZZ_FUZZ_WORLD_H_
