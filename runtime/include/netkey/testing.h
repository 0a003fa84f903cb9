// netkey/testing.h: hooks for tests, benchmarks, fuzzers and the demo adversary.
//
// Not part of the public API and not installed (cmake/install.cmake excludes it): a
// game never needs these, and several hand out key material that production code must
// never see. Each hook is a free function over the public class; the class grants
// access through a private `friend struct TestingAccess;` (runtime/src/util/
// testing_access.h), so the public headers carry no hooks of their own.
//
// Misuse (the preconditions below) aborts, as everywhere in netkey. Single-threaded,
// like the objects they reach into.
#ifndef NETKEY_TESTING_H_
#define NETKEY_TESTING_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "netkey/keys.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/traffic.h"

namespace netkey::testing {

// Jumps `sender`'s sequence forward to `seq`, to exercise the 2^32 limit without sealing
// 2^32 packets. Aborts when `seq` is below the next sequence (never reuse a nonce).
void advance_seq(TrafficSender& sender, uint64_t seq);

// The Root's current net key (was Root::net_key). Aborts when !root.has_net_key().
// The reference lives until the next commit.
const SymmetricKey& root_net_key(const Root& root);

// Every key the participant holds now, leaf's parent first, root last (the adversary's
// loot; was Participant::held_keys). Empty before the HandshakeResponse. The pointers
// live until the participant applies its next rekey.
std::vector<std::pair<NodeId, const SymmetricKey*>> held_keys(const Participant& p);

// The participant's key state itself (was Participant::member_keys_for_testing), or
// nullptr before the HandshakeResponse. Lives as long as the participant.
const MemberKeys* member_keys(const Participant& p);

// The handshake's member secret and the unicast key derived from it (were
// MemberKeys::member_secret_for_testing / unicast_key_for_testing): what a departing
// member walks away with, for the demo adversary.
const SymmetricKey& member_secret(const MemberKeys& keys);
const SymmetricKey& unicast_key(const MemberKeys& keys);

// Faults planted in a KeyTree so that tests can show their oracles catch a broken tree
// (positive controls). Never set outside tests.
enum class TreeFault : uint8_t {
  kNone = 0,
  kSkipOldTeamPath = 1,  // a switch does not rekey the path of the team it leaves
};
void set_tree_fault(KeyTree& tree, TreeFault fault);

}  // namespace netkey::testing

#endif  // NETKEY_TESTING_H_
