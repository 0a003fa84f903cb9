// Internal: hex through libsodium (sodium_bin2hex, sodium_hex2bin), the one encoder and
// decoder for the runtime, its tools and its tests. The conformance client keeps its
// own on libsodium directly: it must not include runtime headers.
#ifndef NETKEY_SRC_UTIL_HEX_H_
#define NETKEY_SRC_UTIL_HEX_H_

#include <sodium.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netkey::detail {

// Lowercase hex of `bytes`. Public data only: the string is not wiped.
inline std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out(2 * bytes.size() + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // sodium_bin2hex's terminating NUL
  return out;
}

// Decodes exactly 2 * out.size() hex digits (either case) straight into `out`, so a
// secret lands only in the caller's (wiped) storage; libsodium's decoder runs in constant
// time. False on a wrong length or a non-hex digit.
inline bool hex_into(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != 2 * out.size()) return false;
  if (out.empty()) return true;  // sodium_hex2bin's output pointer must not be null
  size_t written = 0;
  const char* end = nullptr;
  return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) == 0 &&
         written == out.size() && end == hex.data() + hex.size();
}

// Decodes an even number of hex digits (either case) into *out. False (and *out empty)
// on an odd length or a non-hex digit.
inline bool from_hex(std::string_view hex, std::vector<uint8_t>* out) {
  out->clear();
  if (hex.size() % 2 != 0) return false;
  out->resize(hex.size() / 2);
  if (hex_into(hex, *out)) return true;
  out->clear();
  return false;
}

}  // namespace netkey::detail

#endif  // NETKEY_SRC_UTIL_HEX_H_
