// The authenticated control plane after the handshake, and restarts, driven by hand (no
// network): the regressions for the security review's findings 2, 5 and 6 (forged
// refusals, soft raw refusals, the Welcome deadline, ACL updates only through the trusted
// door, leaves bound to their handshake, the resync limit, nothing from an earlier run).
#include <gtest/gtest.h>

#include "netkey/list_controller.h"
#include "support/direct_root.h"

namespace netkey::testing {
namespace {

// Finding 5: a forged Refusal ended a member in any state. Raw datagrams after the
// Response and unauthenticated control on the connection are ignored and counted.
TEST(ControlPlane, AForgedRefusalCannotEndAMember) {
  Direct d;
  auto& a = d.join("p1", 1);
  a.p->handle_datagram(*detail::encode_refusal(RefusalReason::kRemoved), d.now);  // spoofed raw
  a.p->handle_control(*detail::encode_refusal(RefusalReason::kRemoved), d.now);   // injected on the connection
  std::vector<uint8_t> forged = *detail::encode_authenticated(a.p->member_id(), 1, 1, std::vector<uint8_t>(40, 7));
  a.p->handle_control(forged, d.now);  // Authenticated, but not under its key
  EXPECT_EQ(a.p->state(), Participant::State::kWelcomed);
  EXPECT_EQ(a.p->stats().raw_ignored, 1u);
  EXPECT_EQ(a.p->stats().control_malformed, 1u);
  EXPECT_EQ(a.p->stats().control_rejected, 1u);
  // The real removal, sealed by the Root, does end it.
  ListController lc(d.root->charter().session_id, d.root->group_id(), d.ids.get("lc", Role::kListController, 9).seed,
                    d.ids.get("lc", Role::kListController, 9).certificate);
  ASSERT_TRUE(d.root->submit_acl_update(*lc.remove({"p1"}).value(), d.now).is_ok());
  d.pump();
  EXPECT_EQ(a.p->state(), Participant::State::kRemoved);
}

// Finding 5: a refusal before the handshake is soft: a real answer still wins.
TEST(ControlPlane, ARawRefusalBeforeTheHandshakeIsSoft) {
  Direct d;
  auto& a = d.start(1, d.config("p1"));
  ASSERT_EQ(a.p->state(), Participant::State::kHandshake);  // everything was answered at once
  auto& b = victim(d, 2, "p2", "10.0.0.2:4000");
  (void)b.p->poll_transmit();  // the Hello is lost
  b.p->handle_datagram(*detail::encode_refusal(RefusalReason::kNotOnAcl), d.now);  // a spoofer's
  EXPECT_EQ(b.p->state(), Participant::State::kConnecting);
  EXPECT_EQ(b.p->stats().refusals_heard, 1u);
  d.advance(600 * kMs);  // the retransmitted Hello gets through
  d.commit();
  EXPECT_EQ(b.p->state(), Participant::State::kWelcomed);
  // With no real answer, the refusal is the reason it gives up with, soon.
  Direct e;
  auto& c = victim(e, 3, "p3", "10.0.0.3:4000");
  c.p->handle_datagram(*detail::encode_refusal(RefusalReason::kNotOnAcl), e.now);
  for (int i = 0; i < 4; ++i) {
    e.now += 500 * kMs;
    c.p->handle_timeout(e.now);
    while (c.p->poll_transmit()) {
    }
  }
  EXPECT_EQ(c.p->state(), Participant::State::kRefused);
  bool saw = false;
  while (auto ev = c.p->poll_event()) saw = saw || ev->reason == RefusalReason::kNotOnAcl;
  EXPECT_TRUE(saw);
}

// Finding 5: a dropped handshake used to hang forever; without a Welcome it gives up.
TEST(ControlPlane, AParticipantGivesUpWithoutAWelcome) {
  Direct d;
  auto& a = d.start("p1", 1);
  ASSERT_EQ(a.p->state(), Participant::State::kHandshake);
  d.root.reset();  // the Root is gone: no Welcome will come
  const auto deadline = a.p->poll_timeout();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_GE(*deadline, d.now + 10 * kSec);
  a.p->handle_timeout(*deadline - 1);
  EXPECT_EQ(a.p->state(), Participant::State::kHandshake);
  a.p->handle_timeout(*deadline);
  EXPECT_EQ(a.p->state(), Participant::State::kRefused);
}

// Finding 2: an AclUpdate from the network (raw, without a cookie, or on a member's
// connection) cost one or two Ed25519 verifies. Now it costs none and is not applied.
TEST(ControlPlane, AnAclUpdateFromTheNetworkCostsNothingAndIsNotApplied) {
  Direct d;
  auto& a = d.join("p1", 1);
  const Identity& lc_id = d.ids.get("lc", Role::kListController, 9);
  ListController lc(d.root->charter().session_id, d.root->group_id(), lc_id.seed, lc_id.certificate);
  auto update = lc.add({"outsider"}).value();
  const uint64_t ops = d.root->stats().public_key_ops;
  for (int i = 0; i < 100; ++i) d.root->handle_datagram("10.9.9." + std::to_string(i) + ":1", *update, d.now);
  d.root->handle_control(a.peer, *update, d.now);
  EXPECT_EQ(d.root->stats().public_key_ops, ops);
  EXPECT_EQ(d.root->stats().acl_updates_applied, 0u);
  EXPECT_EQ(d.root->stats().raw_unexpected, 100u);
  // Through the trusted door it is verified and applied.
  EXPECT_TRUE(d.root->submit_acl_update(*update, d.now).is_ok());
  EXPECT_EQ(d.root->stats().acl_updates_applied, 1u);
}

// Finding 2: a LeaveRequest was signed over (session, member id, nonce) only, and ids
// are reused: an observed one replayed later removed the id's next holder. Now it is
// sealed under the handshake's control key.
TEST(ControlPlane, ALeaveRequestIsBoundToItsHandshake) {
  Direct d;
  auto& a = d.join("p1", 1);
  auto& b = d.join("p2", 2);
  d.commit();
  const MemberId a_id = a.p->member_id();
  a.p->leave(d.now);
  d.pump();
  ASSERT_FALSE(a.sent_control.empty());
  const std::vector<uint8_t> observed = a.sent_control.back();  // an eavesdropper's copy
  d.commit();
  ASSERT_EQ(d.root->member_count(), 1u);
  // p1 comes back and is given the same member id.
  auto& again = d.join("p1", 3);
  ASSERT_EQ(again.p->member_id(), a_id);
  const uint64_t epoch = d.root->epoch();
  const uint64_t rejected = d.root->stats().control_rejected;
  d.root->handle_control(again.peer, observed, d.now);  // replayed onto the new holder
  d.root->handle_control(b.peer, observed, d.now);      // onto another member
  d.root->handle_control(b.peer, *detail::encode_leave(a_id), d.now);  // unauthenticated
  d.commit();
  EXPECT_EQ(d.root->stats().control_rejected, rejected + 2);
  EXPECT_EQ(d.root->member_count(), 2u);
  EXPECT_EQ(d.root->epoch(), epoch);
  // A replay of a member's own earlier message on its own connection is refused too.
  b.p->leave(d.now);
  d.pump();
  const uint64_t before = d.root->stats().control_rejected;
  d.root->handle_control(b.peer, b.sent_control.back(), d.now);
  EXPECT_EQ(d.root->stats().control_rejected, before + 1);
}

// Resyncs are answered at most once per interval per member.
TEST(ControlPlane, ResyncRequestsAreRateLimited) {
  Direct d;
  auto pc = d.config("p1");
  pc.resync_interval_ns = 0;  // the participant asks at every gap
  auto& a = d.start(1, std::move(pc));
  d.commit();
  d.join("p2", 2);
  a.muted = true;
  d.join("p3", 3);  // a misses this epoch
  d.join("p4", 4);
  d.join("p5", 5);
  ASSERT_EQ(a.held.size(), 3u);
  a.p->handle_rekey(a.held[1], d.now);  // a gap: needs_resync, asks
  a.p->handle_rekey(a.held[2], d.now);  // another gap at once: asks again
  a.muted = false;
  d.pump();
  EXPECT_EQ(a.p->stats().resyncs_requested, 2u);
  EXPECT_EQ(d.root->stats().resyncs_sent, 1u);
  EXPECT_EQ(d.root->stats().resyncs_rate_limited, 1u);
}

// Finding 6: ACL updates (and Wholes) replayed across a Root restart on the same charter.
// The boot nonce gives each run its own group id.
TEST(ControlPlane, NothingFromAnEarlierRunOfTheRootIsAccepted) {
  RootConfig wholes;  // kAuto would send this small batch as Slices
  wholes.rekey_encoding = RootConfig::RekeyEncoding::kWhole;
  Direct first(Identities::default_fields(0x5151), wholes);
  const Identity& lc_id = first.ids.get("lc", Role::kListController, 9);
  ListController lc1(first.root->charter().session_id, first.root->group_id(), lc_id.seed, lc_id.certificate);
  auto add = lc1.add({"guest"}).value();
  auto remove = lc1.remove({"guest"}).value();
  ASSERT_TRUE(first.root->submit_acl_update(*add, first.now).is_ok());
  ASSERT_TRUE(first.root->submit_acl_update(*remove, first.now).is_ok());
  // Capture a Whole of the first run.
  first.join("p1", 1);
  first.join("p2", 2);
  std::vector<uint8_t> old_whole;
  first.start("p3", 3);
  first.root->flush(first.now);
  while (auto t = first.root->poll_transmit()) {
    if (t->channel == Channel::kRekey && t->to == Transmit::To::kAllMembers) old_whole = *t->bytes;
  }
  ASSERT_FALSE(old_whole.empty());

  Direct second(Identities::default_fields(0x5151), RootConfig{}, /*rng_seed=*/12);  // restart
  EXPECT_NE(second.root->group_id(), first.root->group_id());
  Status s = second.root->submit_acl_update(*add, second.now);
  EXPECT_EQ(s.code(), Errc::kWrongGroup);
  EXPECT_EQ(second.root->stats().acl_updates_applied, 0u);
  // The List Controller of this run starts again at 1, naming the new group.
  ListController lc2(second.root->charter().session_id, second.root->group_id(), lc_id.seed, lc_id.certificate);
  EXPECT_TRUE(second.root->submit_acl_update(*lc2.add({"guest"}).value(), second.now).is_ok());
  // A member of the new run refuses the old run's Whole.
  auto& m = second.join("p1", 1);
  second.join("p2", 2);
  const uint64_t epoch = m.p->epoch();
  const uint64_t rejected = m.p->stats().rekeys_rejected + m.p->stats().rekeys_stale;
  m.p->handle_rekey(old_whole, second.now);
  EXPECT_EQ(m.p->epoch(), epoch);
  EXPECT_GT(m.p->stats().rekeys_rejected + m.p->stats().rekeys_stale, rejected);
}

}  // namespace
}  // namespace netkey::testing
