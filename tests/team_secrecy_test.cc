// Team keys over seeded random traces (teams 2..4, degree 2..8; joins, leaves, team
// switches and bulk changes; LKH+ or full; Whole or Slices), judged by the key-closure
// oracle (support/key_closure.h), which derives keys from the messages alone, by trial:
//   secrecy   no member and no coalition of removed or switched members derives a team
//             key (or a net key) that none of them held: not another team's, not its old
//             team's after a switch, not its new team's before it;
//   liveness  each of them derives exactly the team keys it held, every epoch it was in;
//   agreement every member's MemberKeys computes its team and team key as the Root does
//             (KeySim checks it after every batch).
// "Held" comes from the simulation's record of each member's team per epoch, never from
// the oracle. Positive controls: a tree fault that skips rekeying the old team's path on
// a switch, and a planted wrap of the new team's key before a switch, must each be
// reported. NETKEY_TEAM_TRACES raises the trace count above its floor (the soak label).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "netkey/testing.h"
#include "src/keytree/wrap.h"
#include "support/key_closure.h"
#include "support/key_sim.h"
#include "support/traces.h"

namespace netkey::testing {
namespace {

using TeamEpoch = KeyClosure::TeamEpoch;

struct Totals {
  size_t traces = 0, batches = 0, switches = 0, coalitions = 0, team_keys = 0, trials = 0;
};

// What the coalition held: its members' (team, epoch) pairs and epochs in the group.
struct Held {
  std::set<TeamEpoch> teams;
  std::set<uint64_t> epochs;
};

Held held_by(const KeySim& sim, const std::vector<MemberId>& coalition) {
  Held h;
  for (MemberId id : coalition) {
    for (const auto& [e, team] : sim.members().at(id).team_at) {
      h.teams.insert({team, e});
      h.epochs.insert(e);
    }
  }
  return h;
}

// What the oracle derives for the coalition, and whether it tried anything.
struct Derived {
  std::set<TeamEpoch> teams;
  std::set<uint64_t> epochs;
};

Derived derive(const KeySim& sim, const std::vector<MemberId>& coalition, Totals& totals) {
  KeyClosure closure;
  sim.observe(closure, coalition);
  Derived d;
  d.teams = closure.derivable_team_keys(sim.net_keys(), sim.team_keys(), &d.epochs);
  const KeyClosure::Attempts& a = closure.attempts();
  EXPECT_GT(a.unwrap_trials + a.open_trials, 0u) << "the oracle tried nothing";
  EXPECT_GT(a.derivations, 0u);
  EXPECT_EQ(a.unparsed, 0u);
  totals.trials += a.unwrap_trials + a.open_trials;
  totals.team_keys += d.teams.size();
  totals.coalitions++;
  return d;
}

std::string describe(const std::set<TeamEpoch>& s) {
  std::string out;
  for (const auto& [t, e] : s)
    out += " (team " + std::to_string(t) + ", epoch " + std::to_string(e) + ")";
  return out;
}

// The coalition derives exactly what it held: more is a break, less a liveness failure.
void check_coalition(const KeySim& sim, const std::vector<MemberId>& coalition, Totals& totals) {
  if (coalition.empty()) return;
  const Held h = held_by(sim, coalition);
  const Derived d = derive(sim, coalition, totals);
  std::set<TeamEpoch> extra, missing;
  std::set_difference(d.teams.begin(), d.teams.end(), h.teams.begin(), h.teams.end(),
                      std::inserter(extra, extra.end()));
  std::set_difference(h.teams.begin(), h.teams.end(), d.teams.begin(), d.teams.end(),
                      std::inserter(missing, missing.end()));
  EXPECT_TRUE(extra.empty()) << "a coalition of " << coalition.size()
                             << " derived team keys it never held:" << describe(extra);
  EXPECT_TRUE(missing.empty()) << "a coalition of " << coalition.size()
                               << " missed team keys it held:" << describe(missing);
  EXPECT_EQ(d.epochs, h.epochs) << "net keys: derived and held epochs differ";
}

bool switched(const SimMember& m) {
  std::set<uint8_t> teams;
  for (const auto& [e, t] : m.team_at) teams.insert(t);
  return teams.size() > 1;
}

// Singles (a switched, a removed and a current member) and the coalition of removed and
// switched members (sampled down to `cap`).
void check_trace(const KeySim& sim, uint64_t seed, Totals& totals) {
  ASSERT_EQ(sim.agreement_failures(), 0u);
  DeterministicRng rng(seed * 13 + 7);
  std::vector<MemberId> pool, switchers, removed, current;
  for (const auto& [id, m] : sim.members()) {
    if (m.team_at.empty()) continue;
    if (switched(m)) switchers.push_back(id);
    if (m.removed_epoch) removed.push_back(id);
    if (!m.removed_epoch) current.push_back(id);
    if (switched(m) || m.removed_epoch) pool.push_back(id);
  }
  for (const auto* v : {&switchers, &removed, &current}) {
    if (!v->empty()) check_coalition(sim, {(*v)[rng.uniform(v->size())]}, totals);
  }
  for (size_t i = 0; i < pool.size(); ++i)
    std::swap(pool[i], pool[i + rng.uniform(pool.size() - i)]);
  if (pool.size() > 12) pool.resize(12);
  check_coalition(sim, pool, totals);
  for (const SimBatch& b : sim.batches()) totals.switches += b.plan.switched.size();
  totals.traces++;
  totals.batches += sim.batches().size();
}

constexpr uint8_t kDegrees[] = {2, 3, 4, 8};

void team_trace(uint64_t seed, Totals& totals) {
  DeterministicRng pick(seed * 6151 + 11);
  TreePolicy policy;
  policy.degree = kDegrees[pick.uniform(4)];
  policy.teams = static_cast<uint8_t>(2 + pick.uniform(std::min<uint64_t>(3, policy.degree - 1)));
  policy.hash_forward_joins = pick.uniform(2) == 1;
  KeySim sim(seed + 77, policy, pick.uniform(2) == 1);
  sim.step_teams(4 + pick.uniform(40), 0, 0);
  const size_t steps = 5 + pick.uniform(6);
  for (size_t s = 0; s < steps; ++s) {
    const size_t n = sim.current().size();
    switch (pick.uniform(6)) {
      case 0:
        sim.step_teams(1, 0, 0);
        break;
      case 1:
        sim.step_teams(0, 1, 0);
        break;
      case 2:
        sim.step_teams(0, 0, 1);
        break;
      case 3:
        sim.step_teams(0, 0, 1 + pick.uniform(n / 3 + 1));
        break;  // bulk switch
      case 4:
        sim.step_teams(pick.uniform(n / 4 + 2), 1 + pick.uniform(n / 4 + 1), 0);
        break;
      default:
        sim.step_teams(pick.uniform(n / 5 + 2), pick.uniform(n / 5 + 2),
                       1 + pick.uniform(n / 5 + 1));
        break;
    }
  }
  sim.step_teams(0, 0, 1);  // every trace ends with a switch
  check_trace(sim, seed, totals);
}

TEST(TeamSecrecy, NoCoalitionDerivesATeamKeyItDidNotHoldAndEveryMemberDerivesItsOwn) {
  Totals totals;
  const size_t n = trace_count("NETKEY_TEAM_TRACES", 300);
  auto name = [](uint64_t seed) { return "team trace, seed " + std::to_string(seed); };
  if (!run_traces(n, name, [&](uint64_t seed) { team_trace(seed, totals); })) return;
  std::printf(
      "team secrecy: %zu traces, %zu batches, %zu switches, %zu coalitions, %zu team keys derived, "
      "%zu trials\n",
      totals.traces, totals.batches, totals.switches, totals.coalitions, totals.team_keys,
      totals.trials);
  EXPECT_EQ(totals.traces, n);
  EXPECT_GE(totals.switches, n);
  EXPECT_GT(totals.coalitions, 3 * n);
  EXPECT_GT(totals.team_keys, 0u);
}

// --- Positive controls: each breaks the rule and requires the oracle to report it. ---

// A scene: degree 4, two teams, 24 members; returns a team-0 member that is not alone
// in its team (so the old team path keeps members whose keys matter).
MemberId scene(KeySim& sim) {
  sim.step_teams(24, 0, 0);
  for (MemberId id : sim.current()) {
    if (sim.tree().team_of(id) == 0 && sim.tree().team_size(0) >= 3) return id;
  }
  ADD_FAILURE() << "no team-0 member";
  return 0;
}

TreePolicy two_teams() {
  TreePolicy p;
  p.degree = 4;
  p.teams = 2;
  return p;
}

// (a) A tree that does not rekey the old team's path on a switch: the switcher keeps
// its old team's node key, and so the old team's key of the switch epoch and later.
TEST(TeamSecrecy, ControlASkippingTheOldTeamPathOnASwitchIsCaught) {
  for (bool faulty : {false, true}) {
    KeySim sim(31, two_teams(), /*use_slices=*/false);
    const MemberId who = scene(sim);
    ASSERT_NE(who, 0u);
    if (faulty) set_tree_fault(sim.tree(), TreeFault::kSkipOldTeamPath);
    sim.step_with(0, {}, {{who, 1}});
    sim.step_teams(1, 1, 0);  // another batch: the old team's key moves on
    const uint64_t cut = sim.batches()[1].plan.epoch;
    Totals totals;
    const Held h = held_by(sim, {who});
    const Derived d = derive(sim, {who}, totals);
    EXPECT_TRUE(h.teams.count({0, cut - 1}) && h.teams.count({1, cut}))
        << "the scene: 0 before, 1 after";
    if (faulty) {
      EXPECT_TRUE(d.teams.count({0, cut}))
          << "the oracle missed the old team's key after the switch";
    } else {
      EXPECT_EQ(d.teams, h.teams);
    }
  }
}

// (b) One planted entry, in the batch before the switch, wrapping the new team's node
// key under the switcher's leaf key: it reaches its new team's key before the switch.
TEST(TeamSecrecy, ControlBAWrapOfTheNewTeamsKeyBeforeTheSwitchIsCaught) {
  KeySim sim(37, two_teams(), /*use_slices=*/true);
  const MemberId who = scene(sim);
  ASSERT_NE(who, 0u);
  sim.step_teams(2, 1, 0);
  ASSERT_TRUE(sim.tree().contains(who));
  const uint64_t before = sim.tree().epoch();
  const SymmetricKey team1 = sim.tree().node_key(team_node(1))->clone();
  const NodeId leaf = *sim.tree().leaf_of(who);
  sim.step_with(0, {}, {{who, 1}});
  Totals totals;
  const Derived clean = derive(sim, {who}, totals);
  EXPECT_FALSE(clean.teams.count({1, before}));
  RekeyPlan plan = sim.batches()[sim.batches().size() - 2].plan;
  ASSERT_EQ(plan.epoch, before);
  plan.entries.push_back(detail::wrap_key(team1, sim.members().at(who).keys->leaf_key(),
                                          sim.group_id(), before, team_node(1), leaf));
  sim.mutable_batches()[sim.batches().size() - 2].whole = encode_whole(plan, sim.root_key());
  const Derived planted = derive(sim, {who}, totals);
  EXPECT_TRUE(planted.teams.count({1, before}))
      << "the oracle missed a planted wrap of the new team's key";
}

}  // namespace
}  // namespace netkey::testing
