// Internal: FlatBuffers building for messages that hold secret key bytes in the clear
// (the bodies of Slice, Welcome and Resync before they are sealed).
//
// A FlatBufferBuilder grows by allocating a bigger buffer, copying, and freeing the old
// one, and frees its last buffer when it is destroyed. With the default allocator every
// one of those freed buffers keeps the path keys it held. WipingAllocator wipes
// (sodium_memzero) every buffer before it is freed, and SecretBuilder wipes its live
// buffer when asked, so a builder reused across members holds no key between uses.
//
// FlatBuffers types stay here, in src/: public headers never name them.
#ifndef NETKEY_SRC_KEYTREE_SECRET_BUILDER_H_
#define NETKEY_SRC_KEYTREE_SECRET_BUILDER_H_

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>

namespace netkey::detail {

// Wipes every buffer before freeing it: on deallocate, and on reallocate_downward
// (allocate the new buffer, copy, wipe the old one, free it). Stateless: the one
// instance from wiping_allocator() serves every builder, from any thread.
class WipingAllocator final : public flatbuffers::Allocator {
 public:
  uint8_t* allocate(size_t size) override;
  void deallocate(uint8_t* p, size_t size) override;
  uint8_t* reallocate_downward(uint8_t* old_p, size_t old_size, size_t new_size, size_t in_use_back,
                               size_t in_use_front) override;
};

WipingAllocator& wiping_allocator();

// A FlatBufferBuilder on wiping_allocator(). Destroying it wipes its buffer.
class SecretBuilder : public flatbuffers::FlatBufferBuilder {
 public:
  explicit SecretBuilder(size_t initial_size);
  SecretBuilder(const SecretBuilder&) = delete;
  SecretBuilder& operator=(const SecretBuilder&) = delete;

  // Wipes the whole reserved buffer (the finished message and the scratch area), then
  // clears the builder. The allocation is kept for the next message.
  void wipe_and_clear();
};

// Tests only: a spy called with every buffer WipingAllocator frees, after the wipe and
// before the free (so the spy can check that it is all zeros). nullptr removes it.
// Not for concurrent use with builders on other threads.
using FreedBufferSpy = void (*)(const uint8_t* p, size_t size);
void set_freed_buffer_spy_for_testing(FreedBufferSpy spy);

}  // namespace netkey::detail

#endif  // NETKEY_SRC_KEYTREE_SECRET_BUILDER_H_
