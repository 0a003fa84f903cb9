#include "netkey/x25519.h"

#include "src/crypto/sodium.h"

namespace netkey {

static_assert(crypto_scalarmult_curve25519_BYTES == 32);
static_assert(crypto_scalarmult_curve25519_SCALARBYTES == X25519Secret::kSize);

X25519KeyPair X25519KeyPair::from_secret(X25519Secret secret) {
  detail::sodium_ready();
  X25519KeyPair kp;
  kp.secret_ = std::move(secret);
  crypto_scalarmult_curve25519_base(kp.public_.bytes.data(), kp.secret_.data());
  return kp;
}

X25519KeyPair X25519KeyPair::generate(Rng& rng) {
  X25519Secret s;
  rng.fill(s.mutable_bytes());
  return from_secret(std::move(s));
}

Result<X25519Secret> X25519KeyPair::agree(const X25519PublicKey& peer) const {
  X25519Secret shared;
  // libsodium returns -1 when the output is all zero (small-order peer point).
  if (crypto_scalarmult_curve25519(shared.data(), secret_.data(), peer.bytes.data()) != 0) {
    return Status(Errc::kWeakKey, "peer X25519 key has small order");
  }
  return shared;
}

}  // namespace netkey
