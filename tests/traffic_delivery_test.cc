// Team broadcasts (type 4), delivery classes and the retained-epoch grace, the relay's
// retained-epoch knob, and the stall metric (buffered_ns).
#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "netkey/random.h"
#include "netkey/traffic.h"

namespace netkey {
namespace {

using Bytes = std::vector<uint8_t>;
Bytes bytes(const std::string& s) { return {s.begin(), s.end()}; }
constexpr uint64_t kMs = 1'000'000;

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    cfg_.group_id = 5;
    for (size_t i = 0; i < 300; ++i) net_.push_back(rng_.symmetric_key());  // epochs 1..300
    for (int i = 0; i < 3; ++i) team_.push_back(rng_.symmetric_key());   // teams 0..2 (one epoch)
  }
  const SymmetricKey& net(uint64_t epoch) { return net_[epoch - 1]; }
  Bytes member_packet(SenderId id, uint64_t epoch, const std::string& s) {
    auto tx = TrafficSender::create(cfg_, id).value();
    tx.set_epoch(epoch, net(epoch));
    return *tx.seal(bytes(s));
  }
  // A TeamSender in `epoch` holding `key` for `team`.
  TeamSender team_sender(uint64_t epoch, TeamId team, const SymmetricKey& key) {
    auto ts = TeamSender::create(cfg_).value();
    ts.set_epoch(epoch);
    ts.set_team_key(team, key);
    return ts;
  }
  // One packet of `s` for `team` from `ts`.
  static Bytes team_packet(TeamSender& ts, TeamId team, const std::string& s) {
    Bytes p(s.size() + kTrafficOverhead);
    p.resize(*ts.seal(team, bytes(s), p));
    return p;
  }
  // How `rx` took one packet: kCount when it was opened or buffered.
  static DropReason handled(TrafficReceiver& rx, const Bytes& p, uint64_t now, Delivery d) {
    const DropCounters before = rx.drops();
    rx.handle(p, now, d);
    for (size_t i = 0; i < static_cast<size_t>(DropReason::kCount); ++i) {
      if (rx.drops().by_reason[i] != before.by_reason[i]) return static_cast<DropReason>(i);
    }
    return DropReason::kCount;
  }

  DeterministicRng rng_{23};
  TrafficConfig cfg_;
  std::vector<SymmetricKey> net_, team_;
};

TEST_F(DeliveryTest, TeamBroadcastOpensForItsTeamOnlyAndMatchesTheSpec) {
  auto ts = TeamSender::create(cfg_).value();
  ts.set_epoch(1);
  ts.set_team_key(1, team_[1]);
  ts.set_team_key(2, team_[2]);
  Bytes p(64);
  const size_t n = *ts.seal(1, bytes("team 1: regroup at B"), p);
  p.resize(n);
  EXPECT_EQ(n, 20u + 24u);
  EXPECT_EQ(p[0], 0x14);
  EXPECT_EQ(p[2] | p[3] << 8, 1);
  // Independent oracle: the team key itself, the spec's nonce and AD.
  uint8_t nonce[12] = {0x74, 0x72, 0x61, 0x66};
  Bytes ad(p.begin(), p.begin() + 8);
  for (int i = 0; i < 8; ++i) ad.push_back(i == 0 ? 5 : 0);
  Bytes plain(n - 24);
  EXPECT_EQ(crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), nullptr, nullptr, p.data() + 8, n - 8, ad.data(),
                                                      16, nonce, team_[1].bytes().data()),
            0);
  EXPECT_EQ(plain, bytes("team 1: regroup at B"));

  auto in1 = TrafficReceiver::create(cfg_).value();
  in1.set_epoch(1, net(1), 1, team_[1], 0);
  auto in2 = TrafficReceiver::create(cfg_).value();
  in2.set_epoch(1, net(1), 2, team_[2], 0);
  auto none = TrafficReceiver::create(cfg_).value();
  none.set_epoch(1, net(1), 0);
  EXPECT_EQ(handled(in1, p, 1, Delivery::kReliableOrdered), DropReason::kCount);
  auto got = in1.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->type, PacketType::kTeamBroadcast);
  EXPECT_EQ(got->sender, 1);
  EXPECT_EQ(got->payload, bytes("team 1: regroup at B"));
  EXPECT_EQ(handled(in2, p, 1, Delivery::kReliableOrdered), DropReason::kOtherTeam);
  EXPECT_EQ(handled(none, p, 1, Delivery::kReliableOrdered), DropReason::kOtherTeam);
  // Team 2 holds a key: had the team check been skipped, the attempt would be bad_tag.
  EXPECT_EQ(in2.drops()[DropReason::kBadTag], 0u);
  EXPECT_EQ(handled(in1, p, 2, Delivery::kReliableOrdered), DropReason::kReplay);
  Bytes forged = p;
  forged[8] ^= 1;
  EXPECT_EQ(handled(in2, forged, 1, Delivery::kReliableOrdered), DropReason::kOtherTeam);
  forged[2] = 2;  // now names team 2, sealed under team 1's key
  EXPECT_EQ(handled(in2, forged, 1, Delivery::kReliableOrdered), DropReason::kBadTag);
  EXPECT_FALSE(in2.poll().has_value());
}

