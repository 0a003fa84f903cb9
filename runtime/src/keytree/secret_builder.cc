#include "src/keytree/secret_builder.h"

#include <atomic>

#include "src/crypto/sodium.h"

namespace netkey::detail {
namespace {

std::atomic<FreedBufferSpy> g_spy{nullptr};

}  // namespace

uint8_t* WipingAllocator::allocate(size_t size) { return new uint8_t[size]; }

void WipingAllocator::deallocate(uint8_t* p, size_t size) {
  if (p == nullptr) return;
  sodium_memzero(p, size);
  if (FreedBufferSpy spy = g_spy.load(std::memory_order_relaxed)) spy(p, size);
  delete[] p;
}

uint8_t* WipingAllocator::reallocate_downward(uint8_t* old_p, size_t old_size, size_t new_size, size_t in_use_back,
                                              size_t in_use_front) {
  uint8_t* new_p = allocate(new_size);
  memcpy_downward(old_p, old_size, new_p, new_size, in_use_back, in_use_front);
  deallocate(old_p, old_size);  // wiped before it is freed
  return new_p;
}

WipingAllocator& wiping_allocator() {
  static WipingAllocator allocator;
  return allocator;
}

SecretBuilder::SecretBuilder(size_t initial_size) : flatbuffers::FlatBufferBuilder(initial_size, &wiping_allocator()) {}

void SecretBuilder::wipe_and_clear() {
  // capacity() is 0 exactly when no buffer is allocated yet.
  if (buf_.capacity() > 0) sodium_memzero(buf_.scratch_data(), buf_.capacity());
  Clear();
}

void set_freed_buffer_spy_for_testing(FreedBufferSpy spy) { g_spy.store(spy, std::memory_order_relaxed); }

}  // namespace netkey::detail
