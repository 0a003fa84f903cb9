// KeyTree and BatchPlanner: structure, costs, balance, validation.
#include "netkey/keytree.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <map>

#include "netkey/batch_planner.h"
#include "netkey/random.h"

namespace netkey {
namespace {

Batch joins(MemberId first, size_t n, Rng& rng) {
  Batch b;
  for (size_t i = 0; i < n; ++i) b.joins.push_back({static_cast<MemberId>(first + i), rng.symmetric_key()});
  return b;
}

KeyTree full_tree(size_t n, uint8_t degree, Rng& rng, bool hf = false) {
  TreePolicy p;
  p.degree = degree;
  p.hash_forward_joins = hf;
  KeyTree t(42, p);
  EXPECT_TRUE(t.commit(joins(0, n, rng), rng).is_ok());
  return t;
}

TEST(KeyTree, BulkJoinBuildsABalancedTree) {
  DeterministicRng rng(1);
  for (int di : {2, 3, 4, 8, 16}) {
    const uint8_t d = static_cast<uint8_t>(di);
    for (size_t n : {1u, 2u, 5u, 64u, 1000u}) {
      KeyTree t = full_tree(n, d, rng);
      EXPECT_EQ(t.member_count(), n);
      EXPECT_EQ(t.epoch(), 1u);
      EXPECT_TRUE(t.has_net_key());
      EXPECT_LE(t.depth(), std::max(1u, ceil_log(d, n)) + 1) << "d=" << int{d} << " n=" << n;
      for (const auto& [id, leaf] : t.members()) {
        auto path = t.path_of(id);
        ASSERT_FALSE(path.empty());
        EXPECT_EQ(path.back().first, kRootNode);           // every path ends at the root
        EXPECT_EQ(path.front().first, (leaf - 1) / d);     // and starts at the leaf's parent
        EXPECT_LE(path.size(), t.depth());
      }
    }
  }
}

TEST(KeyTree, SingleLeaveAt1024Degree4CostsNineteenWrappedKeys) {
  DeterministicRng rng(2);
  KeyTree t = full_tree(1024, 4, rng);
  ASSERT_EQ(t.depth(), 5u);
  Batch b;
  b.leaves = {517};
  auto plan = t.commit(std::move(b), rng);
  ASSERT_TRUE(plan.is_ok());
  // (d-1) under the leaf's parent, then d at each of the 4 levels above.
  EXPECT_EQ(plan->wrapped_keys(), 19u);
  EXPECT_EQ(t.member_count(), 1023u);
  EXPECT_FALSE(t.contains(517));
}

TEST(KeyTree, JoinerTakesADepartedLeafsPlace) {
  DeterministicRng rng(3);
  KeyTree t = full_tree(16, 4, rng);
  NodeId where = *t.leaf_of(5);
  Batch b = joins(100, 1, rng);
  b.leaves = {5};
  auto plan = t.commit(std::move(b), rng);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(*t.leaf_of(100), where);
  EXPECT_TRUE(plan->moves.empty());
  EXPECT_EQ(plan->joined, std::vector<MemberId>{100});
}

TEST(KeyTree, EmptiedSubtreesArePruned) {
  DeterministicRng rng(4);
  KeyTree t = full_tree(16, 4, rng);  // root + 4 internal nodes of 4 leaves
  NodeId p = (*t.leaf_of(0) - 1) / 4;
  Batch b;
  for (const auto& [id, leaf] : t.members()) {
    if ((leaf - 1) / 4 == p) b.leaves.push_back(id);
  }
  ASSERT_EQ(b.leaves.size(), 4u);
  auto plan = t.commit(std::move(b), rng);
  ASSERT_TRUE(plan.is_ok());
  // Only the root changed: wrapped under its 3 remaining children.
  EXPECT_EQ(plan->wrapped_keys(), 3u);
  for (const WrappedKey& e : plan->entries) {
    EXPECT_EQ(e.node, kRootNode);
    EXPECT_NE(e.wrapper, p);
  }
}

TEST(KeyTree, ExtraJoinerSplitsTheShallowestLeafAndMovesItsMember) {
  DeterministicRng rng(5);
  KeyTree t = full_tree(4, 4, rng);  // root with 4 leaves: full
  NodeId old = *t.leaf_of(0);
  auto plan = t.commit(joins(10, 1, rng), rng);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_EQ(plan->moves.size(), 1u);
  EXPECT_EQ(plan->moves[0].from, old);
  EXPECT_EQ(plan->moves[0].to, old * 4 + 1);
  EXPECT_EQ(*t.leaf_of(10), old * 4 + 2);
  // New node wrapped under the moved member; root under its 4 children (one is new).
  EXPECT_EQ(plan->wrapped_keys(), 1u + 4u);
}

TEST(KeyTree, HashForwardJoinCostsNoWrappedKeys) {
  DeterministicRng rng(6);
  KeyTree t = full_tree(100, 4, rng, /*hf=*/true);
  auto plan = t.commit(joins(1000, 7, rng), rng);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->kind, RekeyKind::kHashForward);
  EXPECT_EQ(plan->wrapped_keys(), 0u);
  // A batch with a leave is never hash-forward.
  Batch b = joins(2000, 1, rng);
  b.leaves = {3};
  auto plan2 = t.commit(std::move(b), rng);
  ASSERT_TRUE(plan2.is_ok());
  EXPECT_EQ(plan2->kind, RekeyKind::kFull);
  EXPECT_GT(plan2->wrapped_keys(), 0u);
}

// How many pairs of internal nodes hold the same key (every node on every member's path).
size_t count_key_collisions(const KeyTree& t) {
  std::map<NodeId, const SymmetricKey*> keys;
  for (const auto& [id, leaf] : t.members()) {
    for (const auto& [node, key] : t.path_of(id)) keys.emplace(node, key);
  }
  size_t collisions = 0;
  for (auto a = keys.begin(); a != keys.end(); ++a) {
    for (auto b = std::next(a); b != keys.end(); ++b) {
      if (*a->second == *b->second) ++collisions;
    }
  }
  return collisions;
}

// Regression for security finding 1: one LKH+ batch that splits the same member's leaf
// twice gave both split nodes KDF(secret, "nk-split", epoch), so a node and its child
// shared a key. d^2 + 1 joiners into an empty tree split the first joiner's leaf twice.
TEST(KeyTree, HashForwardSplitsOfOneMemberGetDistinctKeys) {
  DeterministicRng rng(15);
  for (unsigned d : {2u, 3u, 4u, 8u, 16u}) {
    KeyTree t = full_tree(d * d + 1, static_cast<uint8_t>(d), rng, /*hf=*/true);
    ASSERT_EQ(t.epoch(), 1u);
    // The first joiner was split twice: node 1 and its first child are both its splits.
    ASSERT_NE(t.node_key(1), nullptr) << "d=" << d;
    ASSERT_NE(t.node_key(d + 1), nullptr) << "d=" << d;
    EXPECT_FALSE(*t.node_key(1) == *t.node_key(d + 1)) << "d=" << d;
    EXPECT_EQ(count_key_collisions(t), 0u) << "d=" << d;
  }
}

TEST(KeyTree, DepthStaysWithinOneOfLogUnderAnySequence) {
  // Random single and bulk joins and leaves, including mass departures that force a
  // rebuild; the bound is checked after every commit.
  size_t rebuilds = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    DeterministicRng rng(seed);
    uint8_t d = static_cast<uint8_t>(2 + rng.uniform(7));
    TreePolicy p;
    p.degree = d;
    p.hash_forward_joins = rng.uniform(2) == 1;
    KeyTree t(seed, p);
    MemberId next = 0;
    std::vector<MemberId> cur;
    for (int step = 0; step < 60; ++step) {
      Batch b;
      size_t kind = rng.uniform(4);
      size_t nj = kind == 0 ? rng.uniform(200) : rng.uniform(4);
      size_t nl = cur.empty() ? 0 : (kind == 1 ? rng.uniform(cur.size() + 1) : rng.uniform(std::min<size_t>(4, cur.size()) + 1));
      for (size_t i = 0; i < nl; ++i) {
        size_t j = rng.uniform(cur.size());
        b.leaves.push_back(cur[j]);
        cur[j] = cur.back();
        cur.pop_back();
      }
      for (size_t i = 0; i < nj; ++i) {
        b.joins.push_back({next, rng.symmetric_key()});
        cur.push_back(next++);
      }
      if (b.empty()) continue;
      auto plan = t.commit(std::move(b), rng);
      ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
      if (plan->rebuilt) ++rebuilds;
      ASSERT_EQ(t.member_count(), cur.size());
      if (!cur.empty()) {
        ASSERT_LE(t.depth(), std::max(1u, ceil_log(d, cur.size())) + 1)
            << "seed " << seed << " step " << step << " n=" << cur.size() << " d=" << int{d};
      }
    }
  }
  // The sequences must have exercised the rebuild path, or the bound was never at risk.
  EXPECT_GT(rebuilds, 0u);
}

