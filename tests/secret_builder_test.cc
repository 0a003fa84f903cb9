// WipingAllocator and SecretBuilder: no buffer that held path keys in the clear is freed
// unwiped, whether a builder grows, is destroyed, or is reused (secret_builder.h).
//
// Regression: the Slice encoder's reused FlatBufferBuilder, and the Welcome and Resync
// encoders' builders, used FlatBuffers' default allocator, which frees a buffer
// without wiping it when the builder grows or goes away; the path keys stayed in freed
// heap memory. The spy sees every buffer the wiping allocator frees, after the wipe:
// each must be all zeros, and each test requires that buffers were seen at all (with
// the default allocator the spy sees none, and the tests fail).
#include "src/keytree/secret_builder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "netkey/keytree.h"
#include "netkey/random.h"
#include "netkey/rekey_codec.h"

namespace netkey {
namespace {

using detail::SecretBuilder;
using detail::WipingAllocator;

struct Freed {
  size_t size;
  bool zero;
};
std::vector<Freed> g_freed;

void spy(const uint8_t* p, size_t size) {
  g_freed.push_back({size, std::all_of(p, p + size, [](uint8_t b) { return b == 0; })});
}

class SecretBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_freed.clear();
    detail::set_freed_buffer_spy_for_testing(&spy);
  }
  void TearDown() override { detail::set_freed_buffer_spy_for_testing(nullptr); }
  static size_t unwiped() {
    return static_cast<size_t>(std::count_if(g_freed.begin(), g_freed.end(), [](const Freed& f) { return !f.zero; }));
  }
};

TEST_F(SecretBuilderTest, DeallocateWipesBeforeFreeing) {
  WipingAllocator& a = detail::wiping_allocator();
  uint8_t* p = a.allocate(64);
  std::memset(p, 0xab, 64);
  a.deallocate(p, 64);
  ASSERT_EQ(g_freed.size(), 1u);
  EXPECT_EQ(g_freed[0].size, 64u);
  EXPECT_TRUE(g_freed[0].zero);
}

TEST_F(SecretBuilderTest, ReallocateCopiesWhatIsInUseAndWipesTheOldBuffer) {
  WipingAllocator& a = detail::wiping_allocator();
  uint8_t* old_p = a.allocate(32);
  std::memset(old_p, 0x11, 8);        // in use at the front (scratch)
  std::memset(old_p + 8, 0x77, 8);    // not in use
  std::memset(old_p + 16, 0x22, 16);  // in use at the back (the message so far)
  uint8_t* new_p = a.reallocate_downward(old_p, 32, 64, 16, 8);
  ASSERT_EQ(g_freed.size(), 1u);
  EXPECT_EQ(g_freed[0].size, 32u);
  EXPECT_TRUE(g_freed[0].zero);
  EXPECT_TRUE(std::all_of(new_p, new_p + 8, [](uint8_t b) { return b == 0x11; }));
  EXPECT_TRUE(std::all_of(new_p + 48, new_p + 64, [](uint8_t b) { return b == 0x22; }));
  a.deallocate(new_p, 64);
  EXPECT_EQ(g_freed.size(), 2u);
  EXPECT_EQ(unwiped(), 0u);
}

TEST_F(SecretBuilderTest, GrowingAndDestroyingABuilderFreesOnlyWipedBuffers) {
  {
    SecretBuilder b(64);
    std::vector<uint8_t> secret(256, 0xcd);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> last;
    for (int i = 0; i < 16; ++i) last = b.CreateVector(secret);  // grows several times
    b.Finish(last);
    EXPECT_GE(g_freed.size(), 3u);  // every growth freed the old buffer
  }
  EXPECT_GE(g_freed.size(), 4u);  // and destruction the last one
  EXPECT_EQ(unwiped(), 0u);
}

TEST_F(SecretBuilderTest, WipeAndClearZeroesTheKeptBufferForReuse) {
  SecretBuilder b(256);
  std::vector<uint8_t> secret(100, 0xcd);
  b.Finish(b.CreateVector(secret));
  const uint8_t* data = b.GetBufferPointer();
  const size_t size = b.GetSize();
  ASSERT_TRUE(std::any_of(data, data + size, [](uint8_t x) { return x == 0xcd; }));
  b.wipe_and_clear();
  // The allocation is kept (nothing freed), so its bytes can still be read: all zero.
  EXPECT_TRUE(g_freed.empty());
  EXPECT_TRUE(std::all_of(data, data + size, [](uint8_t x) { return x == 0; }));
  EXPECT_EQ(b.GetSize(), 0u);
  b.Finish(b.CreateVector(secret));  // and it is reusable
  EXPECT_EQ(b.GetSize(), size);
}

KeyTree tree_with(size_t n, Rng& rng) {
  KeyTree t(7, TreePolicy{});
  Batch b;
  for (MemberId id = 1; id <= n; ++id) b.joins.push_back({id, rng.symmetric_key()});
  EXPECT_TRUE(t.commit(std::move(b), rng).is_ok());
  return t;
}

TEST_F(SecretBuilderTest, TheEncodersOfPathKeysFreeOnlyWipedBuffers) {
  DeterministicRng rng(9);
  KeyTree tree = tree_with(40, rng);

  ASSERT_TRUE(encode_welcome(tree, 3).is_ok());
  ASSERT_TRUE(encode_resync(tree, 4).is_ok());
  EXPECT_GE(g_freed.size(), 2u);  // one builder each
  EXPECT_EQ(unwiped(), 0u);

  g_freed.clear();
  Batch leave;
  leave.leaves = {5};
  auto plan = tree.commit(std::move(leave), rng);
  ASSERT_TRUE(plan.is_ok());
  {
    SliceEncoder slicer(*plan);
    for (MemberId id = 1; id <= 40; ++id) {
      if (id == 5) continue;
      ASSERT_TRUE(slicer.encode(tree, id).is_ok()) << id;
    }
  }
  EXPECT_GE(g_freed.size(), 1u);  // the reused body builder, when the encoder went
  EXPECT_EQ(unwiped(), 0u);
}

}  // namespace
}  // namespace netkey
