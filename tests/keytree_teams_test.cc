// KeyTree with teams (policy.teams): every member stays in its team's subtree under
// joins, leaves, switches, splits, pruning and rebuilds; the per-team depth bound; a
// switch rekeys only the two team paths and the root; validation is all or nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "netkey/batch_planner.h"
#include "netkey/keytree.h"
#include "netkey/random.h"
#include "src/keytree/wrap.h"

namespace netkey {
namespace {

using Teams = std::map<MemberId, uint8_t>;  // what the test expects: member -> team

size_t depth_of(NodeId leaf, unsigned d) { return detail::ancestors_of(leaf, d).size(); }

// Everything the tree must satisfy after a commit, checked against `expect` (the test's
// own record of who is in which team) and the node ids alone.
void check_teams(const KeyTree& t, const Teams& expect) {
  const unsigned d = t.policy().degree, teams = t.policy().teams;
  ASSERT_EQ(t.member_count(), expect.size());
  std::vector<size_t> size(teams, 0);
  std::vector<size_t> deepest(teams, 0);
  for (const auto& [id, leaf] : t.members()) {
    const uint8_t team = expect.at(id);
    ASSERT_EQ(team_of_leaf(leaf, d), team)
        << "member " << id << " at " << leaf << " left its team's subtree";
    ASSERT_EQ(t.team_of(id), team);
    const auto path = t.path_of(id);
    ASSERT_GE(path.size(), 2u) << "a team member sits below its team node";
    EXPECT_EQ(path[path.size() - 2].first, team_node(team));
    ++size[team];
    deepest[team] = std::max(deepest[team], depth_of(leaf, d));
  }
  for (uint8_t team = 0; team < teams; ++team) {
    EXPECT_EQ(t.team_size(team), size[team]);
    if (size[team] == 0) {
      EXPECT_EQ(t.team_key(team), nullptr);
      EXPECT_EQ(t.node_key(team_node(team)), nullptr) << "an empty team's subtree is pruned";
      continue;
    }
    // The per-team depth bound: the team level, then ceil(log_d n_t) + 1 below it.
    EXPECT_LE(deepest[team], 1 + ceil_log(d, size[team]) + 1)
        << "team " << int{team} << " n=" << size[team];
    ASSERT_NE(t.team_key(team), nullptr);
    EXPECT_TRUE(*t.team_key(team) == team_key_from_node(*t.node_key(team_node(team)), t.epoch()));
  }
  for (unsigned c = teams + 1; c <= d; ++c) {
    EXPECT_EQ(t.node_key(c), nullptr) << "root slot " << c << " is outside every team";
  }
}

TreePolicy team_policy(uint8_t degree, uint8_t teams, bool hash_forward_joins = false) {
  TreePolicy p;
  p.degree = degree;
  p.teams = teams;
  p.hash_forward_joins = hash_forward_joins;
  return p;
}

Batch team_joins(MemberId first, size_t n, uint8_t team, Rng& rng, Teams& expect) {
  Batch b;
  for (size_t i = 0; i < n; ++i) {
    const MemberId id = static_cast<MemberId>(first + i);
    b.joins.push_back({id, rng.symmetric_key(), team});
    expect[id] = team;
  }
  return b;
}

// One batch: members 0..n0-1 join team 0, then first1..first1+n1-1 join team 1.
Batch two_team_joins(size_t n0, MemberId first1, size_t n1, Rng& rng, Teams& expect) {
  Batch b = team_joins(0, n0, 0, rng, expect);
  Batch b1 = team_joins(first1, n1, 1, rng, expect);
  for (auto& j : b1.joins) b.joins.push_back(std::move(j));
  return b;
}

TEST(KeyTreeTeams, HelpersFollowTheNodeIds) {
  EXPECT_EQ(team_node(0), 1u);
  EXPECT_EQ(team_node(3), 4u);
  EXPECT_EQ(team_of_leaf(kRootNode, 4), std::nullopt);
  EXPECT_EQ(team_of_leaf(3, 4), 2);
  EXPECT_EQ(team_of_leaf(4 * 3 + 2, 4), 2);            // a child of node 3
  EXPECT_EQ(team_of_leaf(4 * (4 * 1 + 1) + 4, 4), 0);  // a grandchild of node 1
  EXPECT_EQ(team_of_leaf(2 * (2 * 2 + 2) + 1, 2), 1);  // degree 2, under node 2
  DeterministicRng rng(1);
  const SymmetricKey k = rng.symmetric_key();
  EXPECT_FALSE(team_key_from_node(k, 5) == team_key_from_node(k, 6));
  EXPECT_FALSE(team_key_from_node(k, 5) == net_key_from_root(k, 5))
      << "nk-teamk is its own context";
}

TEST(KeyTreeTeams, PolicyMisuseAborts) {
  TreePolicy p;
  p.degree = 4;
  p.teams = 5;
  EXPECT_DEATH(KeyTree(1, p), "");
  p.teams = 4;
  KeyTree ok(1, p);  // teams == degree is allowed
  EXPECT_EQ(ok.policy().teams, 4);
}

TEST(KeyTreeTeams, BulkJoinsPlaceEveryMemberInItsTeamsSubtree) {
  DeterministicRng rng(2);
  for (int di : {2, 3, 4, 8}) {
    for (int teams = 1; teams <= std::min(di, 4); ++teams) {
      KeyTree t(7, team_policy(static_cast<uint8_t>(di), static_cast<uint8_t>(teams)));
      Teams expect;
      Batch b;
      for (MemberId id = 0; id < 300; ++id) {
        const uint8_t team = static_cast<uint8_t>(rng.uniform(static_cast<uint64_t>(teams)));
        b.joins.push_back({id, rng.symmetric_key(), team});
        expect[id] = team;
      }
      ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
      SCOPED_TRACE("d=" + std::to_string(di) + " teams=" + std::to_string(teams));
      check_teams(t, expect);
    }
  }
}

TEST(KeyTreeTeams, ValidationIsAllOrNothing) {
  DeterministicRng rng(3);
  KeyTree t(9, team_policy(4, 2));
  Teams expect;
  ASSERT_TRUE(t.commit(two_team_joins(6, 6, 6, rng, expect), rng).is_ok());
  const uint64_t epoch = t.epoch();
  auto refused = [&](Batch b, const char* why) {
    auto r = t.commit(std::move(b), rng);
    EXPECT_EQ(r.code(), Errc::kInvalidArgument) << why;
    EXPECT_EQ(t.epoch(), epoch) << why;
    check_teams(t, expect);
  };
  {
    Batch b;
    b.joins.push_back({100, rng.symmetric_key(), 2});
    refused(std::move(b), "join into team 2 of 2");
  }
  {
    Batch b;
    b.switches = {{0, 1}, {1, 0}};  // member 1 is in team 0 already
    refused(std::move(b), "switch to the current team");
  }
  {
    Batch b;
    b.switches = {{99, 1}};
    refused(std::move(b), "switch of a non-member");
  }
  {
    Batch b;
    b.leaves = {2};
    b.switches = {{2, 1}};
    refused(std::move(b), "switch of a leaving member");
  }
  {
    Batch b;
    b.switches = {{3, 1}, {3, 1}};
    refused(std::move(b), "two switches of one member");
  }
  {
    Batch b;
    b.switches = {{4, 2}};
    refused(std::move(b), "switch to no team");
  }
  // Without teams: a nonzero join team and any switch are refused.
  KeyTree plain(9, TreePolicy{});
  Batch b;
  b.joins.push_back({1, rng.symmetric_key(), 1});
  EXPECT_EQ(plain.commit(std::move(b), rng).code(), Errc::kInvalidArgument);
  Batch ok;
  ok.joins.push_back({1, rng.symmetric_key()});
  ASSERT_TRUE(plain.commit(std::move(ok), rng).is_ok());
  EXPECT_EQ(plain.team_of(1), std::nullopt);
  Batch sw;
  sw.switches = {{1, 0}};
  EXPECT_EQ(plain.commit(std::move(sw), rng).code(), Errc::kInvalidArgument);
}

// The brief's cost rule: a batch of one switch writes only the wraps of the two team
// paths (the old leaf's ancestors and the new leaf's) and the root's; the third team's
// keys do not change; the switcher's move is reported; no wrap of the old path goes
// under the switcher's leaf key.
TEST(KeyTreeTeams, ASwitchRekeysOnlyTheTwoTeamPathsAndTheRoot) {
  // Two teams (BM_TeamSwitch's shape: n = 1000, d = 4) and three (a third team to watch).
  for (uint8_t teams : {uint8_t{2}, uint8_t{3}}) {
    SCOPED_TRACE("teams=" + std::to_string(teams));
    DeterministicRng rng(4);
    KeyTree t(11, team_policy(4, teams, /*hash_forward_joins=*/true));  // a switch is a full rekey all the same
    Teams expect;
    Batch b;
    for (MemberId id = 0; id < 1000; ++id) {
      const uint8_t team = static_cast<uint8_t>(id % teams);
      b.joins.push_back({id, rng.symmetric_key(), team});
      expect[id] = team;
    }
    ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
    for (MemberId who : {5u, 300u, 999u}) {
      const uint8_t from = expect.at(who), to = static_cast<uint8_t>((from + 1) % teams),
                    other = static_cast<uint8_t>((from + 2) % teams);
      const NodeId old_leaf = *t.leaf_of(who);
      const SymmetricKey other_before =
          t.node_key(team_node(other))->clone();  // == from with 2 teams
      const SymmetricKey old_top_before = t.node_key(team_node(from))->clone();
      Batch s;
      s.switches = {{who, to}};
      auto plan = t.commit(std::move(s), rng);
      ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
      expect[who] = to;
      check_teams(t, expect);
      const NodeId new_leaf = *t.leaf_of(who);
      EXPECT_EQ(plan->kind, RekeyKind::kFull);
      EXPECT_EQ(plan->switched, std::vector<MemberId>{who});
      // The switcher's move, and at most one more: a member whose leaf was split to make
      // room in the new team (it moves to child 0 of its old leaf).
      size_t own = 0;
      for (const LeafMove& m : plan->moves) {
        if (m.from == old_leaf) {
          EXPECT_EQ(m.to, new_leaf);
          ++own;
        } else {
          EXPECT_EQ(m.to, detail::child_of(m.from, 4, 0));
          EXPECT_EQ(detail::parent_of(new_leaf, 4), m.from);
        }
      }
      EXPECT_EQ(own, 1u);
      EXPECT_LE(plan->moves.size(), 2u);
      std::set<NodeId> paths;
      for (NodeId a : detail::ancestors_of(old_leaf, 4)) paths.insert(a);
      for (NodeId a : detail::ancestors_of(new_leaf, 4)) paths.insert(a);
      // Exactly one wrap per present child of each node on the two paths.
      std::set<NodeId> leaves;
      for (const auto& [id, leaf] : t.members()) leaves.insert(leaf);
      size_t expected = 0;
      for (NodeId a : paths) {
        if (t.node_key(a) == nullptr) continue;  // pruned
        for (unsigned k = 0; k < 4; ++k) {
          const NodeId c = detail::child_of(a, 4, k);
          expected += t.node_key(c) != nullptr || leaves.count(c) ? 1u : 0u;
        }
      }
      EXPECT_EQ(plan->wrapped_keys(), expected);
      EXPECT_LE(plan->wrapped_keys(), 4 * paths.size());
      for (const WrappedKey& e : plan->entries) {
        EXPECT_TRUE(paths.count(e.node))
            << "entry for node " << e.node << " off the two team paths";
        if (e.wrapper == new_leaf) {
          EXPECT_EQ(e.node, detail::parent_of(new_leaf, 4));
        }
      }
      if (teams == 3) {
        EXPECT_TRUE(*t.node_key(team_node(other)) == other_before) << "the third team is untouched";
      }
      EXPECT_FALSE(*t.node_key(team_node(from)) == old_top_before)
          << "the old team's path is fresh";
    }
  }
}

// Mass departure from one team breaks that team's bound: it alone is rebuilt; the other
// team keeps its layout and its keys.
TEST(KeyTreeTeams, AMassDepartureRebuildsOnlyThatTeam) {
  DeterministicRng rng(5);
  KeyTree t(12, team_policy(4, 2));
  Teams expect;
  ASSERT_TRUE(t.commit(two_team_joins(256, 1000, 50, rng, expect), rng).is_ok());
  ASSERT_EQ(t.depth(), 5u);
  // Keep one member per depth-3 node of team 0 (16 members, still at depth 5 > 4).
  std::map<NodeId, MemberId> keep;
  Batch leave;
  for (const auto& [id, leaf] : t.members()) {
    if (expect.at(id) != 0) continue;
    NodeId g = leaf;
    while (depth_of(g, 4) > 3) g = detail::parent_of(g, 4);
    if (keep.emplace(g, id).second) continue;
    leave.leaves.push_back(id);
  }
  for (MemberId id : leave.leaves) expect.erase(id);
  std::map<MemberId, NodeId> team1_before;
  for (const auto& [id, leaf] : t.members()) {
    if (expect.count(id) && expect.at(id) == 1) team1_before[id] = leaf;
  }
  const SymmetricKey top1 = t.node_key(team_node(1))->clone();
  auto plan = t.commit(std::move(leave), rng);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_TRUE(plan->rebuilt);
  check_teams(t, expect);
  for (const auto& [id, leaf] : team1_before) EXPECT_EQ(t.leaf_of(id), leaf);
  EXPECT_TRUE(*t.node_key(team_node(1)) == top1);
  EXPECT_FALSE(plan->moves.empty());
  EXPECT_LE(plan->moves.size(), 16u);
  for (const LeafMove& m : plan->moves) {
    EXPECT_NE(m.from, m.to);
    EXPECT_EQ(team_of_leaf(m.from, 4), 0);
    EXPECT_EQ(team_of_leaf(m.to, 4), 0);
  }
  for (const WrappedKey& e : plan->entries) {
    if (e.node != kRootNode) {
      EXPECT_NE(team_of_leaf(e.node, 4), 1) << "team 1 was rewrapped";
    }
  }
}

// LKH+ with teams: a join-only batch hashes forward, a batch with a switch does not.
TEST(KeyTreeTeams, HashForwardJoinsStayInTheirTeams) {
  DeterministicRng rng(6);
  KeyTree t(13, team_policy(3, 3, /*hash_forward_joins=*/true));
  Teams expect;
  ASSERT_TRUE(t.commit(team_joins(0, 10, 2, rng, expect), rng).is_ok());
  auto plan = t.commit(team_joins(10, 20, 0, rng, expect), rng);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->kind, RekeyKind::kHashForward);
  EXPECT_EQ(plan->wrapped_keys(), 0u);
  check_teams(t, expect);
  Batch s;
  s.switches = {{3, 1}};
  expect[3] = 1;
  plan = t.commit(std::move(s), rng);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->kind, RekeyKind::kFull);
  check_teams(t, expect);
}

