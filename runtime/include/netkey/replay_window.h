// netkey/replay_window.h: a sliding anti-replay window over 64-bit sequence numbers.
//
// Remembers the highest sequence accepted and which of the kSize sequences at or below
// it were seen. Anything older than the window is refused. Use it in two steps, as the
// traffic layer does: is_fresh() before decrypting, mark() only after the AEAD tag
// verifies, so a forged packet can never advance the window.
//
// All arithmetic is on plain uint64 (no modular comparison), so it stays correct up to
// UINT64_MAX; the traffic layer never lets a sequence wrap (see netkey/traffic.h).
#ifndef NETKEY_REPLAY_WINDOW_H_
#define NETKEY_REPLAY_WINDOW_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace netkey {

class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 256;

  // True when `seq` was not seen and is not older than the window.
  bool is_fresh(uint64_t seq) const {
    if (!any_ || seq > highest_) return true;
    const uint64_t back = highest_ - seq;
    return back < kSize && !test(back);
  }
  // Records `seq` as seen. Call only after is_fresh(seq) and a verified tag.
  void mark(uint64_t seq) {
    if (!any_) {
      any_ = true;
      highest_ = seq;
      bits_ = {};
      set(0);
      return;
    }
    if (seq > highest_) {
      shift(seq - highest_);
      highest_ = seq;
      set(0);
    } else {
      set(highest_ - seq);
    }
  }
  uint64_t highest() const { return highest_; }
  bool empty() const { return !any_; }

 private:
  static constexpr size_t kWords = kSize / 64;
  bool test(uint64_t back) const { return (bits_[back / 64] >> (back % 64)) & 1u; }
  void set(uint64_t back) { bits_[back / 64] |= uint64_t{1} << (back % 64); }
  // Moves every bit `by` places older; bits beyond the window fall off.
  void shift(uint64_t by) {
    if (by >= kSize) {
      bits_ = {};
      return;
    }
    const size_t words = static_cast<size_t>(by / 64), rest = static_cast<size_t>(by % 64);
    for (size_t i = kWords; i-- > 0;) {
      uint64_t v = 0;
      if (i >= words) {
        v = bits_[i - words] << rest;
        if (rest != 0 && i >= words + 1) v |= bits_[i - words - 1] >> (64 - rest);
      }
      bits_[i] = v;
    }
  }

  std::array<uint64_t, kWords> bits_{};  // bit b of the window = highest_ - b was seen
  uint64_t highest_ = 0;
  bool any_ = false;
};

}  // namespace netkey

#endif  // NETKEY_REPLAY_WINDOW_H_
