// Test support: the key-closure checker.
//
// Given every rekey a Root ever sent (all wrapped entries of all batches, which is a
// superset of what any one member sees) and every key a coalition ever held, computes
// every key the coalition can derive by repeatedly
//   - unwrapping any entry whose wrapping node's key it knows (by trying each known key
//     of that node: it cannot tell versions apart, so it tries them all);
//   - hash-forwarding a known key at the next LKH+ epoch after it was valid;
//   - deriving LKH+ split-node keys from any member secret it holds;
// until nothing new appears. Then reports which epochs' net keys it can compute.
#ifndef NETKEY_TESTS_SUPPORT_KEY_CLOSURE_H_
#define NETKEY_TESTS_SUPPORT_KEY_CLOSURE_H_

#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "support/key_sim.h"

namespace netkey::testing {

class KeyClosure {
 public:
  KeyClosure(uint64_t group_id, const std::vector<SimBatch>& batches);
  void add_member(const SimMember& m);
  // Runs to a fixpoint; returns every epoch whose net key the coalition can compute.
  std::set<uint64_t> derivable_epochs(const std::map<uint64_t, std::vector<uint8_t>>& net_keys);
  size_t known_keys() const { return known_count_; }

 private:
  struct Known {
    std::vector<uint8_t> key;
    uint64_t valid_from;
  };
  void learn(NodeId node, std::vector<uint8_t> key, uint64_t valid_from);

  uint64_t group_id_;
  const std::vector<SimBatch>& batches_;
  std::vector<uint64_t> hf_epochs_;                           // sorted
  std::map<NodeId, std::vector<std::pair<size_t, size_t>>> by_wrapper_;  // -> (batch, entry)
  std::set<std::pair<size_t, size_t>> solved_;
  std::map<NodeId, std::vector<Known>> known_;
  std::unordered_set<std::string> seen_;  // key bytes + node id
  std::vector<std::pair<NodeId, Known>> work_;
  std::vector<std::vector<uint8_t>> secrets_;
  size_t known_count_ = 0;
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_KEY_CLOSURE_H_