// Random joins (each into a random team), leaves, switches, bulk changes and mass
// departures from one team; every invariant after every commit.
TEST(KeyTreeTeams, RandomSequencesKeepEveryMemberInItsTeam) {
  size_t switches = 0, rebuilds = 0, emptied = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    DeterministicRng rng(seed);
    TreePolicy p;
    p.degree = static_cast<uint8_t>(2 + rng.uniform(7));
    p.teams = static_cast<uint8_t>(1 + rng.uniform(std::min<uint64_t>(4, p.degree)));
    p.hash_forward_joins = rng.uniform(2) == 1;
    KeyTree t(seed, p);
    Teams expect;
    MemberId next = 0;
    for (int step = 0; step < 50; ++step) {
      std::vector<MemberId> cur;
      for (const auto& [id, team] : expect) cur.push_back(id);
      Batch b;
      const size_t kind = rng.uniform(5);
      const size_t nj = kind == 0 ? rng.uniform(120) : rng.uniform(4);
      std::set<MemberId> used;
      if (kind == 1 && !cur.empty()) {  // most of one team leaves
        const uint8_t team = static_cast<uint8_t>(rng.uniform(p.teams));
        for (MemberId id : cur) {
          if (expect.at(id) == team && rng.uniform(8) != 0) used.insert(id);
        }
      } else {
        for (size_t i = 0, n = cur.empty() ? 0 : rng.uniform(4); i < n; ++i)
          used.insert(cur[rng.uniform(cur.size())]);
      }
      for (MemberId id : used) b.leaves.push_back(id);
      if (p.teams >= 2 && !cur.empty()) {
        for (size_t i = 0, n = kind == 2 ? rng.uniform(cur.size() / 3 + 1) : rng.uniform(3); i < n;
             ++i) {
          const MemberId id = cur[rng.uniform(cur.size())];
          if (!used.insert(id).second) continue;
          const uint8_t to =
              static_cast<uint8_t>((expect.at(id) + 1 + rng.uniform(p.teams - 1)) % p.teams);
          b.switches.push_back({id, to});
        }
      }
      for (size_t i = 0; i < nj; ++i)
        b.joins.push_back(
            {next++, rng.symmetric_key(), static_cast<uint8_t>(rng.uniform(p.teams))});
      if (b.empty()) continue;
      for (MemberId id : b.leaves) expect.erase(id);
      for (const TeamSwitch& s : b.switches) expect[s.id] = s.team;
      for (const JoinRequest& j : b.joins) expect[j.id] = j.team;
      const size_t nswitch = b.switches.size();
      auto plan = t.commit(std::move(b), rng);
      ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
      switches += nswitch;
      rebuilds += plan->rebuilt ? 1u : 0u;
      EXPECT_EQ(plan->switched.size(), nswitch);
      if (nswitch > 0) {
        EXPECT_EQ(plan->kind, RekeyKind::kFull);
      }
      SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
      check_teams(t, expect);
      for (uint8_t team = 0; team < p.teams; ++team) emptied += t.team_size(team) == 0 ? 1u : 0u;
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GT(switches, 100u);
  EXPECT_GT(rebuilds, 0u) << "no sequence broke a team's depth bound";
  EXPECT_GT(emptied, 0u) << "no sequence emptied a team";
}

TEST(KeyTreeTeams, BatchPlannerQueuesOneSwitchPerMember) {
  DeterministicRng rng(7);
  KeyTree t(14, team_policy(4, 3));
  Teams expect;
  ASSERT_TRUE(t.commit(team_joins(0, 9, 0, rng, expect), rng).is_ok());
  BatchPlanner planner(t);
  EXPECT_EQ(planner.switch_team(1, 3).code(), Errc::kInvalidArgument);   // no team 3
  EXPECT_EQ(planner.switch_team(99, 1).code(), Errc::kInvalidArgument);  // stranger
  EXPECT_EQ(planner.switch_team(1, 0).code(), Errc::kInvalidArgument);   // already there
  ASSERT_TRUE(planner.join({50, rng.symmetric_key(), 2}).is_ok());
  EXPECT_EQ(planner.switch_team(50, 1).code(), Errc::kInvalidArgument);  // pending joiner
  EXPECT_TRUE(planner.switch_team(1, 1).is_ok());
  EXPECT_TRUE(planner.switch_team(1, 2).is_ok());  // the last one asked wins
  EXPECT_TRUE(planner.switch_team(2, 1).is_ok());
  EXPECT_TRUE(planner.switch_team(2, 0).is_ok());  // back: cancelled
  EXPECT_TRUE(planner.switch_team(3, 1).is_ok());
  EXPECT_TRUE(planner.leave(3).is_ok());  // a leave drops the switch
  EXPECT_EQ(planner.switch_team(3, 2).code(), Errc::kInvalidArgument);
  EXPECT_EQ(planner.pending_switches(), 1u);
  EXPECT_EQ(planner.size(), 3u);
  Batch b = planner.take();
  ASSERT_EQ(b.switches.size(), 1u);
  EXPECT_EQ(b.switches[0].id, 1u);
  EXPECT_EQ(b.switches[0].team, 2);
  EXPECT_EQ(b.joins[0].team, 2);
  ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
  expect[1] = 2;
  expect[50] = 2;
  expect.erase(3);
  check_teams(t, expect);
  KeyTree plain(15, TreePolicy{});
  BatchPlanner none(plain);
  EXPECT_EQ(none.switch_team(1, 0).code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace netkey