TEST(KeyTree, MassDepartureTriggersACompactRebuild) {
  DeterministicRng rng(7);
  KeyTree t = full_tree(1024, 4, rng);
  // Leave 2 members under each depth-2 node: 32 members at depth 5 > ceil(log4 32)+1 = 4.
  std::map<NodeId, std::vector<MemberId>> by_grand;
  for (const auto& [id, leaf] : t.members()) {
    NodeId g = leaf;
    while (g > 20) g = (g - 1) / 4;
    by_grand[g].push_back(id);
  }
  Batch b;
  size_t keep = 0;
  for (auto& [g, ids] : by_grand) {
    std::sort(ids.begin(), ids.end());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i < 2) {
        ++keep;
      } else {
        b.leaves.push_back(ids[i]);
      }
    }
  }
  auto plan = t.commit(std::move(b), rng);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_TRUE(plan->rebuilt);
  EXPECT_EQ(t.member_count(), keep);
  EXPECT_LE(t.depth(), ceil_log(4, keep) + 1);
  EXPECT_FALSE(plan->moves.empty());
}

TEST(KeyTree, CommitValidatesAllOrNothing) {
  DeterministicRng rng(8);
  KeyTree t = full_tree(10, 4, rng);
  const uint64_t epoch = t.epoch();
  Batch empty;
  EXPECT_EQ(t.commit(std::move(empty), rng).code(), Errc::kInvalidArgument);
  Batch b1;
  b1.leaves = {3, 99};  // 99 is not a member
  EXPECT_EQ(t.commit(std::move(b1), rng).code(), Errc::kInvalidArgument);
  Batch b2 = joins(5, 1, rng);  // 5 is already a member
  EXPECT_EQ(t.commit(std::move(b2), rng).code(), Errc::kInvalidArgument);
  Batch b3;
  b3.leaves = {4, 4};
  EXPECT_EQ(t.commit(std::move(b3), rng).code(), Errc::kInvalidArgument);
  EXPECT_EQ(t.epoch(), epoch);
  EXPECT_EQ(t.member_count(), 10u);
  EXPECT_TRUE(t.contains(3));
  // A member may leave and rejoin (a reconnect) in one batch.
  Batch b4 = joins(3, 1, rng);
  b4.leaves = {3};
  EXPECT_TRUE(t.commit(std::move(b4), rng).is_ok());
  EXPECT_TRUE(t.contains(3));
}

