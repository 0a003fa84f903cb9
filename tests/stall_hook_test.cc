// OpenedPacket::buffered_ns: how long a next-epoch packet waited for its key (what the
// arena and load bots report as stall_ms). Opened on arrival: 0.
#include <gtest/gtest.h>

#include <map>

#include "netkey/random.h"
#include "netkey/traffic.h"

namespace netkey {
namespace {

class StallHook : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.group_id = 9;
    k1_ = rng_.symmetric_key();
    k2_ = rng_.symmetric_key();
  }
  // The Root's next packet under `epoch` (one sender per epoch: sequences only grow).
  std::vector<uint8_t> seal(uint64_t epoch, const SymmetricKey& key, uint8_t tag) {
    auto it = senders_.find(epoch);
    if (it == senders_.end()) {
      auto s = TrafficSender::create(cfg_, kRootSender);
      EXPECT_TRUE(s.is_ok());
      s->set_epoch(epoch, key);
      it = senders_.emplace(epoch, std::move(s).value()).first;
    }
    auto p = it->second.seal(std::vector<uint8_t>{tag});
    EXPECT_TRUE(p.is_ok());
    return std::move(p).value();
  }
  std::map<uint64_t, TrafficSender> senders_;
  DeterministicRng rng_{13};
  TrafficConfig cfg_;
  SymmetricKey k1_, k2_;
};

TEST_F(StallHook, BufferedPacketCarriesItsWaitAndDirectOneZero) {
  auto rx = TrafficReceiver::create(cfg_);
  ASSERT_TRUE(rx.is_ok());
  rx->set_epoch(1, k1_, 1'000);
  rx->handle(seal(1, k1_, 1), 2'000);  // current epoch: opened at once
  auto now = rx->poll();
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->payload, std::vector<uint8_t>{1});
  EXPECT_EQ(now->buffered_ns, 0u);

  rx->handle(seal(2, k2_, 2), 5'000'000);  // next epoch: held
  rx->handle(seal(2, k2_, 3), 7'000'000);
  EXPECT_FALSE(rx->poll().has_value());
  EXPECT_EQ(rx->buffered(), 2u);
  rx->set_epoch(2, k2_, 12'000'000);
  auto a = rx->poll();
  auto b = rx->poll();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->payload, std::vector<uint8_t>{2});
  EXPECT_EQ(a->buffered_ns, 7'000'000u);
  EXPECT_EQ(b->payload, std::vector<uint8_t>{3});
  EXPECT_EQ(b->buffered_ns, 5'000'000u);

  rx->handle(seal(2, k2_, 4), 13'000'000);  // now current again: no wait
  auto c = rx->poll();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->buffered_ns, 0u);
}

}  // namespace
}  // namespace netkey
