// netkey/random.h: the injectable randomness source.
//
// Every part of the runtime that needs randomness takes a Rng&. Production code uses
// SystemRng (libsodium's randombytes, i.e. the OS CSPRNG). Tests use DeterministicRng,
// which is a ChaCha20 keystream from a fixed seed, so a seeded run is reproducible
// byte for byte. Neither is thread-safe; the core is single-threaded per group.
#ifndef NETKEY_RANDOM_H_
#define NETKEY_RANDOM_H_

#include <cstdint>
#include <span>

#include "netkey/keys.h"

namespace netkey {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<uint8_t> out) = 0;

  uint64_t next_u64();
  // Uniform in [0, bound). bound must be > 0 (misuse otherwise).
  uint64_t uniform(uint64_t bound);
  SymmetricKey symmetric_key();
};

class SystemRng final : public Rng {
 public:
  void fill(std::span<uint8_t> out) override;
};

// NOT for production: anyone who knows the seed knows every output.
class DeterministicRng final : public Rng {
 public:
  explicit DeterministicRng(uint64_t seed);
  void fill(std::span<uint8_t> out) override;

 private:
  SymmetricKey key_;
  uint64_t block_ = 0;  // nonce of the next ChaCha20 call; each fill uses a fresh one
};

}  // namespace netkey

#endif  // NETKEY_RANDOM_H_
