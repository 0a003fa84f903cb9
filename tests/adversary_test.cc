// The demo adversary must be able to see a violation, or its 0 means nothing.
#include "common/adversary.h"

#include <gtest/gtest.h>

#include "netkey/random.h"
#include "netkey/traffic.h"

namespace netkey::demo {
namespace {

TEST(Adversary, CountsPacketsItOpensAfterItsRemoval) {
  DeterministicRng rng(1);
  TrafficConfig cfg;
  cfg.group_id = 77;
  auto root = TrafficSender::create(cfg, kRootSender).value();
  SymmetricKey k5 = rng.symmetric_key(), k6 = rng.symmetric_key();
  Adversary adv(77, AeadSuite::kChaCha20Poly1305);
  // It held epoch 5's key and was removed by the batch that made epoch 6.
  adv.absorb(9, {}, 5, k5);
  root.set_epoch(5, k5);
  auto old_pkt = root.seal(std::vector<uint8_t>{1}).value();
  adv.observe(Channel::kState, old_pkt);  // escrow: not active yet, nothing tried
  EXPECT_EQ(adv.attempts(), 0u);
  adv.removed(9, 6);
  adv.observe(Channel::kState, old_pkt);  // an old packet: allowed
  EXPECT_EQ(adv.decryptions(), 1u);
  EXPECT_EQ(adv.violations(), 0u);
  root.set_epoch(6, k6);
  adv.observe(Channel::kState, root.seal(std::vector<uint8_t>{2}).value());  // cannot open
  EXPECT_EQ(adv.violations(), 0u);
  // Had the Root reused epoch 5's key for epoch 6 (a broken rekey), it would be caught.
  auto broken = TrafficSender::create(cfg, kRootSender).value();
  broken.set_epoch(6, k5);
  Adversary adv2(77, AeadSuite::kChaCha20Poly1305);
  adv2.absorb(9, {}, 6, k5);  // same bytes, learned as "epoch 6" from a leaked key
  adv2.removed(9, 6);
  adv2.observe(Channel::kState, broken.seal(std::vector<uint8_t>{3}).value());
  EXPECT_EQ(adv2.violations(), 1u);
}

}  // namespace
}  // namespace netkey::demo
