// Test support: drives a KeyTree and one MemberKeys per member through seeded batches,
// delivering Whole or Slice rekeys and Welcomes, and records what an adversary could
// see (the bytes of every message) and hold (every key a member ever had), for the
// key-closure oracle (key_closure.h).
#ifndef NETKEY_TESTS_SUPPORT_KEY_SIM_H_
#define NETKEY_TESTS_SUPPORT_KEY_SIM_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netkey/batch_planner.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/random.h"
#include "netkey/rekey_codec.h"
#include "netkey/sign.h"
#include "support/key_closure.h"

namespace netkey::testing {

struct HeldKey {
  NodeId node;  // where the member held it (its leaf, or a node of its path)
  SymmetricKey key;
  uint64_t epoch;  // the epoch at which the member held it
};

struct SimMember {
  MemberId id = 0;
  SymmetricKey secret;
  std::unique_ptr<MemberKeys> keys;
  uint64_t joined_epoch = 0;
  std::optional<uint64_t> removed_epoch;       // the epoch whose batch removed it
  std::vector<HeldKey> held;                   // every key it held, at every epoch
  std::vector<std::vector<uint8_t>> received;  // every Sealed message sent to it
  std::map<uint64_t, uint8_t> team_at;         // epoch -> its team then (with teams)
};

struct SimBatch {
  RekeyPlan plan;
  // The batch's Whole. It is made even when the batch went out as Slices: the
  // adversary is given it anyway (a stronger adversary; a Slice carries no key that
  // the Whole does not wrap), and its kind says which epochs hash forward.
  std::vector<uint8_t> whole;
};

class KeySim {
 public:
  KeySim(uint64_t seed, TreePolicy policy, bool use_slices);

  // One batch: `joins` new members and `leaves` distinct random current members.
  // Delivers the rekey and Welcomes, then checks agreement (gtest EXPECTs).
  void step(size_t joins, size_t leaves);
  // A batch with explicit ids to leave (and, with teams, members switching team).
  // With teams each joiner goes to a random team.
  void step_with(size_t joins, const std::vector<MemberId>& leaving,
                 const std::vector<TeamSwitch>& switches = {});
  // With teams: `joins` joiners, `leaves` random leavers and `switches` random other
  // members each moving to a random other team.
  void step_teams(size_t joins, size_t leaves, size_t switches);

  // Gives `closure` what the coalition saw and held: every batch's Whole, the Sealed
  // messages sent to its members, and every key they held (secrets included).
  void observe(KeyClosure& closure, const std::vector<MemberId>& coalition) const;

  KeyTree& tree() { return tree_; }
  Rng& rng() { return rng_; }
  const std::map<uint64_t, SymmetricKey>& net_keys() const { return net_keys_; }
  // (team, epoch) -> the Root's team key (with teams).
  const std::map<std::pair<uint8_t, uint64_t>, SymmetricKey>& team_keys() const { return team_keys_; }
  const std::vector<SimBatch>& batches() const { return batches_; }
  std::vector<SimBatch>& mutable_batches() { return batches_; }
  const std::map<MemberId, SimMember>& members() const { return members_; }
  std::vector<MemberId> current() const;
  const SigningKey& root_key() const { return root_; }
  uint64_t group_id() const { return tree_.group_id(); }
  size_t agreement_failures() const { return agreement_failures_; }
  size_t bytes_sent() const { return bytes_sent_; }

 private:
  void record_held(SimMember& m);
  void deliver(const RekeyPlan& plan, const std::vector<uint8_t>& whole);

  DeterministicRng rng_;
  SigningKey root_;
  KeyTree tree_;
  bool use_slices_;
  MemberId next_id_ = 1;
  std::map<MemberId, SimMember> members_;
  std::map<uint64_t, SymmetricKey> net_keys_;
  std::map<std::pair<uint8_t, uint64_t>, SymmetricKey> team_keys_;
  std::vector<SimBatch> batches_;
  size_t agreement_failures_ = 0;
  size_t bytes_sent_ = 0;
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_KEY_SIM_H_
