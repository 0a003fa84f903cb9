// The flat baseline behind GroupKeyScheme, side by side with LKH.
#include "netkey/flat_rekey.h"

#include <gtest/gtest.h>

#include <map>

namespace netkey {
namespace {

TEST(FlatScheme, EveryMemberOpensTheNewKeyAndARemovedMemberCannot) {
  DeterministicRng rng(31);
  FlatScheme flat(5);
  std::map<MemberId, SymmetricKey> leaf;
  Batch b;
  for (MemberId id = 0; id < 10; ++id) {
    SymmetricKey s = rng.symmetric_key();
    leaf.emplace(id, MemberDerivedKeys::from_secret(s).leaf);
    b.joins.push_back({id, std::move(s)});
  }
  ASSERT_TRUE(flat.commit_batch(std::move(b), rng).is_ok());
  Batch leave;
  leave.leaves = {4};
  auto c = flat.commit_batch(std::move(leave), rng);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->wrapped_keys, 9u);  // one per remaining member: O(n)
  for (const auto& [id, k] : leaf) {
    auto got = flat_open(flat.last_rekey(), id, k);
    if (id == 4) {
      EXPECT_EQ(got.code(), Errc::kUnknownKey);
      // Its old leaf key opens no other member's entry either.
      auto other = flat_open(flat.last_rekey(), 5, k);
      EXPECT_EQ(other.code(), Errc::kBadTag);
    } else {
      ASSERT_TRUE(got.is_ok()) << id;
      EXPECT_TRUE(*got == flat.net_key());
    }
  }
}

TEST(GroupKeyScheme, FlatCostsLinearLkhCostsLogarithmic) {
  DeterministicRng rng(32);
  FlatScheme flat(1);
  LkhScheme lkh(1, TreePolicy{});
  for (GroupKeyScheme* s : {static_cast<GroupKeyScheme*>(&flat), static_cast<GroupKeyScheme*>(&lkh)}) {
    Batch b;
    for (MemberId id = 0; id < 1024; ++id) b.joins.push_back({id, rng.symmetric_key()});
    ASSERT_TRUE(s->commit_batch(std::move(b), rng).is_ok());
  }
  Batch l1, l2;
  l1.leaves = {100};
  l2.leaves = {100};
  auto f = flat.commit_batch(std::move(l1), rng);
  auto t = lkh.commit_batch(std::move(l2), rng);
  ASSERT_TRUE(f.is_ok() && t.is_ok());
  EXPECT_EQ(f->wrapped_keys, 1023u);
  EXPECT_EQ(t->wrapped_keys, 19u);
  EXPECT_EQ(flat.epoch(), lkh.epoch());
  EXPECT_EQ(flat.member_count(), lkh.member_count());
}

TEST(FlatScheme, ValidatesLikeTheTree) {
  DeterministicRng rng(33);
  FlatScheme flat(1, 2);
  Batch b;
  b.leaves = {1};
  EXPECT_EQ(flat.commit_batch(std::move(b), rng).code(), Errc::kInvalidArgument);
  Batch big;
  for (MemberId id = 0; id < 3; ++id) big.joins.push_back({id, rng.symmetric_key()});
  EXPECT_EQ(flat.commit_batch(std::move(big), rng).code(), Errc::kInvalidArgument);
  EXPECT_EQ(flat.epoch(), 0u);
}

}  // namespace
}  // namespace netkey
