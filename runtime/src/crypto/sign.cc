#include "netkey/sign.h"

#include <cstring>

#include "src/crypto/sodium.h"

namespace netkey {

static_assert(crypto_sign_SEEDBYTES == SigningSeed::kSize);
static_assert(crypto_sign_SECRETKEYBYTES == SigningSecret::kSize);
static_assert(crypto_sign_BYTES == 64);

SigningKey SigningKey::from_seed(const SigningSeed& seed) {
  detail::sodium_ready();
  SigningKey k;
  crypto_sign_seed_keypair(k.public_.bytes.data(), k.secret_.data(), seed.data());
  return k;
}

SigningKey SigningKey::generate(Rng& rng) {
  SigningSeed seed;
  rng.fill(seed.mutable_bytes());
  return from_seed(seed);
}

Ed25519Signature SigningKey::sign(std::span<const uint8_t> message) const {
  Ed25519Signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message.data(), message.size(),
                       secret_.data());
  return sig;
}

SigningSeed SigningKey::seed() const {
  SigningSeed s;
  crypto_sign_ed25519_sk_to_seed(s.data(), secret_.data());
  return s;
}

Status verify_signature(const Ed25519PublicKey& key, std::span<const uint8_t> message,
                        const Ed25519Signature& signature) {
  detail::sodium_ready();
  if (crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                  key.bytes.data()) != 0) {
    return Status(Errc::kBadSignature, "Ed25519 signature does not verify");
  }
  return Status::ok();
}

}  // namespace netkey
