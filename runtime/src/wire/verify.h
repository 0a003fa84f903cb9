// Internal: the one helper that reads untrusted FlatBuffers.
//
// Every control message from the network passes through verify_flatbuffer() before any
// field is read: a size cap first, then the FlatBuffers Verifier with tight depth and
// table limits, then (by the caller) a signature or AEAD check. Failures are typed:
// kTooLarge for the cap, kMalformed for everything the Verifier rejects.
#ifndef NETKEY_SRC_WIRE_VERIFY_H_
#define NETKEY_SRC_WIRE_VERIFY_H_

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <span>
#include <string>

#include "netkey/status.h"

namespace netkey::wire {

struct VerifyLimits {
  size_t max_bytes;          // hard cap on the buffer size
  uint32_t max_depth = 8;    // nesting depth of tables/vectors
  uint32_t max_tables = 64;  // table count
};

// Returns the verified root. `identifier` is the 4-byte file identifier, or nullptr for
// buffers without one. `what` names the message in error text ("certificate").
// The returned pointer points into `buf`; the caller keeps `buf` alive.
template <typename T>
Result<const T*> verify_flatbuffer(std::span<const uint8_t> buf, const char* identifier,
                                   const VerifyLimits& limits, const char* what) {
  if (buf.size() > limits.max_bytes) {
    return Status(Errc::kTooLarge, std::string(what) + " is " + std::to_string(buf.size()) +
                                       " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  if (buf.size() < 8) return Status(Errc::kMalformed, std::string(what) + " is truncated");
  if (reinterpret_cast<uintptr_t>(buf.data()) % 8 != 0) {
    // Scalars are read in place; an unaligned buffer must be copied first by the caller.
    return Status(Errc::kMalformed, std::string(what) + " buffer is not 8-byte aligned");
  }
  flatbuffers::Verifier verifier(buf.data(), buf.size(), limits.max_depth, limits.max_tables,
                                 /*check_alignment=*/true);
  if (!verifier.VerifyBuffer<T>(identifier)) {
    return Status(Errc::kMalformed, std::string(what) + " failed FlatBuffers verification");
  }
  return flatbuffers::GetRoot<T>(buf.data());
}

}  // namespace netkey::wire

#endif  // NETKEY_SRC_WIRE_VERIFY_H_
