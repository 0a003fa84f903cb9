// Issue 12 through the Root and the Participant (no network): teams assigned through
// the Root, team broadcasts, team switches, private messages both ways, delivery classes
// and the reliable grace. Every "cannot open" check feeds the real bytes to the real
// receiver and has a positive control that opens the same bytes where it should.
#include <gtest/gtest.h>

#include "netkey/list_controller.h"
#include "support/direct_root.h"

namespace netkey::testing {
namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

CharterFields team_fields(uint8_t teams) {
  CharterFields f = Identities::default_fields(0x5151);
  f.teams = teams;
  return f;
}

// The messages a participant heard, by type (drains its events).
struct Heard {
  std::vector<ParticipantEvent> messages;
  std::vector<ParticipantEvent> team_changes;
};
Heard drain(Participant& p) {
  Heard h;
  while (auto e = p.poll_event()) {
    if (e->kind == ParticipantEvent::Kind::kMessage) h.messages.push_back(std::move(*e));
    if (e->kind == ParticipantEvent::Kind::kTeamChanged) h.team_changes.push_back(std::move(*e));
  }
  return h;
}
std::vector<RootEvent> root_events(Root& r, RootEvent::Kind kind) {
  std::vector<RootEvent> out;
  while (auto e = r.poll_event()) {
    if (e->kind == kind) out.push_back(std::move(*e));
  }
  return out;
}
uint64_t drops(const DropCounters& c, DropReason r) { return c[r]; }

// The next transmit a participant queued (taken before Direct delivers it).
std::vector<uint8_t> take_sent(Direct::Client& c, Transmit* out = nullptr) {
  auto t = c.p->poll_transmit();
  EXPECT_TRUE(t.has_value());
  if (!t) return {};
  if (out != nullptr) *out = *t;
  return *t->bytes;
}
// Delivers what the Root queued; its last traffic transmit.
Transmit sent(Direct& d) {
  d.pump();
  EXPECT_FALSE(d.traffic.empty());
  return d.traffic.empty() ? Transmit{} : d.traffic.back();
}
std::vector<uint8_t> last_traffic(Direct& d) { return *sent(d).bytes; }
// Takes what the Root queued without delivering it; the last traffic packet's bytes.
std::vector<uint8_t> capture(Direct& d) {
  std::vector<uint8_t> last;
  while (auto t = d.root->poll_transmit()) {
    if (t->channel >= Channel::kState && !t->bytes->empty()) last = *t->bytes;
  }
  return last;
}

// Four players: p1, p2 assigned to team 0 and p3, p4 to team 1 before they join; p5
// unassigned goes to the smallest team (2 and 2: the lowest index, 0).
struct TeamMatch {
  Direct d{team_fields(2)};
  Direct::Client* c[6] = {};
  TeamMatch() {
    EXPECT_TRUE(d.root->assign_team("p1", 0, d.now).is_ok());
    EXPECT_TRUE(d.root->assign_team("p2", 0, d.now).is_ok());
    EXPECT_TRUE(d.root->assign_team("p3", 1, d.now).is_ok());
    EXPECT_TRUE(d.root->assign_team("p4", 1, d.now).is_ok());
    for (PeerId i = 1; i <= 4; ++i) c[i] = &d.start("p" + std::to_string(i), i);
    d.commit();
    for (PeerId i = 1; i <= 4; ++i) drain(*c[i]->p);
  }
  MemberId id(int i) const { return c[i]->p->member_id(); }
};

TEST(Teams, AssignedAndSmallestTeamJoins) {
  TeamMatch m;
  for (int i = 1; i <= 4; ++i) {
    const TeamId want = i <= 2 ? 0 : 1;
    EXPECT_EQ(m.d.root->team_of(m.id(i)), want) << i;
    EXPECT_EQ(m.c[i]->p->team(), want) << i;
  }
  // A fifth, unassigned: the teams are 2 and 2, so team 0; a sixth then goes to team 1.
  auto& p5 = m.d.join("p5", 5);
  EXPECT_EQ(p5.p->team(), TeamId{0});
  auto& p6 = m.d.join("p6", 6);
  EXPECT_EQ(p6.p->team(), TeamId{1});
  EXPECT_EQ(m.d.root->team_size(0), 3u);
  EXPECT_EQ(m.d.root->team_size(1), 3u);
}

TEST(Teams, BadTeamArgumentsAreClearErrors) {
  TeamMatch m;
  const auto payload = bytes_of("x");
  Status st = m.d.root->assign_team("p1", 2, m.d.now);
  EXPECT_EQ(st.code(), Errc::kInvalidArgument);
  EXPECT_NE(st.message().find("out of range"), std::string::npos) << st.message();
  EXPECT_EQ(m.d.root->broadcast_to_team(2, payload, m.d.now).code(), Errc::kInvalidArgument);
  EXPECT_EQ(m.d.root->broadcast_to_team(kNoTeam, payload, m.d.now).code(), Errc::kInvalidArgument);
  std::vector<uint8_t> big(m.d.root->charter().teams == 2 ? 1201 : 0, 1);  // max_payload is 1200
  EXPECT_EQ(m.d.root->broadcast_to_team(0, big, m.d.now).code(), Errc::kInvalidArgument);
  EXPECT_TRUE(m.d.root->broadcast_to_team(0, payload, m.d.now).is_ok());  // control: in range
  // A charter without teams.
  Direct plain;
  plain.join("p1", 1);
  st = plain.root->assign_team("p1", 0, plain.now);
  EXPECT_EQ(st.code(), Errc::kInvalidArgument);
  EXPECT_NE(st.message().find("no teams"), std::string::npos) << st.message();
  EXPECT_EQ(plain.root->broadcast_to_team(0, payload, plain.now).code(), Errc::kInvalidArgument);
  EXPECT_FALSE(plain.clients[1].p->team().has_value());
}

TEST(Teams, TeamBroadcastReachesExactlyItsTeamWithOneSeal) {
  TeamMatch m;
  const uint64_t seals = m.d.root->stats().seals;
  ASSERT_TRUE(m.d.root->broadcast_to_team(1, bytes_of("team one"), m.d.now).is_ok());
  EXPECT_EQ(m.d.root->stats().seals, seals + 1);
  const Transmit t = sent(m.d);
  ASSERT_EQ(t.to, Transmit::To::kTeam);
  const auto packet = *t.bytes;
  for (int i = 1; i <= 4; ++i) {
    Heard h = drain(*m.c[i]->p);
    if (i >= 3) {
      ASSERT_EQ(h.messages.size(), 1u) << i;
      EXPECT_EQ(h.messages[0].type, PacketType::kTeamBroadcast);
      EXPECT_EQ(h.messages[0].sender, SenderId{1});
      EXPECT_EQ(h.messages[0].payload, bytes_of("team one"));
    } else {
      EXPECT_TRUE(h.messages.empty()) << i;  // the transport did not send it there
    }
  }
  // The other team's members cannot open it even if they get the bytes.
  for (int i = 1; i <= 2; ++i) {
    const uint64_t before = drops(m.c[i]->p->traffic_drops(), DropReason::kOtherTeam);
    m.d.inject(*m.c[i], packet);
    EXPECT_TRUE(drain(*m.c[i]->p).messages.empty());
    EXPECT_EQ(drops(m.c[i]->p->traffic_drops(), DropReason::kOtherTeam), before + 1) << i;
  }
}

TEST(Teams, ASwitchChangesWhatAMemberOpens) {
  TeamMatch m;
  ASSERT_TRUE(m.d.root->broadcast_to_team(1, bytes_of("team1 before"), m.d.now).is_ok());
  const auto new_team_before = last_traffic(m.d);
  m.d.pump();
  for (int i = 1; i <= 4; ++i) drain(*m.c[i]->p);

  ASSERT_TRUE(m.d.root->assign_team("p1", 1, m.d.now).is_ok());
  EXPECT_EQ(m.d.root->team_of(m.id(1)), TeamId{0});  // batched: not yet
  m.d.commit();
  auto changed = root_events(*m.d.root, RootEvent::Kind::kTeamChanged);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].member, m.id(1));
  EXPECT_EQ(changed[0].team, TeamId{1});
  EXPECT_EQ(m.d.root->team_of(m.id(1)), TeamId{1});
  Heard h1 = drain(*m.c[1]->p);
  ASSERT_EQ(h1.team_changes.size(), 1u);
  EXPECT_EQ(h1.team_changes[0].team, TeamId{1});
  EXPECT_EQ(m.c[1]->p->team(), TeamId{1});
  for (int i = 2; i <= 4; ++i) drain(*m.c[i]->p);

  // Old team's traffic after the switch: not sent to p1, and not opened if it gets it.
  ASSERT_TRUE(m.d.root->broadcast_to_team(0, bytes_of("team0 after"), m.d.now).is_ok());
  const auto old_team_after = last_traffic(m.d);
  m.d.pump();
  EXPECT_TRUE(drain(*m.c[1]->p).messages.empty());
  EXPECT_EQ(drain(*m.c[2]->p).messages.size(), 1u);  // control: team 0 still reads it
  m.d.inject(*m.c[1], old_team_after);
  EXPECT_TRUE(drain(*m.c[1]->p).messages.empty());
  // New team's traffic from before the switch: not opened.
  m.d.inject(*m.c[1], new_team_before);
  EXPECT_TRUE(drain(*m.c[1]->p).messages.empty());
  EXPECT_GE(drops(m.c[1]->p->traffic_drops(), DropReason::kOtherTeam), 2u);
  // New team's traffic now: opened.
  ASSERT_TRUE(m.d.root->broadcast_to_team(1, bytes_of("team1 after"), m.d.now).is_ok());
  m.d.pump();
  Heard now = drain(*m.c[1]->p);
  ASSERT_EQ(now.messages.size(), 1u);
  EXPECT_EQ(now.messages[0].payload, bytes_of("team1 after"));
}