TEST(KeyTree, MemberCapIsEnforced) {
  DeterministicRng rng(9);
  TreePolicy p;
  p.max_members = 8;
  KeyTree t(1, p);
  EXPECT_EQ(t.commit(joins(0, 9, rng), rng).code(), Errc::kInvalidArgument);
  EXPECT_TRUE(t.commit(joins(0, 8, rng), rng).is_ok());
}

TEST(KeyTree, AllLeaveThenRejoin) {
  DeterministicRng rng(10);
  KeyTree t = full_tree(5, 2, rng);
  Batch b;
  b.leaves = {0, 1, 2, 3, 4};
  ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
  EXPECT_EQ(t.member_count(), 0u);
  EXPECT_FALSE(t.has_net_key());
  ASSERT_TRUE(t.commit(joins(7, 3, rng), rng).is_ok());
  EXPECT_TRUE(t.has_net_key());
  EXPECT_EQ(t.member_count(), 3u);
}

TEST(KeyTree, NetKeyIsFreshEveryEpoch) {
  DeterministicRng rng(11);
  KeyTree t = full_tree(20, 4, rng);
  SymmetricKey k1 = t.net_key().clone();
  Batch b;
  b.leaves = {1};
  ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
  EXPECT_FALSE(t.net_key() == k1);
}

TEST(KeyTree, UnicastSequenceOnlyGrows) {
  DeterministicRng rng(12);
  KeyTree t = full_tree(3, 4, rng);
  EXPECT_EQ(t.next_unicast_seq(1), 1u);
  EXPECT_EQ(t.next_unicast_seq(1), 2u);
  EXPECT_EQ(t.next_unicast_seq(2), 1u);
}