TEST_F(DeliveryTest, TeamBroadcastsAreNotRelayedAndNotAcceptedInSignedMode) {
  auto ts = team_sender(1, 0, team_[0]);
  Bytes p = team_packet(ts, 0, "hi");
  auto relay = TrafficRelay::create(cfg_).value();
  relay.set_epoch(1, net(1), 0);
  EXPECT_EQ(relay.check(p, 0, 1).message(), "malformed");
  TrafficConfig signed_cfg = cfg_;
  signed_cfg.signed_broadcasts = true;
  auto rx = TrafficReceiver::create(signed_cfg).value();
  rx.set_epoch(1, net(1), 0, team_[0], 0);
  EXPECT_EQ(handled(rx, p, 1, Delivery::kReliableOrdered), DropReason::kUnsignedRoot);
  auto group_only = TrafficReceiver::create(cfg_).value();  // positive control
  group_only.set_epoch(1, net(1), 0, team_[0], 0);
  EXPECT_EQ(handled(group_only, p, 1, Delivery::kReliableOrdered), DropReason::kCount);
  EXPECT_TRUE(group_only.poll().has_value());
  EXPECT_EQ(ts.seal(1, bytes("no key for team 1"), p).code(), Errc::kInvalidArgument);
}

// A second key for a team in one epoch would restart its sequence: misuse, it aborts.
TEST_F(DeliveryTest, ATeamKeyIsInstalledOncePerEpoch) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto ts = team_sender(1, 1, team_[1]);
  Bytes p(40);
  ASSERT_TRUE(ts.seal(1, bytes("a"), p).is_ok());
  EXPECT_DEATH(ts.set_team_key(1, team_[1]), "t.id != team");
  ts.set_epoch(2);  // a new epoch forgets the keys: installing again is fine
  ts.set_team_key(1, team_[2]);
  ASSERT_TRUE(ts.seal(1, bytes("b"), p).is_ok());
  EXPECT_EQ(p[4], 0);  // its sequence restarted with the new key
}

TEST_F(DeliveryTest, TheTeamFollowsTheEpoch) {
  // Epoch 1 in team 1, epoch 2 in team 2: team 1's epoch-1 packet still opens (previous
  // epoch, its own team key); its epoch-2 packet does not.
  auto ts = team_sender(1, 1, team_[1]);
  const Bytes e1 = team_packet(ts, 1, "e1");
  ts.set_epoch(2);
  ts.set_team_key(1, team_[0]);
  const Bytes e2 = team_packet(ts, 1, "e2");
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net(1), 1, team_[1], 0);
  rx.set_epoch(2, net(2), 2, team_[2], 10);
  EXPECT_EQ(handled(rx, e1, 11, Delivery::kUnreliableSequenced), DropReason::kCount);
  EXPECT_EQ(handled(rx, e2, 11, Delivery::kUnreliableSequenced), DropReason::kOtherTeam);
}

TEST_F(DeliveryTest, ReliablePacketsCrossSeveralRekeysWithinTheirGrace) {
  const Bytes reliable = member_packet(3, 1, "reliable input");
  const Bytes unreliable = member_packet(4, 1, "unreliable input");
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net(1), 0);
  for (uint64_t e = 2; e <= 5; ++e) rx.set_epoch(e, net(e), e * kMs);  // epoch 1 retired at 2 ms
  const uint64_t t = 5 * kMs + cfg_.previous_epoch_grace_ns;
  EXPECT_EQ(handled(rx, unreliable, t, Delivery::kUnreliableSequenced), DropReason::kEpochExpired);
  EXPECT_EQ(handled(rx, unreliable, t, Delivery::kUnreliable), DropReason::kEpochExpired);
  EXPECT_EQ(handled(rx, reliable, t, Delivery::kReliableOrdered), DropReason::kCount);
  auto got = rx.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->epoch, 1u);
  EXPECT_EQ(got->payload, bytes("reliable input"));
  // After the grace, even reliably: expired.
  const Bytes late = member_packet(5, 1, "too late");
  EXPECT_EQ(handled(rx, late, 2 * kMs + cfg_.reliable_grace_ns + 1, Delivery::kReliableOrdered),
            DropReason::kEpochExpired);
  EXPECT_EQ(handled(rx, member_packet(6, 1, "in time"), 2 * kMs + cfg_.reliable_grace_ns, Delivery::kReliableOrdered),
            DropReason::kCount);
}

