// netkey/x25519.h: X25519 key agreement (RFC 7748).
#ifndef NETKEY_X25519_H_
#define NETKEY_X25519_H_

#include "netkey/keys.h"
#include "netkey/random.h"
#include "netkey/status.h"

namespace netkey {

class X25519KeyPair {
 public:
  static X25519KeyPair generate(Rng& rng);
  // The key pair of a given private scalar (clamped as RFC 7748 says).
  static X25519KeyPair from_secret(X25519Secret secret);

  const X25519PublicKey& public_key() const { return public_; }

  // The raw 32-byte shared secret. Never use it as a key directly: pass it through
  // kdf_extract with the transcript. Errors: kWeakKey when the peer's point has small
  // order and the result is all zero (a hostile peer).
  Result<X25519Secret> agree(const X25519PublicKey& peer) const;

 private:
  X25519KeyPair() = default;
  X25519Secret secret_;
  X25519PublicKey public_;
};

}  // namespace netkey

#endif  // NETKEY_X25519_H_