// The expected wrapped-key count of a J = L batch with uniformly random departures in a
// full d-ary tree of height h (n = d^h): each internal node at depth k < h-1 is rekeyed
// with probability 1 - C(n - s, L)/C(n, L), s = d^(h-k) its leaves, and wraps under d
// children; the parents of leaves likewise, minus one entry per joiner (joiners are
// welcomed, not wrapped for).
double expected_wrapped(unsigned d, unsigned h, size_t L) {
  const double n = std::pow(d, h);
  double total = 0;
  for (unsigned k = 0; k < h; ++k) {
    const double nodes = std::pow(d, k), s = std::pow(d, h - k);
    double p_untouched = 1;
    for (size_t i = 0; i < L; ++i) p_untouched *= (n - s - static_cast<double>(i)) / (n - static_cast<double>(i));
    total += nodes * (1 - p_untouched) * d;
  }
  return total - static_cast<double>(L);
}

TEST(KeyTree, BatchCostMatchesTheMarkingAlgorithmExpectation) {
  // J = L = 64 at n = 4096, d = 4 (the benchmark's case): Monte-Carlo mean within 5 %.
  const double expected = expected_wrapped(4, 6, 64);
  double sum = 0;
  const int trials = 40;
  DeterministicRng rng(13);
  KeyTree t = full_tree(4096, 4, rng);
  MemberId next = 100000;
  std::vector<MemberId> cur;
  for (const auto& [id, leaf] : t.members()) cur.push_back(id);
  for (int trial = 0; trial < trials; ++trial) {
    Batch b = joins(next, 64, rng);
    for (int i = 0; i < 64; ++i) {
      size_t j = rng.uniform(cur.size());
      b.leaves.push_back(cur[j]);
      cur[j] = cur.back();
      cur.pop_back();
    }
    for (size_t i = 0; i < 64; ++i) cur.push_back(next + static_cast<MemberId>(i));
    next += 64;
    auto plan = t.commit(std::move(b), rng);
    ASSERT_TRUE(plan.is_ok());
    sum += static_cast<double>(plan->wrapped_keys());
  }
  const double mean = sum / trials;
  EXPECT_NEAR(mean, expected, 0.05 * expected) << "mean " << mean << " expected " << expected;
  RecordProperty("mean_wrapped", std::to_string(mean));
  RecordProperty("expected_wrapped", std::to_string(expected));
  std::printf("J=L=64, n=4096, d=4: mean %.1f wrapped keys, expected %.1f\n", mean, expected);
}

TEST(BatchPlanner, CollectsAndValidates) {
  DeterministicRng rng(14);
  KeyTree t = full_tree(4, 4, rng);
  BatchPlanner p(t);
  EXPECT_TRUE(p.join({10, rng.symmetric_key()}).is_ok());
  EXPECT_EQ(p.join({10, rng.symmetric_key()}).code(), Errc::kInvalidArgument);  // pending
  EXPECT_EQ(p.join({2, rng.symmetric_key()}).code(), Errc::kInvalidArgument);   // member
  EXPECT_EQ(p.leave(99).code(), Errc::kInvalidArgument);                        // stranger
  EXPECT_TRUE(p.leave(2).is_ok());
  EXPECT_EQ(p.leave(2).code(), Errc::kInvalidArgument);                         // twice
  EXPECT_TRUE(p.join({2, rng.symmetric_key()}).is_ok());                         // rejoin
  std::vector<JoinRequest> bulk;
  bulk.push_back({20, rng.symmetric_key()});
  bulk.push_back({1, rng.symmetric_key()});  // a member: the whole bulk is refused
  EXPECT_EQ(p.join_bulk(std::move(bulk)).code(), Errc::kInvalidArgument);
  EXPECT_FALSE(p.is_pending_join(20));
  std::vector<MemberId> lb = {0, 77};
  EXPECT_EQ(p.leave_bulk(lb).code(), Errc::kInvalidArgument);
  EXPECT_EQ(p.pending_leaves(), 1u);
  EXPECT_TRUE(p.leave(10).is_ok());  // cancels the pending join of 10
  EXPECT_FALSE(p.is_pending_join(10));
  Batch b = p.take();
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(b.joins.size(), 1u);
  EXPECT_EQ(b.joins[0].id, 2u);
  EXPECT_EQ(b.leaves, std::vector<MemberId>{2});
  EXPECT_TRUE(t.commit(std::move(b), rng).is_ok());
}

}  // namespace
}  // namespace netkey
