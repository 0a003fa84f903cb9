// netkey/sign.h: Ed25519 identities.
#ifndef NETKEY_SIGN_H_
#define NETKEY_SIGN_H_

#include <span>

#include "netkey/keys.h"
#include "netkey/random.h"
#include "netkey/status.h"

namespace netkey {

// An Ed25519 key pair. Non-copyable (it holds a secret); movable.
class SigningKey {
 public:
  static SigningKey generate(Rng& rng);
  // Deterministic: the RFC 8032 key pair for this seed.
  static SigningKey from_seed(const SigningSeed& seed);

  Ed25519Signature sign(std::span<const uint8_t> message) const;
  const Ed25519PublicKey& public_key() const { return public_; }
  KeyId key_id() const { return key_id_of(public_); }
  // The 32-byte seed, for storage (netkey-ca writes it with mode 0600).
  SigningSeed seed() const;

 private:
  SigningKey() = default;
  SigningSecret secret_;
  Ed25519PublicKey public_;
};

// Errors: kBadSignature when `signature` is not a valid signature of `message` by `key`
// (including non-canonical encodings and small-order keys, which libsodium rejects).
Status verify_signature(const Ed25519PublicKey& key, std::span<const uint8_t> message,
                        const Ed25519Signature& signature);

}  // namespace netkey

#endif  // NETKEY_SIGN_H_