// A member whose rekeys lag two epochs behind the Root: a reliable packet of epoch 3
// at a receiver on epoch 1 is held, held again when epoch 2 comes, and opens with
// epoch 3; the same bytes unreliably are unknown_epoch; a reliable packet past
// kReliableEpochsAhead is unknown_epoch too.
TEST_F(DeliveryTest, AReceiverWhoseRekeysLagHoldsReliablePacketsSeveralEpochsAhead) {
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net(1), 0);
  const Bytes ahead = member_packet(3, 3, "kill: 3 -> 7");
  EXPECT_EQ(handled(rx, ahead, 1 * kMs, Delivery::kUnreliableSequenced), DropReason::kUnknownEpoch);
  EXPECT_EQ(handled(rx, ahead, 1 * kMs, Delivery::kReliableOrdered), DropReason::kCount);
  EXPECT_EQ(rx.buffered(), 1u);
  rx.set_epoch(2, net(2), 2 * kMs);
  EXPECT_FALSE(rx.poll().has_value());
  EXPECT_EQ(rx.buffered(), 1u);
  rx.set_epoch(3, net(3), 3 * kMs);
  auto got = rx.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->epoch, 3u);
  EXPECT_EQ(got->payload, bytes("kill: 3 -> 7"));
  EXPECT_EQ(rx.buffered(), 0u);
  const Bytes too_far = member_packet(3, 3 + kReliableEpochsAhead + 1, "too far");
  EXPECT_EQ(handled(rx, too_far, 4 * kMs, Delivery::kReliableOrdered), DropReason::kUnknownEpoch);
}

TEST_F(DeliveryTest, TheRingIsBoundedAndEpochBytesStayUnambiguous) {
  const Bytes e1 = member_packet(3, 1, "epoch 1");
  const Bytes e2 = member_packet(3, 2, "epoch 2");
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net(1), 0);
  const uint64_t current = kRetainedEpochs + 2;
  for (uint64_t e = 2; e <= current; ++e) rx.set_epoch(e, net(e), e);
  // Epochs 2..current-1 are retained (kRetainedEpochs), epoch 1 was pushed out.
  EXPECT_EQ(handled(rx, e1, current + 1, Delivery::kReliableOrdered), DropReason::kUnknownEpoch);
  EXPECT_EQ(handled(rx, e2, current + 1, Delivery::kReliableOrdered), DropReason::kCount);
  // A jump of 256 epochs: epoch 266's byte equals epoch 10's; the old key is dropped,
  // never tried for the new epoch's packets.
  auto jump = TrafficReceiver::create(cfg_).value();
  jump.set_epoch(9, net(9), 0);
  jump.set_epoch(10, net(10), 1);
  jump.set_epoch(10 + 256, net(11), 2);
  EXPECT_EQ(handled(jump, member_packet(3, 10, "old"), 3, Delivery::kReliableOrdered), DropReason::kBadTag);
  // Epoch 9's byte is still free: it stays retained.
  EXPECT_EQ(handled(jump, member_packet(3, 9, "nine"), 3, Delivery::kReliableOrdered), DropReason::kCount);
}

// A jump (a Resync after a long stall) to an epoch a few before a byte wrap: the retained
// epochs whose bytes equal those of epochs a reliable packet may be held for are
// forgotten, so such a packet is held for its own epoch, not matched to an old slot and
// dropped as expired.
TEST_F(DeliveryTest, AnEpochByteAheadIsNeverAnOldEpochs) {
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net(1), 0);
  rx.set_epoch(2, net(2), 1);
  rx.set_epoch(254, net(254), 2);  // bytes 254, 255, 0 .. 6 are current or ahead
  const Bytes ahead = member_packet(3, 258, "ahead, byte 2");  // epoch 2's byte
  EXPECT_EQ(handled(rx, ahead, 3, Delivery::kReliableOrdered), DropReason::kCount);
  EXPECT_EQ(rx.buffered(), 1u);  // held for epoch 258
  for (uint64_t e = 255; e <= 258; ++e) rx.set_epoch(e, net(e), 3 + e);
  auto got = rx.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->epoch, 258u);
  EXPECT_EQ(got->payload, bytes("ahead, byte 2"));
}

