// Security properties of the key tree over seeded random traces, judged by the
// key-closure oracle (support/key_closure.h), which learns keys from the messages
// alone, by trial, and never through the tree's structure:
//   forward secrecy   no coalition of removed members derives the net key of any epoch
//                     from its removal on;
//   backward secrecy  no coalition of joiners derives the net key of any epoch before
//                     its join;
//   agreement         after every batch every member holds exactly the Root's net key.
// Every check also asserts that the oracle tried something and found what the
// coalition legitimately held. The positive controls at the end plant each kind of
// break (a key that reaches later epochs, an extra wrapped entry, two nodes sharing a
// key) and require the oracle to report it. NETKEY_SECRECY_TRACES and
// NETKEY_SECRECY_SPLIT_TRACES raise the trace counts above their floors (1000, 120).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "src/keytree/wrap.h"
#include "support/key_closure.h"
#include "support/key_sim.h"
#include "support/traces.h"

namespace netkey::testing {
namespace {

struct Totals {
  size_t traces = 0, batches = 0, splits = 0, multi_splits = 0, forward_checks = 0,
         backward_checks = 0;
  size_t keys = 0, trials = 0, max_members = 0;
};

// Up to `cap` members of `pool`: first those in `must` order (they pin the check's
// control), then a seeded sample of the rest. A sample is a weaker adversary than the
// whole pool, never a wrong one.
std::vector<MemberId> coalition_of(std::vector<MemberId> must, std::vector<MemberId> pool,
                                   size_t cap, DeterministicRng& rng) {
  std::vector<MemberId> out;
  for (MemberId m : must) {
    if (out.size() < cap) out.push_back(m);
  }
  for (size_t i = 0; i < pool.size() && out.size() < cap; ++i) {
    std::swap(pool[i], pool[i + rng.uniform(pool.size() - i)]);
    if (std::find(out.begin(), out.end(), pool[i]) == out.end()) out.push_back(pool[i]);
  }
  return out;
}

std::set<uint64_t> closure_of(const KeySim& sim, const std::vector<MemberId>& coalition,
                              Totals& totals) {
  KeyClosure closure;
  sim.observe(closure, coalition);
  std::set<uint64_t> got = closure.derivable_epochs(sim.net_keys());
  const KeyClosure::Attempts& a = closure.attempts();
  EXPECT_GT(a.unwrap_trials + a.open_trials, 0u) << "the oracle tried nothing";
  EXPECT_EQ(a.unparsed, 0u);
  totals.keys += a.keys;
  totals.trials += a.unwrap_trials + a.open_trials;
  return got;
}

// Forward secrecy at `cut` (an epoch whose batch removed someone): the members removed
// at or before it must not reach epoch `cut` or later; they did hold `cut - 1`.
void check_forward(const KeySim& sim, uint64_t cut, size_t cap, DeterministicRng& rng,
                   Totals& totals) {
  std::vector<MemberId> at_cut, before;
  for (const auto& [id, m] : sim.members()) {
    if (m.removed_epoch && *m.removed_epoch == cut) at_cut.push_back(id);
    if (m.removed_epoch && *m.removed_epoch < cut) before.push_back(id);
  }
  auto coalition = coalition_of(at_cut, before, cap, rng);
  auto got = closure_of(sim, coalition, totals);
  for (uint64_t e : got) {
    EXPECT_LT(e, cut) << "removed coalition of " << coalition.size()
                      << " derived the net key of epoch " << e << " (removed by epoch " << cut
                      << ")";
  }
  // Control: the coalition held the net key of the epoch just before the cut.
  if (sim.net_keys().count(cut - 1)) {
    EXPECT_TRUE(got.count(cut - 1)) << "the oracle missed a held key";
  }
  totals.forward_checks++;
}

// Backward secrecy at `cut` (a join epoch): the members that joined at or after it must
// not reach any epoch before it; they did hold `cut`.
void check_backward(const KeySim& sim, uint64_t cut, size_t cap, DeterministicRng& rng,
                    Totals& totals) {
  std::vector<MemberId> at_cut, after;
  for (const auto& [id, m] : sim.members()) {
    if (m.joined_epoch == cut) at_cut.push_back(id);
    if (m.joined_epoch > cut) after.push_back(id);
  }
  auto coalition = coalition_of(at_cut, after, cap, rng);
  auto got = closure_of(sim, coalition, totals);
  for (uint64_t e : got) {
    EXPECT_GE(e, cut) << "joiner coalition of " << coalition.size()
                      << " derived the net key of epoch " << e << " (joined at " << cut << ")";
  }
  EXPECT_TRUE(got.count(cut)) << "the oracle missed the joiners' own epoch";
  totals.backward_checks++;
}

// Cuts at the first and the last removal epoch, and at the first and the last join
// epoch after the first batch.
void check_trace(const KeySim& sim, size_t cap, uint64_t seed, Totals& totals) {
  ASSERT_EQ(sim.agreement_failures(), 0u);
  std::vector<uint64_t> leave_epochs, join_epochs;
  for (const SimBatch& b : sim.batches()) {
    if (!b.plan.left.empty()) leave_epochs.push_back(b.plan.epoch);
    if (!b.plan.joined.empty() && b.plan.epoch > 1) join_epochs.push_back(b.plan.epoch);
    if (b.plan.kind != RekeyKind::kHashForward) continue;
    for (const LeafMove& mv : b.plan.moves) {  // how many times this batch split the member
      size_t levels = 0;
      for (NodeId n = mv.to; n != mv.from && n != kRootNode;
           n = detail::parent_of(n, b.plan.degree))
        ++levels;
      totals.splits += levels;
      totals.multi_splits += levels >= 2 ? 1 : 0;
    }
  }
  auto ends = [](const std::vector<uint64_t>& v) {
    std::set<uint64_t> c;
    if (!v.empty()) c = {v.front(), v.back()};
    return c;
  };
  DeterministicRng rng(seed * 31 + 3);
  for (uint64_t cut : ends(leave_epochs)) check_forward(sim, cut, cap, rng, totals);
  for (uint64_t cut : ends(join_epochs)) check_backward(sim, cut, cap, rng, totals);
  totals.traces++;
  totals.batches += sim.batches().size();
  totals.max_members = std::max(totals.max_members, sim.current().size());
}

constexpr uint8_t kDegrees[] = {2, 3, 4, 8, 16};

// Mixed traces: single and bulk joins and leaves, LKH+ or full rekeys, Whole or Slices.
// Every 100th trace has 1000..2000 members (its coalitions are sampled).
void mixed_trace(uint64_t seed, Totals& totals) {
  DeterministicRng pick(seed * 7919 + 1);
  TreePolicy policy;
  policy.degree = kDegrees[pick.uniform(5)];
  policy.hash_forward_joins = pick.uniform(2) == 1;
  const bool big = seed % 100 == 0;
  KeySim sim(seed, policy, big || pick.uniform(2) == 1);
  sim.step(big ? 1000 + pick.uniform(1001) : 1 + pick.uniform(48), 0);
  const size_t steps = big ? 4 : 4 + pick.uniform(8);
  for (size_t s = 0; s < steps; ++s) {
    const size_t n = sim.current().size();
    switch (pick.uniform(5)) {
      case 0:  // single join
        sim.step(1, 0);
        break;
      case 1:  // single leave
        sim.step(0, 1);
        break;
      case 2:  // bulk join
        sim.step(1 + pick.uniform(n / 4 + 1), 0);
        break;
      case 3:  // bulk leave
        sim.step(0, 1 + pick.uniform(n / 3 + 1));
        break;
      default:  // mixed
        sim.step(pick.uniform(n / 5 + 2), pick.uniform(n / 5 + 2));
        break;
    }
    totals.max_members = std::max(totals.max_members, sim.current().size());
  }
  check_trace(sim, big ? 16 : 32, seed, totals);
}

// How many joiners make a group of `n` grow to one past a full level, d^(L+1) + 1 (plus
// a little), which splits the shallowest member's leaf twice or more in one batch; or a
// smaller random number when that would pass `cap` members.
size_t splitting_joins(size_t n, size_t d, size_t cap, DeterministicRng& pick) {
  size_t level = 1;
  while (level < n) level *= d;
  const size_t target = level * d + 1 + pick.uniform(d);
  if (target <= cap) return target - n;
  return 1 + pick.uniform(std::max<size_t>(1, std::min(cap - std::min(cap, n), n * (d - 1))));
}

// LKH+ traces that split leaves repeatedly (security finding 1's ground): from empty,
// one batch of d^2 + 1 or more joiners (the first one is split twice), or a small start
// and then a join-only batch that fills a level and spills over (existing members are
// split twice or more and move); then full batches with removals, then more of both.
void split_trace(uint64_t seed, Totals& totals) {
  DeterministicRng pick(seed * 104729 + 5);
  TreePolicy policy;
  policy.degree = kDegrees[seed % 5];
  policy.hash_forward_joins = true;
  const size_t d = policy.degree, cap = d == 16 ? 300 : d == 8 ? 90 : 70;
  KeySim sim(seed + 1'000'000, policy, pick.uniform(2) == 1);
  const bool from_empty = pick.uniform(2) == 1;
  sim.step(from_empty ? d * d + 1 + pick.uniform(d) : 1 + pick.uniform(d), 0);
  for (int round = 0; round < 2; ++round) {
    const size_t n = sim.current().size();
    sim.step(splitting_joins(n, d, cap, pick), 0);                              // LKH+ splits
    sim.step(pick.uniform(2), 1 + pick.uniform(sim.current().size() / 3 + 1));  // removals
    sim.step(0, 1 + pick.uniform(sim.current().size() / 4 + 1));
  }
  check_trace(sim, 16, seed, totals);
}

TEST(Secrecy, ForwardBackwardAndAgreementOverSeededTraces) {
  Totals totals;
  const size_t n = trace_count("NETKEY_SECRECY_TRACES", 1000);
  auto name = [](uint64_t seed) { return "mixed trace, seed " + std::to_string(seed); };
  if (!run_traces(n, name, [&](uint64_t seed) { mixed_trace(seed, totals); })) return;
  std::printf(
      "secrecy: %zu mixed traces, %zu batches, %zu forward and %zu backward coalitions, "
      "%zu keys known, %zu trials, up to %zu members\n",
      totals.traces, totals.batches, totals.forward_checks, totals.backward_checks, totals.keys,
      totals.trials, totals.max_members);
  EXPECT_EQ(totals.traces, n);
  EXPECT_GT(totals.forward_checks, n / 2);
  EXPECT_GT(totals.backward_checks, n / 2);
  EXPECT_GE(totals.max_members, 1000u);
}

TEST(Secrecy, ForwardAndBackwardOverLkhPlusTracesThatSplitLeavesRepeatedly) {
  Totals totals;
  const size_t n = trace_count("NETKEY_SECRECY_SPLIT_TRACES", 120);
  auto name = [](uint64_t seed) {
    return "split trace, degree " + std::to_string(kDegrees[seed % 5]) + ", seed " + std::to_string(seed);
  };
  if (!run_traces(n, name, [&](uint64_t seed) { split_trace(seed, totals); })) return;
  std::printf(
      "secrecy: %zu LKH+ split traces, %zu batches, %zu splits of members, %zu members split twice "
      "or more in one batch, %zu forward and %zu backward coalitions, %zu trials\n",
      totals.traces, totals.batches, totals.splits, totals.multi_splits, totals.forward_checks,
      totals.backward_checks, totals.trials);
  EXPECT_EQ(totals.traces, n);
  EXPECT_GT(totals.multi_splits, n / 4);
  EXPECT_GE(totals.forward_checks, n);
}

// --- Positive controls: each plants a break and requires the oracle to report it. ---

// The epochs of `got` at or after `cut`: what a coalition "removed at `cut`" would break.
std::vector<uint64_t> at_or_after(const std::set<uint64_t>& got, uint64_t cut) {
  return {got.lower_bound(cut), got.end()};
}

const SymmetricKey& held_key(const SimMember& m, NodeId node, uint64_t epoch) {
  for (const HeldKey& h : m.held) {
    if (h.node == node && h.epoch == epoch) return h.key;
  }
  ADD_FAILURE() << "member " << m.id << " held no key for node " << node << " at epoch " << epoch;
  std::abort();
}

// Re-signs batch `b`'s Whole after `edit` changed a copy of its plan.
template <typename Edit>
void replant(KeySim& sim, size_t b, Edit edit) {
  RekeyPlan plan = sim.batches()[b].plan;
  edit(plan);
  sim.mutable_batches()[b].whole = encode_whole(plan, sim.root_key());
}

// (a) The closure really closes: a staying member's leaf key alone, with nothing but the
// Wholes, derives every net key from the batch that refreshed its whole path (its
// sibling left) to the end. Were that member "removed" then, this is what the oracle
// must report, and does.
TEST(Secrecy, ControlAStayingMembersLeafKeyAloneDerivesEveryLaterNetKey) {
  TreePolicy policy;
  policy.degree = 2;
  KeySim sim(7, policy, /*use_slices=*/false);
  sim.step(8, 0);
  // The test may use the tree's structure to set the scene; the oracle never does.
  MemberId stay = 0, sibling = 0;
  for (MemberId a : sim.current()) {
    for (MemberId b : sim.current()) {
      NodeId la = *sim.tree().leaf_of(a), lb = *sim.tree().leaf_of(b);
      if (a != b && (la - 1) / 2 == (lb - 1) / 2) stay = a, sibling = b;
    }
  }
  ASSERT_NE(stay, 0u);
  sim.step_with(0, {sibling});
  const uint64_t cut = sim.batches().back().plan.epoch;
  for (int i = 0; i < 5; ++i) {
    std::vector<MemberId> others = sim.current();
    others.erase(std::find(others.begin(), others.end(), stay));
    sim.step_with(1 + static_cast<size_t>(i % 2), {others[static_cast<size_t>(i) % others.size()]});
  }
  ASSERT_EQ(sim.agreement_failures(), 0u);
  KeyClosure closure;
  for (const SimBatch& b : sim.batches()) closure.add_whole(b.whole);
  closure.add_key(sim.members().at(stay).keys->leaf_key(), 0);
  const auto got = closure.derivable_epochs(sim.net_keys());
  std::vector<uint64_t> expect;
  for (uint64_t e = cut; e <= sim.batches().back().plan.epoch; ++e) expect.push_back(e);
  EXPECT_EQ(at_or_after(got, cut), expect)
      << "the oracle must follow a key chain through the entries";
  EXPECT_GE(closure.attempts().unwrapped, 2 * expect.size());
}

// (b) One extra entry in a removal batch's Whole, wrapping the new root key under the
// removed member's leaf key: the removed member reaches that epoch.
TEST(Secrecy, ControlBAPlantedEntryUnderARemovedMembersKeyIsCaught) {
  TreePolicy policy;
  policy.degree = 4;
  KeySim sim(11, policy, /*use_slices=*/false);
  sim.step(20, 0);
  sim.step(2, 0);
  const MemberId victim = sim.current().front();
  const NodeId leaf = *sim.tree().leaf_of(victim);
  sim.step_with(1, {victim});
  const uint64_t cut = sim.batches().back().plan.epoch;
  Totals totals;
  EXPECT_TRUE(at_or_after(closure_of(sim, {victim}, totals), cut).empty())
      << "the real batch leaks nothing";
  const SymmetricKey& root = *sim.tree().node_key(kRootNode);
  const SymmetricKey& leaf_key = sim.members().at(victim).keys->leaf_key();
  replant(sim, sim.batches().size() - 1, [&](RekeyPlan& plan) {
    plan.entries.push_back(detail::wrap_key(root, leaf_key, sim.group_id(), cut, kRootNode, leaf));
  });
  EXPECT_EQ(at_or_after(closure_of(sim, {victim}, totals), cut), std::vector<uint64_t>{cut});
}

// (c) Two nodes sharing a key, in the shape of security finding 1: degree 2, an LKH+
// batch of five joiners into an empty tree splits the first joiner's leaf twice (nodes 1
// and 3). The member at leaf 4 holds node 1's key; it is removed in the next (full)
// batch, whose entry for node 1 is wrapped under node 3. With the fix the two keys
// differ and nothing leaks; planting node 1's old key as node 3's (what the old
// derivation gave) must let the removed member reach the new epoch's net key.
TEST(Secrecy, ControlCTwoNodesSharingAKeyAreCaught) {
  TreePolicy policy;
  policy.degree = 2;
  policy.hash_forward_joins = true;
  KeySim sim(5, policy, /*use_slices=*/false);
  sim.step(5, 0);
  ASSERT_EQ(sim.batches().back().plan.kind, RekeyKind::kHashForward);
  MemberId at4 = 0;
  for (MemberId m : sim.current()) at4 = *sim.tree().leaf_of(m) == 4 ? m : at4;
  ASSERT_NE(at4, 0u);
  sim.step_with(0, {at4});
  const uint64_t cut = sim.batches().back().plan.epoch;
  ASSERT_EQ(sim.batches().back().plan.kind, RekeyKind::kFull);
  Totals totals;
  EXPECT_TRUE(at_or_after(closure_of(sim, {at4}, totals), cut).empty())
      << "the fixed derivation leaks nothing";
  const SymmetricKey& shared = held_key(sim.members().at(at4), 1, cut - 1);
  size_t replanted = 0;
  replant(sim, sim.batches().size() - 1, [&](RekeyPlan& plan) {
    for (WrappedKey& e : plan.entries) {
      if (e.wrapper != 3) continue;
      e = detail::wrap_key(*sim.tree().node_key(e.node), shared, sim.group_id(), cut, e.node,
                           e.wrapper);
      ++replanted;
    }
  });
  ASSERT_EQ(replanted, 1u);
  EXPECT_EQ(at_or_after(closure_of(sim, {at4}, totals), cut), std::vector<uint64_t>{cut});
}

}  // namespace
}  // namespace netkey::testing
