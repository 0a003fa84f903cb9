// netkey/aead.h: the three AEAD suites behind one small interface.
//
//   kChaCha20Poly1305  ChaCha20-Poly1305-IETF (RFC 8439), 12-byte nonce. The portable default.
//   kAes256Gcm         AES-256-GCM, 12-byte nonce. Only where the CPU has AES-NI and PCLMUL
//                      (crypto_aead_aes256gcm_is_available()); Aead::create says so otherwise.
//   kXChaCha20Poly1305 XChaCha20-Poly1305-IETF, 24-byte nonce, safe with random nonces.
//
// All keys are 256-bit SymmetricKey; all tags are 16 bytes. The caller owns nonce
// uniqueness: every call site in netkey states in a comment why its (key, nonce) pair
// never repeats (docs/PROTOCOL.md collects them).
#ifndef NETKEY_AEAD_H_
#define NETKEY_AEAD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "netkey/keys.h"
#include "netkey/status.h"

namespace netkey {

enum class AeadSuite : uint8_t {
  kChaCha20Poly1305 = 1,
  kAes256Gcm = 2,
  kXChaCha20Poly1305 = 3,
};

inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kMaxNonceSize = 24;

// "chacha20poly1305", "aes256gcm", "xchacha20poly1305".
std::string_view aead_suite_name(AeadSuite suite);
// Parses the names above. Errors: kInvalidArgument for an unknown name.
Result<AeadSuite> parse_aead_suite(std::string_view name);
// True when this machine can run the suite (AES-256-GCM needs AES-NI + PCLMUL).
bool aead_suite_available(AeadSuite suite);

// A nonce of the suite's size (12 or 24 bytes). Public, copyable.
class Nonce {
 public:
  Nonce() = default;
  // Zero-filled nonce of `size` bytes (12 or 24; misuse otherwise).
  explicit Nonce(size_t size);
  // The suite-sized nonce whose first 4 bytes are `domain` and last 8 bytes are
  // `counter`, both little-endian; bytes between are zero. Distinct (domain, counter)
  // pairs give distinct nonces.
  static Nonce from_counter(size_t size, uint32_t domain, uint64_t counter);
  // Copies bytes; aborts (misuse) unless the size is 12 or 24.
  static Nonce from_bytes(std::span<const uint8_t> bytes);

  size_t size() const { return size_; }
  const uint8_t* data() const { return bytes_.data(); }
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }
  std::span<uint8_t> mutable_bytes() { return {bytes_.data(), size_}; }

 private:
  std::array<uint8_t, kMaxNonceSize> bytes_{};
  size_t size_ = 0;
};

class Aead {
 public:
  // Errors: kUnsupported when the suite cannot run here (AES-256-GCM without AES-NI);
  // the message says to choose chacha20poly1305 instead. kInvalidArgument for an
  // unknown suite value.
  static Result<Aead> create(AeadSuite suite);

  AeadSuite suite() const { return suite_; }
  size_t nonce_size() const;

  // Encrypts `plaintext` into `out` as ciphertext || 16-byte tag. `out.size()` must be
  // exactly plaintext.size() + kAeadTagSize, and nonce.size() == nonce_size()
  // (misuse otherwise). `out` may alias `plaintext` (in place). Cannot fail.
  void seal(const SymmetricKey& key, const Nonce& nonce, std::span<const uint8_t> ad,
            std::span<const uint8_t> plaintext, std::span<uint8_t> out) const;

  // Verifies and decrypts `ciphertext` (ciphertext || tag) into `out`, which must be
  // exactly ciphertext.size() - kAeadTagSize bytes. Errors: kMalformed when the
  // ciphertext is shorter than a tag; kBadTag when verification fails (nothing is
  // written to `out` that the caller may use). Never aborts on hostile bytes.
  Status open(const SymmetricKey& key, const Nonce& nonce, std::span<const uint8_t> ad,
              std::span<const uint8_t> ciphertext, std::span<uint8_t> out) const;

 private:
  explicit Aead(AeadSuite suite) : suite_(suite) {}
  AeadSuite suite_;
};

}  // namespace netkey

#endif  // NETKEY_AEAD_H_
