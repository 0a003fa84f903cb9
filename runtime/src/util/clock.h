// Internal: the Unix-time formula. The runtime runs on a monotonic clock (now_ns) and
// checks certificates against Unix seconds = unix_time_at_zero + now_ns / 1e9.
#ifndef NETKEY_SRC_UTIL_CLOCK_H_
#define NETKEY_SRC_UTIL_CLOCK_H_

#include <cstdint>

namespace netkey::detail {

inline constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// Unix seconds at monotonic `now_ns`, given the Unix time at monotonic zero
// (RootConfig / ParticipantConfig::unix_time_at_zero).
constexpr uint64_t unix_seconds(uint64_t unix_time_at_zero, uint64_t now_ns) {
  return unix_time_at_zero + now_ns / kNanosPerSecond;
}

// The inverse: the unix_time_at_zero under which `now_ns` is Unix second `unix_now`.
constexpr uint64_t unix_zero_for(uint64_t unix_now, uint64_t now_ns) { return unix_now - now_ns / kNanosPerSecond; }

}  // namespace netkey::detail

#endif  // NETKEY_SRC_UTIL_CLOCK_H_