TEST(Private, BothWaysToOneMemberOnly) {
  Direct d;
  auto& a = d.join("p1", 1);
  auto& b = d.join("p2", 2);
  drain(*a.p);
  drain(*b.p);
  const uint64_t seals = d.root->stats().seals;
  ASSERT_TRUE(d.root->send_private(a.p->member_id(), bytes_of("your cards"), d.now).is_ok());
  EXPECT_EQ(d.root->stats().seals, seals + 1);
  const Transmit t = sent(d);
  ASSERT_EQ(t.to, Transmit::To::kPeer);
  const auto down = *t.bytes;
  Heard ha = drain(*a.p);
  ASSERT_EQ(ha.messages.size(), 1u);
  EXPECT_EQ(ha.messages[0].type, PacketType::kPrivateToMember);
  EXPECT_EQ(ha.messages[0].payload, bytes_of("your cards"));
  EXPECT_TRUE(drain(*b.p).messages.empty());
  // Relayed to another member: dropped there (its member id is not b's).
  d.inject(b, down);
  EXPECT_TRUE(drain(*b.p).messages.empty());
  EXPECT_EQ(drops(b.p->private_drops(), DropReason::kWrongMember), 1u);
  // Replayed to its member: dropped.
  d.inject(a, down);
  EXPECT_TRUE(drain(*a.p).messages.empty());
  EXPECT_EQ(drops(a.p->private_drops(), DropReason::kReplay), 1u);

  // Member -> Root.
  ASSERT_TRUE(a.p->send_private(bytes_of("my move"), d.now).is_ok());
  const auto up = take_sent(a);
  d.root->handle_traffic(1, up, d.now);
  auto msgs = root_events(*d.root, RootEvent::Kind::kMessage);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, PacketType::kPrivateToRoot);
  EXPECT_EQ(msgs[0].member, a.p->member_id());
  EXPECT_EQ(msgs[0].payload, bytes_of("my move"));
  const size_t relayed = d.traffic.size();
  d.pump();
  EXPECT_EQ(d.traffic.size(), relayed);  // never relayed
  EXPECT_TRUE(drain(*b.p).messages.empty());
  // Replayed on its connection, sent on another member's connection, or sealed by
  // another member under this member's id: dropped and counted by reason.
  d.root->handle_traffic(1, up, d.now);
  d.root->handle_traffic(2, up, d.now);
  // (b's second packet: sequence 1, which a's window has not seen, so the tag decides)
  ASSERT_TRUE(b.p->send_private(bytes_of("first"), d.now).is_ok());
  (void)take_sent(b);
  ASSERT_TRUE(b.p->send_private(bytes_of("forged"), d.now).is_ok());
  auto forged = take_sent(b);
  forged[2] = static_cast<uint8_t>(a.p->member_id());
  forged[3] = static_cast<uint8_t>(a.p->member_id() >> 8);
  d.root->handle_traffic(1, forged, d.now);
  d.root->handle_traffic(1, down, d.now);  // a Root packet reflected back
  EXPECT_TRUE(root_events(*d.root, RootEvent::Kind::kMessage).empty());
  EXPECT_EQ(drops(d.root->private_drops(), DropReason::kReplay), 1u);
  EXPECT_EQ(drops(d.root->private_drops(), DropReason::kWrongMember), 1u);
  EXPECT_EQ(drops(d.root->private_drops(), DropReason::kBadTag), 1u);
  EXPECT_EQ(drops(d.root->private_drops(), DropReason::kWrongDirection), 1u);
}