TEST_F(DeliveryTest, AMemberRemovedBeforeAReliableMessageNeverOpensIt) {
  // Epoch 2 removes the member: it never receives epoch 2's net key (nor its team key).
  auto removed = TrafficReceiver::create(cfg_).value();
  removed.set_epoch(1, net(1), 1, team_[1], 0);
  auto stays = TrafficReceiver::create(cfg_).value();
  stays.set_epoch(1, net(1), 1, team_[1], 0);
  stays.set_epoch(2, net(2), 1, team_[2], 10);
  auto root = TrafficSender::create(cfg_, kRootSender).value();
  root.set_epoch(2, net(2));
  const Bytes after = *root.seal(bytes("sent after the removal"));
  auto ts = team_sender(2, 1, team_[2]);
  const Bytes team_after = team_packet(ts, 1, "team, after the removal");
  int attempts = 0;
  for (const Bytes* p : {&after, static_cast<const Bytes*>(&team_after)}) {
    for (Delivery d : {Delivery::kReliableOrdered, Delivery::kUnreliableSequenced, Delivery::kUnreliable}) {
      ++attempts;
      removed.handle(*p, 20, d);  // held as "next epoch", for a key that never comes
      EXPECT_FALSE(removed.poll().has_value());
    }
    EXPECT_EQ(handled(stays, *p, 20, Delivery::kReliableOrdered), DropReason::kCount);  // positive control
    EXPECT_TRUE(stays.poll().has_value());
  }
  EXPECT_EQ(attempts, 6);
  // Even the epoch after (the member is gone for good): no key, no open. Unreliable, it
  // is unknown_epoch; reliable, it is held (a lagging member's reliable stream, up to
  // kReliableEpochsAhead ahead) for a key that never comes.
  root.set_epoch(3, net(3));
  const Bytes epoch3 = *root.seal(bytes("epoch 3"));
  EXPECT_EQ(handled(removed, epoch3, 30, Delivery::kUnreliableSequenced), DropReason::kUnknownEpoch);
  EXPECT_EQ(handled(removed, epoch3, 30, Delivery::kReliableOrdered), DropReason::kCount);
  EXPECT_FALSE(removed.poll().has_value());
  EXPECT_EQ(removed.opened_after_buffering(), 0u);
}

TEST_F(DeliveryTest, RelayAcceptsRetainedEpochsOnlyWithinItsKnob) {
  const Bytes old = member_packet(3, 1, "input from epoch 1");
  auto strict = TrafficRelay::create(cfg_).value();
  TrafficConfig knob = cfg_;
  knob.relay_retained_grace_ns = 200 * kMs;
  auto lenient = TrafficRelay::create(knob).value();
  for (uint64_t e = 1; e <= 3; ++e) {
    strict.set_epoch(e, net(e), e * kMs);
    lenient.set_epoch(e, net(e), e * kMs);
  }
  // Epoch 1 is two back (retired at 2 ms): not the previous one.
  EXPECT_EQ(strict.check(old, 3, 10 * kMs).message(), "epoch_expired");
  EXPECT_TRUE(lenient.check(old, 3, 10 * kMs).is_ok());
  const Bytes old2 = member_packet(4, 1, "later input");
  EXPECT_EQ(lenient.check(old2, 4, 2 * kMs + 200 * kMs + 1).message(), "epoch_expired");
  EXPECT_TRUE(strict.check(old2, 4, 10 * kMs, nullptr, Delivery::kReliableOrdered).is_ok());
  EXPECT_EQ(strict.drops()[DropReason::kEpochExpired], 1u);
  EXPECT_EQ(lenient.drops()[DropReason::kEpochExpired], 1u);
}

TEST_F(DeliveryTest, BufferedNsMeasuresTheWaitForTheKey) {
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net(1), 0);
  rx.handle(member_packet(3, 1, "now"), 100, Delivery::kUnreliable);
  rx.handle(member_packet(3, 2, "early"), 120, Delivery::kReliableOrdered);
  rx.handle(member_packet(4, 2, "early too"), 300, Delivery::kUnreliable);
  EXPECT_EQ(rx.buffered(), 2u);
  auto first = rx.poll();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->buffered_ns, 0u);
  EXPECT_EQ(rx.opened_after_buffering(), 0u);
  rx.set_epoch(2, net(2), 1000);
  auto a = rx.poll(), b = rx.poll();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->payload, bytes("early"));
  EXPECT_EQ(a->buffered_ns, 880u);
  EXPECT_EQ(b->buffered_ns, 700u);
  EXPECT_EQ(rx.opened_after_buffering(), 2u);
}

}  // namespace
}  // namespace netkey
