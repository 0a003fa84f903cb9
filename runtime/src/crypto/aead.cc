#include "netkey/aead.h"

#include <cstring>

#include "src/crypto/sodium.h"

namespace netkey {

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == SymmetricKey::kSize);
static_assert(crypto_aead_aes256gcm_KEYBYTES == SymmetricKey::kSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == SymmetricKey::kSize);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kAeadTagSize);
static_assert(crypto_aead_aes256gcm_ABYTES == kAeadTagSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kAeadTagSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kMaxNonceSize);

std::string_view aead_suite_name(AeadSuite suite) {
  switch (suite) {
    case AeadSuite::kChaCha20Poly1305: return "chacha20poly1305";
    case AeadSuite::kAes256Gcm: return "aes256gcm";
    case AeadSuite::kXChaCha20Poly1305: return "xchacha20poly1305";
  }
  return "unknown";
}

Result<AeadSuite> parse_aead_suite(std::string_view name) {
  for (AeadSuite s : {AeadSuite::kChaCha20Poly1305, AeadSuite::kAes256Gcm,
                      AeadSuite::kXChaCha20Poly1305}) {
    if (aead_suite_name(s) == name) return s;
  }
  return Status(Errc::kInvalidArgument,
                "unknown AEAD suite; use chacha20poly1305, aes256gcm or xchacha20poly1305");
}

bool aead_suite_available(AeadSuite suite) {
  detail::sodium_ready();
  switch (suite) {
    case AeadSuite::kChaCha20Poly1305:
    case AeadSuite::kXChaCha20Poly1305: return true;
    case AeadSuite::kAes256Gcm: return crypto_aead_aes256gcm_is_available() == 1;
  }
  return false;
}

Nonce::Nonce(size_t size) : size_(size) { NETKEY_CHECK(size == 12 || size == 24); }

Nonce Nonce::from_counter(size_t size, uint32_t domain, uint64_t counter) {
  Nonce n(size);
  for (size_t i = 0; i < 4; ++i) n.bytes_[i] = static_cast<uint8_t>(domain >> (8 * i));
  for (size_t i = 0; i < 8; ++i) n.bytes_[size - 8 + i] = static_cast<uint8_t>(counter >> (8 * i));
  return n;
}

Nonce Nonce::from_bytes(std::span<const uint8_t> bytes) {
  Nonce n(bytes.size());
  std::memcpy(n.bytes_.data(), bytes.data(), bytes.size());
  return n;
}

Result<Aead> Aead::create(AeadSuite suite) {
  detail::sodium_ready();
  switch (suite) {
    case AeadSuite::kChaCha20Poly1305:
    case AeadSuite::kXChaCha20Poly1305: return Aead(suite);
    case AeadSuite::kAes256Gcm:
      if (crypto_aead_aes256gcm_is_available() != 1) {
        return Status(Errc::kUnsupported,
                      "AES-256-GCM needs a CPU with AES-NI and PCLMUL, which this machine "
                      "lacks; choose chacha20poly1305");
      }
      return Aead(suite);
  }
  return Status(Errc::kInvalidArgument, "unknown AEAD suite value");
}

size_t Aead::nonce_size() const {
  return suite_ == AeadSuite::kXChaCha20Poly1305 ? 24 : 12;
}

void Aead::seal(const SymmetricKey& key, const Nonce& nonce, std::span<const uint8_t> ad,
                std::span<const uint8_t> plaintext, std::span<uint8_t> out) const {
  NETKEY_CHECK(out.size() == plaintext.size() + kAeadTagSize);
  NETKEY_CHECK(nonce.size() == nonce_size());
  unsigned long long clen = 0;
  switch (suite_) {
    case AeadSuite::kChaCha20Poly1305:
      crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &clen, plaintext.data(),
                                                plaintext.size(), ad.data(), ad.size(), nullptr,
                                                nonce.data(), key.data());
      break;
    case AeadSuite::kAes256Gcm:
      crypto_aead_aes256gcm_encrypt(out.data(), &clen, plaintext.data(), plaintext.size(),
                                    ad.data(), ad.size(), nullptr, nonce.data(), key.data());
      break;
    case AeadSuite::kXChaCha20Poly1305:
      crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &clen, plaintext.data(),
                                                 plaintext.size(), ad.data(), ad.size(), nullptr,
                                                 nonce.data(), key.data());
      break;
  }
}

Status Aead::open(const SymmetricKey& key, const Nonce& nonce, std::span<const uint8_t> ad,
                  std::span<const uint8_t> ciphertext, std::span<uint8_t> out) const {
  if (ciphertext.size() < kAeadTagSize) {
    return Status(Errc::kMalformed, "ciphertext shorter than the AEAD tag");
  }
  NETKEY_CHECK(out.size() == ciphertext.size() - kAeadTagSize);
  NETKEY_CHECK(nonce.size() == nonce_size());
  unsigned long long mlen = 0;
  int rc = -1;
  switch (suite_) {
    case AeadSuite::kChaCha20Poly1305:
      rc = crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &mlen, nullptr, ciphertext.data(),
                                                     ciphertext.size(), ad.data(), ad.size(),
                                                     nonce.data(), key.data());
      break;
    case AeadSuite::kAes256Gcm:
      rc = crypto_aead_aes256gcm_decrypt(out.data(), &mlen, nullptr, ciphertext.data(),
                                         ciphertext.size(), ad.data(), ad.size(), nonce.data(),
                                         key.data());
      break;
    case AeadSuite::kXChaCha20Poly1305:
      rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &mlen, nullptr,
                                                      ciphertext.data(), ciphertext.size(),
                                                      ad.data(), ad.size(), nonce.data(),
                                                      key.data());
      break;
  }
  if (rc != 0) return Status(Errc::kBadTag, "AEAD authentication failed");
  return Status::ok();
}

}  // namespace netkey
