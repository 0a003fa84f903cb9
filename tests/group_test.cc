// The group control plane over the simulated network: admission, every refusal, the
// List Controller, leaving, reconnecting, resync.
#include <gtest/gtest.h>

#include "netkey/rekey_codec.h"
#include "netkey/testing.h"
#include "netkey/x25519.h"
#include "sim/sim_group.h"
#include "src/group/messages.h"

namespace netkey::testing {
namespace {

SimGroupOptions small(size_t subjects = 10) {
  SimGroupOptions o;
  o.subjects = subjects;
  return o;
}

TEST(Group, ParticipantsJoinAndAgreeOnTheNetKey) {
  SimGroup g(small());
  std::vector<uint32_t> nodes;
  for (size_t i = 1; i <= 5; ++i) nodes.push_back(g.add_subject(i));
  g.run_for(2 * kSec);
  EXPECT_EQ(g.root().member_count(), 5u);
  ASSERT_EQ(g.members().size(), 5u);
  EXPECT_EQ(g.disagreeing(), 0u);
  for (uint32_t n : nodes) {
    EXPECT_EQ(g.participant(n).state(), Participant::State::kWelcomed);
    EXPECT_GT(g.participant(n).member_id(), 0u);
  }
  // Traffic: a Root broadcast reaches everyone, encrypted once; a member's message is
  // relayed to the others.
  std::vector<uint8_t> snap = {1, 2, 3};
  ASSERT_TRUE(g.root().broadcast(snap, g.now()).is_ok());
  g.pump_root_transmits();
  g.run_for(200 * kMs);
  for (uint32_t n : nodes) {
    EXPECT_EQ(g.counters(n).messages, 1u);
    EXPECT_EQ(g.participant(n).state(), Participant::State::kInGroup);
  }
  ASSERT_TRUE(g.participant(nodes[0]).send(snap, g.now()).is_ok());
  g.pump_node_transmits(nodes[0]);
  g.run_for(200 * kMs);
  EXPECT_EQ(g.counters(nodes[0]).messages, 1u);  // not echoed back
  for (size_t i = 1; i < nodes.size(); ++i) EXPECT_EQ(g.counters(nodes[i]).messages, 2u);
  EXPECT_EQ(g.root().stats().refusals_total(), 0u);
}

// A batch's Whole goes to the members that hold the previous epoch, not to the batch's
// joiners (who are member peers when it leaves, but get their keys from the Welcome).
TEST(Group, AWholeSkipsTheBatchsJoiners) {
  SimGroupOptions o = small();
  o.encoding = RootConfig::RekeyEncoding::kWhole;
  SimGroup g(std::move(o));
  std::vector<uint32_t> first;
  for (size_t i = 1; i <= 3; ++i) first.push_back(g.add_subject(i));
  g.run_for(2 * kSec);
  const uint32_t late = g.add_subject(4);
  g.run_for(2 * kSec);
  ASSERT_EQ(g.root().member_count(), 4u);
  EXPECT_EQ(g.disagreeing(), 0u);
  for (uint32_t n : first) {
    EXPECT_EQ(g.participant(n).stats().rekeys_applied, 2u);  // Welcome, then the Whole
    EXPECT_EQ(g.participant(n).stats().rekeys_early, 0u);
  }
  EXPECT_EQ(g.participant(late).stats().rekeys_applied, 1u);  // its Welcome
  EXPECT_EQ(g.participant(late).stats().rekeys_early, 0u);     // no Whole before it
}

TEST(Group, RootRefusesToRunOnAnInvalidCharter) {
  SimGroup g(small());
  Identities& ids = g.ids();
  const Identity& r = ids.get("root", Role::kRoot, 9);
  auto make = [&](std::vector<uint8_t> charter) {
    RootConfig rc;
    rc.charter = std::move(charter);
    rc.ca_public_key = ids.ca().public_key();
    rc.certificate = r.certificate;
    rc.signing_seed = r.seed.clone();
    rc.unix_time_at_zero = kSimUnixTime;
    return Root::create(std::move(rc), std::make_unique<DeterministicRng>(1), 0);
  };
  auto tampered = g.charter_bytes();
  tampered[tampered.size() / 3] ^= 1;
  auto r1 = make(tampered);
  ASSERT_FALSE(r1.is_ok());
  EXPECT_NE(r1.status().message().find("refuses to run"), std::string::npos);
  auto f = Identities::default_fields(1);
  f.not_after = kSimUnixTime - 1;
  f.not_before = kSimUnixTime - 100;
  EXPECT_EQ(make(ids.charter(f, {})).code(), Errc::kExpired);
  // A charter that elects another Root.
  const Identity& other = ids.get("other-root", Role::kRoot, 9);
  RootConfig rc;
  rc.charter = g.charter_bytes();
  rc.ca_public_key = ids.ca().public_key();
  rc.certificate = other.certificate;
  rc.signing_seed = other.seed.clone();
  rc.unix_time_at_zero = kSimUnixTime;
  EXPECT_EQ(Root::create(std::move(rc), std::make_unique<DeterministicRng>(1), 0).code(), Errc::kWrongRole);
}

// Each refusal reaches the participant as a typed reason and is counted by the Root.
// A refusal before the handshake is unauthenticated, so the participant believes it only
// when its retries run out (two more, 500 ms apart).
void expect_refused(SimGroup& g, uint32_t node, RefusalReason reason) {
  g.run_for(3 * kSec);
  EXPECT_TRUE(g.counters(node).refused) << refusal_reason_name(reason);
  EXPECT_EQ(g.counters(node).last_refusal, reason) << refusal_reason_name(g.counters(node).last_refusal);
  EXPECT_EQ(g.participant(node).state(), Participant::State::kRefused);
  EXPECT_GE(g.root().stats().refusals[static_cast<size_t>(reason)], 1u);
}

TEST(Group, RefusalNotOnAcl) {
  SimGroup g(small());
  expect_refused(g, g.add(g.ids().get("stranger")), RefusalReason::kNotOnAcl);
}

TEST(Group, RefusalClearanceTooLow) {
  SimGroup g(small());
  expect_refused(g, g.add(g.ids().get("p1", Role::kParticipant, 0)), RefusalReason::kClearanceTooLow);
}

TEST(Group, RefusalCertificateExpired) {
  SimGroup g(small());
  expect_refused(g, g.add(g.ids().get("p1", Role::kParticipant, 1, true)), RefusalReason::kCertificateExpired);
}

TEST(Group, RefusalCertificateInvalid) {
  SimGroup g(small());
  // A List Controller certificate presented as a participant's: wrong role.
  expect_refused(g, g.add(g.ids().get("p1", Role::kListController, 1)), RefusalReason::kCertificateInvalid);
}

TEST(Group, RefusalFromAnotherCa) {
  SimGroup g(small());
  Identity foreign = g.ids().foreign("p1");
  expect_refused(g, g.add(foreign), RefusalReason::kWrongCa);
}

TEST(Group, RefusalCharterMismatch) {
  SimGroup g(small());
  auto f = Identities::default_fields(0x5151);
  f.batch_window_ms = 99;  // same session, other terms
  auto other = g.ids().charter(f, {"p1"});
  expect_refused(g, g.add(g.ids().get("p1"), &other), RefusalReason::kCharterMismatch);
}

TEST(Group, RefusalGroupFull) {
  SimGroupOptions o = small();
  o.charter.member_cap = 3;
  SimGroup g(std::move(o));
  for (size_t i = 1; i <= 3; ++i) g.add_subject(i);
  g.run_for(2 * kSec);
  ASSERT_EQ(g.root().member_count(), 3u);
  expect_refused(g, g.add_subject(4), RefusalReason::kGroupFull);
}

// Past the in-flight limit a participant hears `rate_limited`; the refusal is soft (it
// is unauthenticated), so it retries and gets in once the first handshake is done.
TEST(Group, RateLimitedHandshakeRetriesAndGetsIn) {
  SimGroupOptions o = small();
  o.root_overrides.max_handshakes_in_flight = 1;
  o.link.delay_ns = 50 * kMs;  // keep the first handshake in flight
  SimGroup g(std::move(o));
  uint32_t a = g.add_subject(1);
  uint32_t b = g.add_subject(2);
  g.run_for(3 * kSec);
  EXPECT_EQ(g.root().stats().refusals[static_cast<size_t>(RefusalReason::kRateLimited)], 1u);
  EXPECT_EQ(g.participant(a).stats().refusals_heard + g.participant(b).stats().refusals_heard, 1u);
  EXPECT_EQ(g.root().member_count(), 2u);
  EXPECT_FALSE(g.counters(a).refused);
  EXPECT_FALSE(g.counters(b).refused);
}

TEST(Group, LeaveIsAuthenticatedAndBatched) {
  SimGroup g(small());
  uint32_t a = g.add_subject(1), b = g.add_subject(2), c = g.add_subject(3);
  g.run_for(2 * kSec);
  const uint64_t epoch = g.root().epoch();
  g.participant(b).leave(g.now());
  g.pump_node_transmits(b);
  g.run_for(2 * kSec);
  EXPECT_EQ(g.root().member_count(), 2u);
  EXPECT_GT(g.root().epoch(), epoch);
  EXPECT_EQ(g.participant(b).state(), Participant::State::kLeft);
  EXPECT_FALSE(g.participant(b).epoch() == g.root().epoch());  // it missed the new epoch
  EXPECT_EQ(g.disagreeing(), 0u);
  (void)a;
  (void)c;
}

TEST(Group, DisconnectBecomesALeave) {
  SimGroup g(small());
  g.add_subject(1);
  uint32_t b = g.add_subject(2);
  g.run_for(2 * kSec);
  g.disconnect(b);
  g.run_for(2 * kSec);
  EXPECT_EQ(g.root().member_count(), 1u);
  EXPECT_EQ(g.disagreeing(), 0u);
}

TEST(Group, ListControllerRemovalFlushesAtOnceAndTheSubjectIsRefusedOnReconnect) {
  SimGroupOptions o = small();
  o.charter.batch_window_ms = 5000;  // a long window: only a security removal commits now
  SimGroup g(std::move(o));
  uint32_t alice = g.add_subject(1);
  g.add_subject(2);
  g.add_subject(3);
  g.run_for(6 * kSec);
  ASSERT_EQ(g.root().member_count(), 3u);
  const uint64_t epoch = g.root().epoch();
  g.lc_send(g.lc().remove({"p1"}).value());
  g.run_for(200 * kMs);  // far less than the 5 s window
  EXPECT_EQ(g.root().member_count(), 2u);
  EXPECT_EQ(g.root().epoch(), epoch + 1);
  EXPECT_EQ(g.participant(alice).state(), Participant::State::kRemoved);
  EXPECT_EQ(g.counters(alice).last_refusal, RefusalReason::kRemoved);
  EXPECT_EQ(g.disagreeing(), 0u);
  // Alice comes back with the same certificate: refused.
  uint32_t again = g.add_subject(1);
  expect_refused(g, again, RefusalReason::kNotOnAcl);
  // Adding her back authorises her; she still has to connect.
  g.lc_send(g.lc().add({"p1"}).value());
  g.run_for(100 * kMs);
  uint32_t third = g.add_subject(1);
  g.run_for(7 * kSec);
  EXPECT_EQ(g.participant(third).state(), Participant::State::kWelcomed);
}

TEST(Group, ListControllerUpdatesAreSignedAndNumbered) {
  SimGroup g(small());
  auto u1 = g.lc().add({"late-joiner"}).value();
  auto u2 = g.lc().add({"other"}).value();
  g.lc_send(u2);  // out of order: refused
  g.run_for(100 * kMs);
  EXPECT_EQ(g.root().stats().acl_updates_rejected, 1u);
  g.lc_send(u1);
  g.run_for(100 * kMs);
  g.lc_send(u1);  // replay: refused
  g.run_for(100 * kMs);
  EXPECT_EQ(g.root().stats().acl_updates_applied, 1u);
  EXPECT_EQ(g.root().stats().acl_updates_rejected, 2u);
  // An update signed by someone else (a participant posing as the LC) is refused.
  const Identity& mallory = g.ids().get("p2");
  ListController fake(g.root().charter().session_id, g.root().group_id(), mallory.seed, mallory.certificate, 2);
  g.lc_send(fake.add({"mallory-friend"}).value());
  g.run_for(100 * kMs);
  EXPECT_EQ(g.root().stats().acl_updates_rejected, 3u);
  // The accepted addition works.
  uint32_t n = g.add(g.ids().get("late-joiner"));
  g.run_for(2 * kSec);
  EXPECT_EQ(g.participant(n).state(), Participant::State::kWelcomed);
}

TEST(Group, ResyncRecoversAMemberThatMissedThreeEpochs) {
  SimGroup g(small(12));
  uint32_t a = g.add_subject(1);
  for (size_t i = 2; i <= 6; ++i) g.add_subject(i);
  g.run_for(2 * kSec);
  const uint64_t start = g.participant(a).epoch();
  g.net().block(a);  // a partition: it hears nothing
  for (size_t i = 7; i <= 10; ++i) {
    g.add_subject(i);
    g.run_for(1 * kSec);
  }
  ASSERT_GE(g.root().epoch(), start + 3);
  g.net().unblock(a);
  g.add_subject(11);  // the next change sends `a` a rekey it cannot apply: a gap
  g.run_for(3 * kSec);
  EXPECT_GE(g.counters(a).resyncs, 1u);
  EXPECT_GE(g.root().stats().resyncs_sent, 1u);
  EXPECT_EQ(g.participant(a).epoch(), g.root().epoch());
  EXPECT_TRUE(g.participant(a).net_key() == testing::root_net_key(g.root()));
}

// Regression for security finding 1, end to end. Under a hash-forward charter of degree
// 2, a batch of three joiners into a group of two splits the first member's leaf twice
// (1 -> 3 -> 7). That member must follow the batch itself: before the fix it could not
// derive the lower split node, got unknown_key, and read nothing in that epoch.
TEST(Group, AMemberSplitTwiceInOneHashForwardBatchKeepsTheRootsNetKey) {
  SimGroupOptions o = small();
  o.charter.degree = 2;
  o.charter.hash_forward_joins = true;
  SimGroup g(std::move(o));
  const uint32_t a = g.add_subject(1);
  ASSERT_TRUE(g.run_until_quiet(2 * kSec));
  const uint32_t b = g.add_subject(2);
  ASSERT_TRUE(g.run_until_quiet(2 * kSec));
  ASSERT_EQ(testing::held_keys(g.participant(a)).front().first, 0u);  // a sits at leaf 1 or 2
  const uint64_t before = g.root().epoch();
  for (size_t i = 3; i <= 5; ++i) g.add_subject(i);
  ASSERT_TRUE(g.run_until_quiet(5 * kSec));
  ASSERT_EQ(g.root().epoch(), before + 1) << "the three joiners must share one batch";
  // One of the first two was split twice: its path now has three nodes below the root.
  size_t deepest = std::max(testing::held_keys(g.participant(a)).size(), testing::held_keys(g.participant(b)).size());
  EXPECT_EQ(deepest, 3u);
  EXPECT_EQ(g.disagreeing(), 0u);
  for (uint32_t n : {a, b}) {
    EXPECT_EQ(g.participant(n).epoch(), g.root().epoch()) << n;
    EXPECT_EQ(g.counters(n).resyncs, 0u) << n << " should not need a Resync";
    EXPECT_EQ(g.participant(n).stats().rekeys_rejected, 0u) << n;
  }
}

// A rekey that a member still in the group cannot apply (unknown_key: it lacks a key the
// rekey assumes, as finding 1 left a member split twice) must not leave it without the
// net key until some later batch: the participant asks for a Resync, which the Root
// answers for members only. Here the member misses the real rekey (a partition) and then
// receives a Root-signed HashForward rekey for that epoch whose LeafMove puts it under
// nodes it holds no key for.
TEST(Group, UnknownKeyOnARekeyThatDoesNotRemoveUsAsksForAResync) {
  SimGroup g(small());
  const uint32_t a = g.add_subject(1);
  for (size_t i = 2; i <= 4; ++i) g.add_subject(i);
  ASSERT_TRUE(g.run_until_quiet(2 * kSec));
  const uint64_t e = g.root().epoch();
  const NodeId parent = testing::held_keys(g.participant(a)).front().first;
  g.net().block(a);
  g.add_subject(5);  // a real batch: epoch e + 1, which `a` does not hear
  ASSERT_TRUE(g.run_until_quiet(2 * kSec));
  ASSERT_EQ(g.root().epoch(), e + 1);
  g.net().unblock(a);
  ASSERT_EQ(g.participant(a).epoch(), e);

  RekeyPlan plan;
  plan.group_id = g.root().group_id();
  plan.epoch = e + 1;
  plan.kind = RekeyKind::kHashForward;
  plan.degree = g.root().charter().degree;
  // Whichever child of `parent` is a's leaf, move it below the next sibling (not below
  // its own leaf, so not into split nodes it could derive).
  const unsigned d = plan.degree;
  for (unsigned k = 0; k < d; ++k) {
    const NodeId sibling = parent * d + 1 + (k + 1) % d;
    plan.moves.push_back({parent * d + 1 + k, sibling * d + 1});
  }
  SigningKey root_key = SigningKey::from_seed(g.ids().get("root", Role::kRoot, 9).seed);
  const std::vector<uint8_t> rekey = encode_whole(plan, root_key);
  const uint64_t requested = g.participant(a).stats().resyncs_requested;
  g.participant(a).handle_rekey(rekey, g.now());
  EXPECT_EQ(g.participant(a).stats().rekeys_rejected, 1u);
  g.pump_node_transmits(a);
  g.run_for(1 * kSec);
  EXPECT_EQ(g.participant(a).stats().resyncs_requested, requested + 1);
  EXPECT_EQ(g.participant(a).epoch(), g.root().epoch());
  EXPECT_TRUE(g.participant(a).net_key() == testing::root_net_key(g.root()));
  EXPECT_EQ(g.disagreeing(), 0u);
}

// The other half of the rule above: a removed member that asks for a Resync (it cannot
// tell a removal from a missing key) gets nothing, because the Root answers members only.
TEST(Group, ARemovedMembersResyncRequestIsNotAnswered) {
  SimGroupOptions o = small();
  o.encoding = RootConfig::RekeyEncoding::kWhole;
  SimGroup g(std::move(o));
  const uint32_t x = g.add_subject(1);
  for (size_t i = 2; i <= 4; ++i) g.add_subject(i);
  ASSERT_TRUE(g.run_until_quiet(2 * kSec));
  const uint64_t e = g.root().epoch();
  g.lc_send(g.lc().remove({"p1"}).value());
  ASSERT_TRUE(g.run_until_quiet(2 * kSec));
  ASSERT_EQ(g.root().epoch(), e + 1);
  const uint64_t sent = g.root().stats().resyncs_sent;
  // Its connection is gone from the Root's books: whatever it sends (here a bare request;
  // an Authenticated one has no control channel left to open it) gets no Resync.
  g.root().handle_control(x, *detail::encode_resync_request(e), g.now());
  while (auto t = g.root().poll_transmit()) {
    EXPECT_FALSE(t->to == Transmit::To::kPeer && t->peer == x && t->channel == Channel::kRekey);
  }
  EXPECT_EQ(g.root().stats().resyncs_sent, sent);
  EXPECT_EQ(g.participant(x).epoch(), e);
  EXPECT_EQ(g.disagreeing(), 0u);
}

TEST(Group, ReconnectReplacesTheOldConnection) {
  SimGroup g(small());
  uint32_t first = g.add_subject(1);
  g.add_subject(2);
  g.run_for(2 * kSec);
  uint32_t second = g.add_subject(1);  // same subject, new connection
  g.run_for(2 * kSec);
  EXPECT_EQ(g.root().member_count(), 2u);
  EXPECT_EQ(g.participant(second).state(), Participant::State::kWelcomed);
  EXPECT_NE(g.participant(first).epoch(), g.root().epoch());
}

// The Root's three rekey policies all keep every member on the Root's key through joins,
// leaves and a removal.
TEST(Group, EveryRekeyEncodingKeepsAgreement) {
  for (auto enc : {RootConfig::RekeyEncoding::kSlices, RootConfig::RekeyEncoding::kWhole,
                   RootConfig::RekeyEncoding::kAuto}) {
    SCOPED_TRACE(static_cast<int>(enc));
    SimGroupOptions o = small(20);
    o.encoding = enc;
    o.link.loss = 0.05;
    o.link.jitter_ns = 30 * kMs;
    SimGroup g(std::move(o));
    std::vector<uint32_t> nodes;
    for (size_t i = 1; i <= 12; ++i) nodes.push_back(g.add_subject(i));
    ASSERT_TRUE(g.run_until_quiet(10 * kSec));
    EXPECT_EQ(g.disagreeing(), 0u);
    g.participant(nodes[0]).leave(g.now());
    g.pump_node_transmits(nodes[0]);
    g.disconnect(nodes[1]);
    for (size_t i = 13; i <= 16; ++i) g.add_subject(i);
    g.lc_send(g.lc().remove({"p5"}).value());
    ASSERT_TRUE(g.run_until_quiet(10 * kSec));
    EXPECT_EQ(g.root().member_count(), 13u);
    EXPECT_EQ(g.members().size(), 13u);
    EXPECT_EQ(g.disagreeing(), 0u);
  }
}

// kAuto picks the encoding of fewer bytes (issue 13): a batch of leaves in a group of 16
// costs every member far less as its own Slice than as the Whole, so the automatic
// choice sends exactly the Slices' bytes.
TEST(Group, AutoEncodingSendsTheFewerBytes) {
  auto leave_cost = [](RootConfig::RekeyEncoding enc) {
    SimGroupOptions o = small(20);
    o.encoding = enc;
    SimGroup g(std::move(o));
    std::vector<uint32_t> nodes;
    for (size_t i = 1; i <= 16; ++i) nodes.push_back(g.add_subject(i));
    EXPECT_TRUE(g.run_until_quiet(10 * kSec));
    const uint64_t before = g.root().stats().rekey_bytes_sent;
    for (size_t i : {size_t{0}, size_t{5}, size_t{10}}) {
      g.participant(nodes[i]).leave(g.now());
      g.pump_node_transmits(nodes[i]);
    }
    EXPECT_TRUE(g.run_until_quiet(10 * kSec));
    EXPECT_EQ(g.root().member_count(), 13u);
    EXPECT_EQ(g.disagreeing(), 0u);
    return g.root().stats().rekey_bytes_sent - before;
  };
  const uint64_t slices = leave_cost(RootConfig::RekeyEncoding::kSlices);
  const uint64_t whole = leave_cost(RootConfig::RekeyEncoding::kWhole);
  const uint64_t automatic = leave_cost(RootConfig::RekeyEncoding::kAuto);
  EXPECT_GT(slices, 0u);
  EXPECT_LT(slices, whole);
  EXPECT_EQ(automatic, slices);
}

TEST(Group, MalformedControlIsCountedNotFatal) {
  SimGroup g(small());
  std::vector<uint8_t> junk(100, 0x41);
  g.root().handle_control(99, junk, 0);
  g.root().handle_control(99, {}, 0);
  g.root().handle_datagram("10.9.9.9:1", junk, 0);
  EXPECT_EQ(g.root().stats().malformed_control, 3u);
  g.add_subject(1);
  g.run_for(2 * kSec);
  EXPECT_EQ(g.root().member_count(), 1u);
}

// The transport seam: joins, a batch that fills up, a leave, a vanished peer, a kick and
// a reconnect, with traffic between them (broadcasts, relayed member traffic).
void churn_for_the_seam(SimGroup& g) {
  std::vector<uint32_t> nodes;
  for (size_t i = 1; i <= 6; ++i) nodes.push_back(g.add_subject(i));
  g.run_for(2 * kSec);
  ASSERT_TRUE(g.root().broadcast(std::vector<uint8_t>{1}, g.now()).is_ok());
  g.pump_root_transmits();
  g.participant(nodes[1]).leave(g.now());
  g.pump_node_transmits(nodes[1]);
  g.disconnect(nodes[2]);
  g.add_subject(7);
  g.run_for(2 * kSec);
  ASSERT_TRUE(g.participant(nodes[0]).send(std::vector<uint8_t>{2}, g.now()).is_ok());
  g.pump_node_transmits(nodes[0]);
  g.lc_send(g.lc().remove({"p4"}).value());
  g.add_subject(5);  // a reconnect: the old connection leaves in the same batch
  g.run_for(2 * kSec);
  ASSERT_TRUE(g.root().broadcast(std::vector<uint8_t>{3}, g.now()).is_ok());
  g.pump_root_transmits();
  g.run_for(500 * kMs);
  ASSERT_EQ(g.root().member_count(), 4u);  // p1, p5 (again), p6, p7
  EXPECT_EQ(g.disagreeing(), 0u);
}

// A transport that keeps its member set from Transmit::member_change alone (as
// ServerHost does) holds the Root's member_peers() after every drain, and sends each
// kAllMembers transmit to the same peers, with either rekey encoding.
TEST(Group, TheMemberChangeStreamIsTheMemberSet) {
  for (auto encoding : {RootConfig::RekeyEncoding::kWhole, RootConfig::RekeyEncoding::kSlices}) {
    SimGroupOptions o = small();
    o.encoding = encoding;
    SimGroup g(std::move(o));
    churn_for_the_seam(g);
    const SeamCounters& c = g.seam();
    EXPECT_GE(c.changes, 7u + 4u);   // every joiner added; the leaver, the vanished, the kicked, the replaced removed
    EXPECT_GE(c.fanouts_checked, 3u);  // two broadcasts and a relay at least
    EXPECT_GT(c.drains_checked, 0u);
    EXPECT_EQ(c.set_mismatches, 0u);
    EXPECT_EQ(c.fanout_mismatches, 0u);
  }
}

// The positive control: a transport that misses one removal keeps a departed peer in its
// set, and the oracle above sees it.
TEST(Group, TheMemberSetOracleSeesALostRemoval) {
  SimGroupOptions o = small();
  o.ignore_first_member_removal = true;
  SimGroup g(std::move(o));
  churn_for_the_seam(g);
  EXPECT_GT(g.seam().set_mismatches, 0u);
  EXPECT_GT(g.seam().fanout_mismatches, 0u);  // the later broadcast would have reached it
}

}  // namespace
}  // namespace netkey::testing