TEST(Private, NonMemberAndOversizeAreClearErrors) {
  Direct d;
  auto& a = d.join("p1", 1);
  Status st = d.root->send_private(999, bytes_of("x"), d.now);
  EXPECT_EQ(st.code(), Errc::kInvalidArgument);
  EXPECT_NE(st.message().find("not a member"), std::string::npos) << st.message();
  std::vector<uint8_t> big(1201, 1);
  EXPECT_EQ(d.root->send_private(a.p->member_id(), big, d.now).code(), Errc::kInvalidArgument);
  EXPECT_EQ(a.p->send_private(big, d.now).code(), Errc::kInvalidArgument);
  EXPECT_TRUE(d.root->send_private(a.p->member_id(), bytes_of("x"), d.now).is_ok());  // control
  // A joiner before its Welcome is not a member yet.
  auto& b = d.start("p2", 2);
  ASSERT_NE(b.p->member_id(), 0u);
  EXPECT_EQ(d.root->send_private(b.p->member_id(), bytes_of("x"), d.now).code(),
            Errc::kInvalidArgument);
}

TEST(Private, ARemovedMembersChannelIsDead) {
  Direct d;
  auto& a = d.join("p1", 1);
  const MemberId old_id = a.p->member_id();
  ASSERT_TRUE(
      a.p->send_private(bytes_of("late"), d.now, netkey::Delivery::kReliableOrdered).is_ok());
  const auto late = take_sent(a);
  ListController lc(d.root->charter().session_id, d.root->group_id(),
                    d.ids.get("lc", Role::kListController, 9).seed,
                    d.ids.get("lc", Role::kListController, 9).certificate);
  ASSERT_TRUE(d.root->submit_acl_update(*lc.remove({"p1"}).value(), d.now).is_ok());
  d.pump();
  ASSERT_EQ(a.p->state(), Participant::State::kRemoved);
  EXPECT_EQ(d.root->send_private(old_id, bytes_of("x"), d.now).code(), Errc::kInvalidArgument);
  // A new member reuses the id: the old channel's packet does not open on its channel.
  auto& b = d.join("p2", 2);
  ASSERT_EQ(b.p->member_id(), old_id);
  d.root->handle_traffic(2, late, d.now, netkey::Delivery::kReliableOrdered);
  EXPECT_TRUE(root_events(*d.root, RootEvent::Kind::kMessage).empty());
  EXPECT_EQ(drops(d.root->private_drops(), DropReason::kBadTag) +
                drops(d.root->private_drops(), DropReason::kUnknownEpoch),
            1u);
  // Control: b's own private packet opens.
  ASSERT_TRUE(b.p->send_private(bytes_of("hi"), d.now).is_ok());
  d.root->handle_traffic(2, take_sent(b), d.now);
  EXPECT_EQ(root_events(*d.root, RootEvent::Kind::kMessage).size(), 1u);
}

