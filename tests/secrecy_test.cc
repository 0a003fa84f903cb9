// Security properties of the key tree, proved over seeded random traces with the
// key-closure checker (support/key_closure.h), not merely by running the code:
//   forward secrecy   no coalition of removed members derives any later net key;
//   backward secrecy  no coalition of joiners derives any earlier net key;
//   agreement         after every batch every member holds exactly the Root's net key.
// Each check also has a positive control (the coalition does derive the keys it held),
// so a checker that derives nothing cannot pass.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/key_closure.h"
#include "support/key_sim.h"

namespace netkey::testing {
namespace {

struct Totals {
  size_t traces = 0, batches = 0, forward_checks = 0, backward_checks = 0, keys = 0;
  size_t max_members = 0;
};

size_t trace_count() {
  // NETKEY_SECRECY_TRACES raises the count for the soak label; 1000 is the floor.
  const char* env = std::getenv("NETKEY_SECRECY_TRACES");
  size_t n = env ? std::strtoull(env, nullptr, 10) : 1000;
  return n < 1000 ? 1000 : n;
}

void run_trace(uint64_t seed, Totals& totals) {
  DeterministicRng pick(seed * 7919 + 1);
  const uint8_t degrees[] = {2, 3, 4, 8};
  TreePolicy policy;
  policy.degree = degrees[pick.uniform(4)];
  policy.hash_forward_joins = pick.uniform(2) == 1;
  const bool big = seed % 100 == 0;  // 10 traces of 1000..2000 members
  const bool slices = big || pick.uniform(2) == 1;
  KeySim sim(seed, policy, slices);
  const size_t n0 = big ? 1000 + pick.uniform(1001) : 1 + pick.uniform(48);
  const size_t steps = big ? 4 : 4 + pick.uniform(8);
  sim.step(n0, 0);
  for (size_t s = 0; s < steps; ++s) {
    const size_t n = sim.current().size();
    switch (pick.uniform(5)) {
      case 0: sim.step(1, 0); break;                                  // single join
      case 1: sim.step(0, 1); break;                                  // single leave
      case 2: sim.step(1 + pick.uniform(n / 4 + 1), 0); break;        // bulk join
      case 3: sim.step(0, 1 + pick.uniform(n / 3 + 1)); break;        // bulk leave
      default: sim.step(pick.uniform(n / 5 + 2), pick.uniform(n / 5 + 2)); break;  // mixed
    }
    totals.max_members = std::max(totals.max_members, sim.current().size());
  }
  ASSERT_EQ(sim.agreement_failures(), 0u);
  totals.traces++;
  totals.batches += sim.batches().size();

  const auto& batches = sim.batches();
  // Forward secrecy: cut at the first and the last batch that removed someone.
  std::vector<uint64_t> leave_epochs, join_epochs;
  for (const SimBatch& b : batches) {
    if (!b.plan.left.empty()) leave_epochs.push_back(b.plan.epoch);
    if (!b.plan.joined.empty() && b.plan.epoch > 1) join_epochs.push_back(b.plan.epoch);
  }
  auto cuts = [](const std::vector<uint64_t>& v) {
    std::vector<uint64_t> c;
    if (!v.empty()) c.push_back(v.front());
    if (v.size() > 1) c.push_back(v.back());
    return c;
  };
  for (uint64_t cut : cuts(leave_epochs)) {
    KeyClosure closure(sim.group_id(), batches);
    for (const auto& [id, m] : sim.members()) {
      if (m.removed_epoch && *m.removed_epoch <= cut) closure.add_member(m);
    }
    auto got = closure.derivable_epochs(sim.net_keys());
    totals.keys += closure.known_keys();
    for (uint64_t e : got) {
      ASSERT_LT(e, cut) << "removed coalition derived the net key of epoch " << e << " (cut " << cut
                        << ", seed " << seed << ")";
    }
    // Control: the coalition held the net key of the epoch just before the cut.
    if (sim.net_keys().count(cut - 1)) {
      ASSERT_TRUE(got.count(cut - 1)) << "checker failed to derive a held key, seed " << seed;
    }
    totals.forward_checks++;
  }
  // Backward secrecy: cut at the first and last join batch after the initial one.
  for (uint64_t cut : cuts(join_epochs)) {
    KeyClosure closure(sim.group_id(), batches);
    for (const auto& [id, m] : sim.members()) {
      if (m.joined_epoch >= cut) closure.add_member(m);
    }
    auto got = closure.derivable_epochs(sim.net_keys());
    totals.keys += closure.known_keys();
    for (uint64_t e : got) {
      ASSERT_GE(e, cut) << "joiner coalition derived the net key of epoch " << e << " (cut " << cut
                        << ", seed " << seed << ")";
    }
    ASSERT_TRUE(got.count(cut)) << "checker failed to derive the joiners' own epoch, seed " << seed;
    totals.backward_checks++;
  }
}

TEST(Secrecy, ForwardBackwardAndAgreementOverSeededTraces) {
  Totals totals;
  const size_t n = trace_count();
  for (uint64_t seed = 0; seed < n; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    run_trace(seed, totals);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::printf("secrecy: %zu traces, %zu batches, %zu forward and %zu backward coalitions, "
              "%zu keys derived, up to %zu members\n",
              totals.traces, totals.batches, totals.forward_checks, totals.backward_checks,
              totals.keys, totals.max_members);
  EXPECT_EQ(totals.traces, n);
  EXPECT_GT(totals.forward_checks, n / 2);
  EXPECT_GT(totals.backward_checks, n / 2);
  EXPECT_GE(totals.max_members, 1000u);
}

// A deliberately broken scheme must be caught: if a leave were rekeyed by hash-forward
// (the departed member could compute K' = KDF(K)), the checker derives later keys.
TEST(Secrecy, CheckerCatchesAKeyThatIsNotRefreshedOnLeave) {
  TreePolicy policy;
  policy.degree = 2;
  KeySim sim(99, policy, false);
  sim.step(8, 0);
  auto victim = sim.current().front();
  sim.step(0, 0);
  // Simulate the bug: the removed member learns the next root key directly, as it
  // would if the root were only hash-forwarded.
  sim.step_with(0, {victim});
  KeyClosure closure(sim.group_id(), sim.batches());
  SimMember leaked;
  leaked.id = victim;
  leaked.secret = sim.members().at(victim).secret.clone();
  leaked.held = sim.members().at(victim).held;
  const uint64_t e = sim.batches().back().plan.epoch;
  leaked.held.push_back({kRootNode, {}, e});
  auto root_after = sim.tree().path_of(sim.current().front()).back().second;
  leaked.held.back().key.assign(root_after->data(), root_after->data() + 32);
  closure.add_member(leaked);
  auto got = closure.derivable_epochs(sim.net_keys());
  EXPECT_TRUE(got.count(e)) << "the checker must notice a leaked post-removal key";
}

}  // namespace
}  // namespace netkey::testing
