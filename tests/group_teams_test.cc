// Teams, switches and private messages over the simulated lossy network (issue 12).
// Part of group_test.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "sim/sim_group.h"

namespace netkey::testing {
namespace {

// Teams over a lossy, jittery network with switches: every team broadcast a member opens
// is of the team the Root had it in at that packet's epoch (an oracle from the Root's
// own kJoined / kTeamChanged events, not from the member's keys), reliable team
// broadcasts reach the team's members across rekeys, and the private messages each
// member opens are its own.
TEST(Group, TeamBroadcastsAndSwitchesUnderLoss) {
  SimGroupOptions o;
  o.subjects = 12;
  o.charter.teams = 2;
  o.link.loss = 0.1;
  o.link.jitter_ns = 30 * kMs;
  SimGroup g(std::move(o));
  std::map<uint32_t, MemberId> member_of_node;
  for (size_t i = 1; i <= 12; ++i) (void)g.add_subject(i);
  ASSERT_TRUE(g.run_until_quiet(20 * kSec));
  for (uint32_t n : g.members()) member_of_node[n] = g.participant(n).member_id();
  ASSERT_EQ(member_of_node.size(), 12u);
  // (member, epoch from which) -> team, from the Root's events only.
  std::map<MemberId, std::map<uint64_t, TeamId>> history;
  size_t seen_events = 0;
  const auto follow_root = [&] {
    const auto& ev = g.root_events();
    for (; seen_events < ev.size(); ++seen_events) {
      const RootEvent& e = ev[seen_events];
      if (e.kind == RootEvent::Kind::kJoined || e.kind == RootEvent::Kind::kTeamChanged) {
        history[e.member][e.epoch] = e.team;
      }
    }
  };
  follow_root();
  const auto team_at = [&](MemberId m, uint64_t epoch) -> std::optional<TeamId> {
    auto h = history.find(m);
    if (h == history.end()) return std::nullopt;
    auto it = h->second.upper_bound(epoch);
    if (it == h->second.begin()) return std::nullopt;
    return std::prev(it)->second;
  };
  uint64_t team_opened = 0, wrong_team = 0, private_opened = 0, wrong_private = 0;
  g.set_event_tap([&](uint32_t node, const ParticipantEvent& e) {
    if (e.kind != ParticipantEvent::Kind::kMessage) return;
    const MemberId m = member_of_node[node];
    if (e.type == PacketType::kTeamBroadcast) {
      ++team_opened;
      follow_root();
      if (team_at(m, e.epoch) != std::optional<TeamId>(e.sender)) ++wrong_team;
      if (e.payload.size() != 2 || e.payload[0] != e.sender)
        ++wrong_team;  // the payload names its team
    }
    if (e.type == PacketType::kPrivateToMember) {
      ++private_opened;
      if (e.payload.size() != 4 || e.payload[0] != static_cast<uint8_t>(m) ||
          e.payload[1] != static_cast<uint8_t>(m >> 8)) {
        ++wrong_private;
      }
    }
  });
  DeterministicRng rng(5);
  for (int round = 0; round < 30; ++round) {
    g.at(g.now() + 1, [&, round] {
      for (TeamId t = 0; t < 2; ++t) {
        const std::vector<uint8_t> payload{static_cast<uint8_t>(t), static_cast<uint8_t>(round)};
        EXPECT_TRUE(g.root()
                        .broadcast_to_team(t, payload, g.now(), netkey::Delivery::kReliableOrdered)
                        .is_ok());
      }
      for (const auto& [node, m] : member_of_node) {
        const std::vector<uint8_t> mine{static_cast<uint8_t>(m), static_cast<uint8_t>(m >> 8), 0,
                                        1};
        EXPECT_TRUE(
            g.root().send_private(m, mine, g.now(), netkey::Delivery::kReliableOrdered).is_ok());
      }
      if (round % 3 == 0) {  // a switch of a random player, batched
        const size_t i = 1 + rng.uniform(12);
        const auto m = g.root().member_of(SimGroup::subject(i));
        if (m)
          (void)g.root().assign_team(SimGroup::subject(i),
                                     static_cast<TeamId>(1 - *g.root().team_of(*m)), g.now());
      }
      g.pump_root_transmits();
    });
    g.run_for(60 * kMs);
  }
  ASSERT_TRUE(g.run_until_quiet(30 * kSec));
  follow_root();
  size_t switches = 0;
  for (const auto& [m, h] : history) switches += h.size() - 1;
  EXPECT_GT(switches, 3u);
  EXPECT_EQ(wrong_team, 0u);
  EXPECT_EQ(wrong_private, 0u);
  DropCounters pd, td;
  for (const auto& [node, m] : member_of_node) {
    for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
      pd.by_reason[r] += g.participant(node).private_drops().by_reason[r];
      td.by_reason[r] += g.participant(node).traffic_drops().by_reason[r];
    }
  }
  // Every private message and, in each round, the team broadcast of the team it was in
  // (each goes to its team at that moment) was opened: all are reliable, and a member
  // whose rekeys lag behind the Root (lost, retransmitted after the RTO) holds them (or,
  // private, derives their key) up to kReliableEpochsAhead epochs ahead. Nothing is
  // dropped: no unknown_epoch, no bad tag, no other_team (the fan-out follows the
  // stream), no replay.
  EXPECT_EQ(private_opened, 30u * 12u);
  EXPECT_EQ(team_opened, 30u * 12u);
  EXPECT_EQ(pd.total(), 0u);
  EXPECT_EQ(td.total(), 0u);
  EXPECT_EQ(g.disagreeing(), 0u);
}

}  // namespace
}  // namespace netkey::testing