TEST(Delivery, TransmitsCarryTheClassAndChannel) {
  Direct d;
  auto& a = d.join("p1", 1);
  ASSERT_TRUE(d.root->broadcast(bytes_of("r"), d.now, netkey::Delivery::kReliableOrdered).is_ok());
  Transmit t = sent(d);
  EXPECT_EQ(t.channel, Channel::kEvents);
  EXPECT_TRUE(t.reliable);
  ASSERT_TRUE(d.root->broadcast(bytes_of("u"), d.now, netkey::Delivery::kUnreliable).is_ok());
  t = sent(d);
  EXPECT_EQ(t.channel, Channel::kState);
  EXPECT_EQ(t.delivery, netkey::Delivery::kUnreliable);
  EXPECT_FALSE(t.reliable);
  ASSERT_TRUE(
      d.root
          ->send_private(a.p->member_id(), bytes_of("p"), d.now, netkey::Delivery::kReliableOrdered)
          .is_ok());
  t = sent(d);
  EXPECT_EQ(t.channel, Channel::kEvents);
  Heard h = drain(*a.p);
  ASSERT_EQ(h.messages.size(), 3u);
  EXPECT_EQ(h.messages[0].delivery, netkey::Delivery::kReliableOrdered);
  EXPECT_EQ(h.messages[1].delivery, netkey::Delivery::kUnreliable);
  EXPECT_EQ(h.messages[2].delivery, netkey::Delivery::kReliableOrdered);
  ASSERT_TRUE(a.p->send(bytes_of("e"), d.now, netkey::Delivery::kReliableOrdered).is_ok());
  (void)take_sent(a, &t);
  EXPECT_EQ(t.channel, Channel::kEvents);
  EXPECT_TRUE(t.reliable);
  ASSERT_TRUE(a.p->send(bytes_of("s"), d.now).is_ok());
  (void)take_sent(a, &t);
  EXPECT_EQ(t.channel, Channel::kMember);
  EXPECT_EQ(t.delivery, netkey::Delivery::kUnreliableSequenced);
}

