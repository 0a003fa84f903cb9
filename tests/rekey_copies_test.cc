// Redundant rekey delivery (issue 13, RootConfig::rekey_copies): every rekey goes out
// again, unreliably, rekey_copies times: at once after the originals, then just before
// each of the next broadcasts. A copy is
// hostile input like any rekey: the Root sends exactly rekey_copies of each, whatever
// members send; a member that already holds it drops it as stale and counts it; a
// forged one is rejected; neither changes a key.
#include <gtest/gtest.h>

#include <vector>

#include "netkey/random.h"
#include "netkey/traffic.h"
#include "sim/sim_group.h"

namespace netkey::testing {
namespace {

SimGroupOptions options(RootConfig::RekeyEncoding enc, uint32_t copies) {
  SimGroupOptions o;
  o.subjects = 20;
  o.encoding = enc;
  o.root_overrides.rekey_copies = copies;
  return o;
}

void broadcast(SimGroup& g, int times) {
  for (int i = 0; i < times; ++i) {
    ASSERT_TRUE(g.root().broadcast(std::vector<uint8_t>{7}, g.now()).is_ok());
    g.pump_root_transmits();
    g.run_for(5 * kMs);
  }
}

// Copies the Root sends for one leave of 8 members, with every member flooding the Root
// with junk control, junk traffic and replays of its own input in between.
uint64_t copies_for_one_leave(RootConfig::RekeyEncoding enc, uint32_t copies) {
  SimGroup g(options(enc, copies));
  std::vector<uint32_t> nodes;
  for (size_t i = 1; i <= 8; ++i) nodes.push_back(g.add_subject(i));
  EXPECT_TRUE(g.run_until_quiet(10 * kSec));
  broadcast(g, static_cast<int>(copies) + 1);  // the joins' copies are out
  const uint64_t before = g.root().stats().rekey_copies_sent;
  g.participant(nodes[0]).leave(g.now());
  g.pump_node_transmits(nodes[0]);
  EXPECT_TRUE(g.run_until_quiet(10 * kSec));
  const std::vector<uint8_t> junk(64, 0x41);
  for (int round = 0; round < 10; ++round) {
    for (size_t i = 1; i < nodes.size(); ++i) {
      g.root().handle_control(nodes[i], junk, g.now());
      g.root().handle_traffic(nodes[i], junk, g.now());
      EXPECT_TRUE(g.participant(nodes[i]).send(std::vector<uint8_t>{1, 2}, g.now()).is_ok());
      g.pump_node_transmits(nodes[i]);
    }
    broadcast(g, 1);
  }
  EXPECT_EQ(g.disagreeing(), 0u);
  return g.root().stats().rekey_copies_sent - before;
}

TEST(RekeyCopies, ExactlyRekeyCopiesPerRekeyWhateverMembersSend) {
  // Slices: one per member who stays (7), each copied `copies` times.
  EXPECT_EQ(copies_for_one_leave(RootConfig::RekeyEncoding::kSlices, 1), 7u);
  EXPECT_EQ(copies_for_one_leave(RootConfig::RekeyEncoding::kSlices, 3), 21u);
  // A Whole: one shared copy per broadcast.
  EXPECT_EQ(copies_for_one_leave(RootConfig::RekeyEncoding::kWhole, 2), 2u);
  // Positive control of the counter: off means none.
  EXPECT_EQ(copies_for_one_leave(RootConfig::RekeyEncoding::kSlices, 0), 0u);
}

TEST(RekeyCopies, ACopyIsTheOriginalAndAStaleOrForgedOneChangesNoKey) {
  SimGroup g(options(RootConfig::RekeyEncoding::kWhole, 1));
  std::vector<uint32_t> nodes;
  for (size_t i = 1; i <= 6; ++i) nodes.push_back(g.add_subject(i));
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  broadcast(g, 2);
  std::vector<std::vector<uint8_t>> rekeys;
  g.set_root_tap([&](Channel ch, std::span<const uint8_t> b) {
    if (ch == Channel::kRekey) rekeys.emplace_back(b.begin(), b.end());
  });
  const uint64_t old_epoch = g.root().epoch();
  g.participant(nodes[0]).leave(g.now());
  g.pump_node_transmits(nodes[0]);
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  // The original (reliable) and its one copy, at once (no broadcast yet): the same bytes.
  ASSERT_EQ(rekeys.size(), 2u);
  broadcast(g, 2);
  EXPECT_EQ(rekeys.size(), 2u);  // rekey_copies = 1: none at the broadcasts
  EXPECT_EQ(rekeys[0], rekeys[1]);
  ASSERT_GT(g.root().epoch(), old_epoch);

  Participant& m = g.participant(nodes[1]);
  ASSERT_EQ(m.epoch(), g.root().epoch());  // it applied the original
  const uint64_t epoch = m.epoch();
  const SymmetricKey key = m.net_key().clone();
  const ParticipantStats before = m.stats();
  // The copy again (a replay): stale, dropped and counted, nothing changes.
  m.handle_rekey(rekeys[1], g.now());
  EXPECT_EQ(m.stats().rekeys_stale, before.rekeys_stale + 1);
  // A forged copy: one bit flipped in the signature, and one in the body.
  std::vector<uint8_t> forged = rekeys[1];
  forged.back() ^= 1;
  m.handle_rekey(forged, g.now());
  forged = rekeys[1];
  forged[forged.size() / 2] ^= 0x10;
  m.handle_rekey(forged, g.now());
  EXPECT_EQ(m.stats().rekeys_stale + m.stats().rekeys_rejected, before.rekeys_stale + before.rekeys_rejected + 3);
  EXPECT_EQ(m.stats().rekeys_applied, before.rekeys_applied);
  EXPECT_EQ(m.epoch(), epoch);
  EXPECT_TRUE(m.net_key() == key);
  EXPECT_EQ(g.disagreeing(), 0u);
}

// With rekey_copies = 2: the first copy right after the original (a transport puts it in
// a datagram of its own), the second just before the next broadcast, then no more.
TEST(RekeyCopies, TheFirstCopyAtOnceTheNextAtTheNextBroadcast) {
  SimGroup g(options(RootConfig::RekeyEncoding::kWhole, 2));
  std::vector<uint32_t> nodes;
  for (size_t i = 1; i <= 6; ++i) nodes.push_back(g.add_subject(i));
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  broadcast(g, 3);  // the joins' copies are out
  size_t rekeys = 0;  // the original, then its copies
  g.set_root_tap([&](Channel ch, std::span<const uint8_t>) { rekeys += ch == Channel::kRekey; });
  g.participant(nodes[0]).leave(g.now());
  g.pump_node_transmits(nodes[0]);
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  EXPECT_EQ(rekeys, 2u);  // the original and the first copy, before any broadcast
  broadcast(g, 1);
  EXPECT_EQ(rekeys, 3u);  // the second copy, with the broadcast
  broadcast(g, 2);
  EXPECT_EQ(rekeys, 3u);  // exactly two copies
  EXPECT_EQ(g.disagreeing(), 0u);
}

// The Root's default relay grace (RootConfig::kRootRelayRetainedGraceNs): a member whose
// rekeys are late keeps sending under an epoch two or more back, and within the grace
// that input is taken; past it, it is not. A bare TrafficConfig (the positive control)
// refuses it at once.
TEST(RootRelayGrace, InputFromARetainedEpochWithinTheRootsDefaultGrace) {
  TrafficConfig root_cfg = RootConfig{}.traffic;
  ASSERT_EQ(root_cfg.relay_retained_grace_ns, RootConfig::kRootRelayRetainedGraceNs);
  root_cfg.group_id = 77;
  TrafficConfig bare;
  bare.group_id = 77;
  DeterministicRng rng(5);
  std::vector<SymmetricKey> keys;
  for (int e = 0; e <= 4; ++e) keys.push_back(rng.symmetric_key());
  auto input = [&](uint64_t epoch, uint8_t tag) {
    auto tx = TrafficSender::create(root_cfg, 3).value();
    tx.set_epoch(epoch, keys[epoch]);
    return *tx.seal(std::vector<uint8_t>{tag});
  };
  auto root = TrafficRelay::create(root_cfg).value();
  auto strict = TrafficRelay::create(bare).value();
  for (uint64_t e = 1; e <= 4; ++e) {  // epoch 1 retired at 2 ms; 4 is current
    root.set_epoch(e, keys[e], e * kMs);
    strict.set_epoch(e, keys[e], e * kMs);
  }
  const uint64_t late = 2 * kMs + RootConfig::kRootRelayRetainedGraceNs;
  EXPECT_TRUE(root.check(input(1, 1), 3, 900 * kMs).is_ok());  // three epochs back
  EXPECT_EQ(strict.check(input(1, 2), 3, 900 * kMs).message(), "epoch_expired");
  EXPECT_EQ(root.check(input(1, 3), 3, late + 1).message(), "epoch_expired");
  EXPECT_EQ(root.drops()[DropReason::kEpochExpired], 1u);
  // Only under the connection's own sender id: another member's id is refused.
  EXPECT_EQ(root.check(input(2, 4), 5, 900 * kMs).message(), "spoofed_sender");
}

}  // namespace
}  // namespace netkey::testing
