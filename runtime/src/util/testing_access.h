// src/util/testing_access.h: the one friend behind netkey/testing.h.
//
// Root, Participant, MemberKeys and TrafficSender each declare `friend struct
// TestingAccess;`. Its static members are defined next to the class they reach into
// (root.cc, participant.cc, member_keys.cc, traffic.cc), where the private state is
// visible, and netkey::testing's free functions forward to them. Internal: never include
// it from a public header.
#ifndef NETKEY_SRC_UTIL_TESTING_ACCESS_H_
#define NETKEY_SRC_UTIL_TESTING_ACCESS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "netkey/testing.h"

namespace netkey {

struct TestingAccess {
  static void advance_seq(TrafficSender& sender, uint64_t seq);
  static const SymmetricKey& root_net_key(const Root& root);
  static std::vector<std::pair<NodeId, const SymmetricKey*>> held_keys(const Participant& p);
  static const MemberKeys* member_keys(const Participant& p);
  static const SymmetricKey& member_secret(const MemberKeys& keys);
  static const SymmetricKey& unicast_key(const MemberKeys& keys);
  static void set_tree_fault(KeyTree& tree, testing::TreeFault fault);
};

}  // namespace netkey

#endif  // NETKEY_SRC_UTIL_TESTING_ACCESS_H_