TEST(Delivery, AReliableSendBeforeTheWelcomeIsAClearError) {
  Direct d;
  auto& a = d.start("p1", 1);
  ASSERT_EQ(a.p->state(), Participant::State::kHandshake);
  Status st = a.p->send(bytes_of("x"), d.now, netkey::Delivery::kReliableOrdered);
  EXPECT_EQ(st.code(), Errc::kInvalidArgument);
  EXPECT_NE(st.message().find("Welcome"), std::string::npos) << st.message();
  EXPECT_EQ(a.p->send_private(bytes_of("x"), d.now, netkey::Delivery::kReliableOrdered).code(),
            Errc::kInvalidArgument);
  d.commit();
  EXPECT_TRUE(
      a.p->send(bytes_of("x"), d.now, netkey::Delivery::kReliableOrdered).is_ok());  // control
}

// Reliable packets of an epoch two rekeys and more than the previous-epoch grace old
// still open; the same bytes marked unreliable do not.
TEST(Delivery, AReliableMessageAcrossEpochChangesOpens) {
  Direct d;
  auto& a = d.join("p1", 1);
  drain(*a.p);
  ASSERT_TRUE(
      d.root->broadcast(bytes_of("kill"), d.now, netkey::Delivery::kReliableOrdered).is_ok());
  const auto bcast = capture(d);
  ASSERT_TRUE(d.root
                  ->send_private(a.p->member_id(), bytes_of("loot"), d.now,
                                 netkey::Delivery::kReliableOrdered)
                  .is_ok());
  const auto down = capture(d);
  ASSERT_TRUE(
      a.p->send_private(bytes_of("chat"), d.now, netkey::Delivery::kReliableOrdered).is_ok());
  const auto up = take_sent(a);
  ASSERT_FALSE(bcast.empty());
  ASSERT_FALSE(down.empty());
  const uint64_t e0 = d.root->epoch();
  d.join("p2", 2);
  d.join("p3", 3);
  ASSERT_EQ(a.p->epoch(), e0 + 2);
  d.advance(1500 * kMs);  // past previous_epoch_grace_ns (500 ms), within reliable_grace_ns (5 s)
  drain(*a.p);
  root_events(*d.root, RootEvent::Kind::kMessage);
  // Controls: unreliable, the same bytes are too old.
  d.inject(a, bcast, netkey::Delivery::kUnreliableSequenced);
  d.inject(a, down, netkey::Delivery::kUnreliableSequenced);
  d.root->handle_traffic(1, up, d.now, netkey::Delivery::kUnreliableSequenced);
  EXPECT_TRUE(drain(*a.p).messages.empty());
  EXPECT_TRUE(root_events(*d.root, RootEvent::Kind::kMessage).empty());
  // Reliable: they open.
  d.inject(a, bcast, netkey::Delivery::kReliableOrdered);
  d.inject(a, down, netkey::Delivery::kReliableOrdered);
  d.root->handle_traffic(1, up, d.now, netkey::Delivery::kReliableOrdered);
  Heard h = drain(*a.p);
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0].payload, bytes_of("kill"));
  EXPECT_EQ(h.messages[1].payload, bytes_of("loot"));
  auto up_msgs = root_events(*d.root, RootEvent::Kind::kMessage);
  ASSERT_EQ(up_msgs.size(), 1u);
  EXPECT_EQ(up_msgs[0].payload, bytes_of("chat"));
  EXPECT_EQ(up_msgs[0].delivery, netkey::Delivery::kReliableOrdered);
}

