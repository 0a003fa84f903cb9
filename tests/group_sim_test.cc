// The group at scale over the simulated network: 1000 participants joining in bulk,
// and 10 % churn per second for NETKEY_SIM_SECONDS simulated seconds (default 60, a
// multiple of 10: one quiet check every 10 s) under 10 % loss and 200 ms jitter. CTest
// runs it with 10 s in the quick label (group_sim_test) and 60 s in soak (group_sim_soak).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "sim/sim_group.h"

namespace netkey::testing {
namespace {

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

size_t env_or(const char* name, size_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

TEST(GroupSim, ThousandParticipantsJoinInBulk) {
  const size_t n = env_or("NETKEY_SIM_MEMBERS", 1000);
  SimGroupOptions o;
  o.subjects = n;
  o.link.delay_ns = 20 * kMs;
  o.link.jitter_ns = 10 * kMs;
  SimGroup g(std::move(o));
  const double cpu0 = cpu_seconds();
  for (size_t i = 1; i <= n; ++i) g.add_subject(i);
  uint64_t done_at = 0;
  while (g.now() < 30 * kSec) {
    g.run_for(10 * kMs);
    if (g.members().size() == n) {
      done_at = g.now();
      break;
    }
  }
  const double cpu = cpu_seconds() - cpu0;
  ASSERT_EQ(g.members().size(), n) << "only " << g.members().size() << " welcomed";
  EXPECT_EQ(g.disagreeing(), 0u);
  EXPECT_EQ(g.root().member_count(), n);
  EXPECT_LE(done_at, 10 * kSec);  // RFC 2627's gaming profile: the whole group within 10 s
  std::printf("bulk join: %zu participants welcomed after %.2f s simulated, %.2f s CPU (Root and all "
              "participants, this build), %llu commits\n",
              n, static_cast<double>(done_at) / 1e9, cpu,
              static_cast<unsigned long long>(g.root().stats().commits));
  RecordProperty("setup_simulated_ms", std::to_string(done_at / kMs));
}

TEST(GroupSim, TenPercentChurnPerSecondUnderLossAndJitter) {
  const size_t n = env_or("NETKEY_SIM_MEMBERS", 1000);
  const size_t seconds = env_or("NETKEY_SIM_SECONDS", 60);
  const size_t per_tick = std::max<size_t>(1, n / 100);  // 10 ticks/s: 10 % joins + 10 % leaves per second
  SimGroupOptions o;
  o.subjects = n + per_tick * 10 * seconds + 10;
  o.charter.batch_window_ms = 100;
  o.link.delay_ns = 20 * kMs;
  o.link.jitter_ns = 200 * kMs;
  o.link.loss = 0.10;
  o.link.duplicate = 0.01;
  SimGroup g(std::move(o));
  DeterministicRng rng(77);
  for (size_t i = 1; i <= n; ++i) g.add_subject(i);
  g.run_for(15 * kSec);
  ASSERT_EQ(g.members().size(), n);
  size_t next_subject = n + 1;
  size_t quiet_checks = 0, joins = 0, leaves = 0;
  std::vector<uint32_t> live = g.members();
  std::vector<uint8_t> snapshot(200, 7);
  for (size_t tick = 0; tick < seconds * 10; ++tick) {
    // Churn: half the leavers say goodbye (signed leave), half just vanish.
    for (size_t k = 0; k < per_tick && !live.empty(); ++k) {
      size_t j = rng.uniform(live.size());
      uint32_t node = live[j];
      live[j] = live.back();
      live.pop_back();
      if (k % 2 == 0) {
        g.participant(node).leave(g.now());
        g.pump_node_transmits(node);
      } else {
        g.disconnect(node);
      }
      ++leaves;
    }
    for (size_t k = 0; k < per_tick; ++k) {
      live.push_back(g.add_subject(next_subject++));
      ++joins;
    }
    (void)g.root().broadcast(snapshot, g.now());
    g.pump_root_transmits();
    g.run_for(100 * kMs);
    // A quiet point every 10 s: churn pauses until nothing is in flight, then every
    // member holds exactly the Root's net key.
    if ((tick + 1) % 100 == 0) {
      ASSERT_TRUE(g.run_until_quiet(20 * kSec)) << "the group never went quiet";
      ++quiet_checks;
      EXPECT_EQ(g.disagreeing(), 0u) << "at quiet point " << quiet_checks << " (t=" << g.now() / kSec << " s)";
      EXPECT_GT(g.members().size(), n / 2);
      live = g.members();
    }
  }
  EXPECT_EQ(quiet_checks, seconds / 10);
  EXPECT_GT(g.root().stats().commits, seconds * 5);
  std::printf("churn: %zu joins and %zu leaves over %zu s (10 %%/s of %zu), loss 10 %%, jitter 200 ms; "
              "%llu commits, %llu resyncs, %zu members at the end, %zu quiet checks all agreeing\n",
              joins, leaves, seconds, n, static_cast<unsigned long long>(g.root().stats().commits),
              static_cast<unsigned long long>(g.root().stats().resyncs_sent), g.members().size(), quiet_checks);
}

}  // namespace
}  // namespace netkey::testing
