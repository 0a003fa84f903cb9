#include "netkey/random.h"

#include "netkey/status.h"
#include "src/crypto/sodium.h"

namespace netkey {

uint64_t Rng::next_u64() {
  uint8_t b[8];
  fill(b);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

uint64_t Rng::uniform(uint64_t bound) {
  NETKEY_CHECK(bound > 0);
  // Rejection sampling: no modulo bias.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    uint64_t v = next_u64();
    if (v < limit) return v % bound;
  }
}

SymmetricKey Rng::symmetric_key() {
  SymmetricKey k;
  fill(k.mutable_bytes());
  return k;
}

void SystemRng::fill(std::span<uint8_t> out) {
  detail::sodium_ready();
  randombytes_buf(out.data(), out.size());
}

DeterministicRng::DeterministicRng(uint64_t seed) {
  detail::sodium_ready();
  auto bytes = key_.mutable_bytes();
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(seed >> (8 * i));
  bytes[8] = 0x6e;  // "nk": keeps seed 0 from being the all-zero key
  bytes[9] = 0x6b;
}

void DeterministicRng::fill(std::span<uint8_t> out) {
  // One ChaCha20 keystream per call under a fresh 64-bit nonce: no output repeats.
  uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {};
  for (size_t i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(block_ >> (8 * i));
  ++block_;
  crypto_stream_chacha20(out.data(), out.size(), nonce, key_.data());
}

}  // namespace netkey