// A member whose connection is gone (still welcomed in its own eyes) never opens a
// reliable message sent after its removal, however long it holds it.
TEST(Delivery, AReliableMessageNeverOpensForAMemberRemovedBeforeIt) {
  Direct d;
  auto& a = d.join("p1", 1);
  auto& b = d.join("p2", 2);
  const MemberId bid = b.p->member_id();
  d.root->peer_disconnected(2, d.now);
  b.connected = false;
  d.commit();
  ASSERT_EQ(d.root->member_count(), 1u);
  drain(*a.p);
  drain(*b.p);
  ASSERT_TRUE(
      d.root->broadcast(bytes_of("after"), d.now, netkey::Delivery::kReliableOrdered).is_ok());
  const auto packet = last_traffic(d);
  EXPECT_EQ(
      d.root->send_private(bid, bytes_of("x"), d.now, netkey::Delivery::kReliableOrdered).code(),
      Errc::kInvalidArgument);
  d.pump();
  ASSERT_EQ(drain(*a.p).messages.size(), 1u);  // control: a member opens it
  d.inject(b, packet, netkey::Delivery::kReliableOrdered);
  d.advance(2000 * kMs);
  d.join("p3", 3);  // later epochs come and go: b never gets their keys
  d.advance(2000 * kMs);
  EXPECT_TRUE(drain(*b.p).messages.empty());
}

// The Root relays member data only; team and private packets from a member are dropped.
TEST(Delivery, TheRootNeverRelaysTeamOrPrivatePackets) {
  TeamMatch m;
  ASSERT_TRUE(m.d.root->broadcast_to_team(0, bytes_of("t"), m.d.now).is_ok());
  const auto team_packet = last_traffic(m.d);
  ASSERT_TRUE(m.d.root->send_private(m.id(1), bytes_of("p"), m.d.now).is_ok());
  const auto private_packet = last_traffic(m.d);
  const size_t before = m.d.traffic.size();
  m.d.root->handle_traffic(1, team_packet, m.d.now);
  m.d.root->handle_traffic(1, private_packet, m.d.now);
  m.d.pump();
  EXPECT_EQ(m.d.traffic.size(), before);
  EXPECT_EQ(m.d.root->traffic_drops()[DropReason::kMalformed], 1u);
  EXPECT_EQ(drops(m.d.root->private_drops(), DropReason::kWrongDirection), 1u);
  // Control: member data is relayed, with its class.
  ASSERT_TRUE(m.c[1]->p->send(bytes_of("d"), m.d.now, netkey::Delivery::kReliableOrdered).is_ok());
  m.d.pump();
  ASSERT_EQ(m.d.traffic.size(), before + 1);
  EXPECT_EQ(m.d.traffic.back().delivery, netkey::Delivery::kReliableOrdered);
  EXPECT_EQ(m.d.traffic.back().channel, Channel::kEvents);
}

}  // namespace
}  // namespace netkey::testing
