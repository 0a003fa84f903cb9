// Internal: libsodium initialisation. Every entry point that may run first calls
// sodium_ready(); it is idempotent and cheap after the first call.
#ifndef NETKEY_SRC_CRYPTO_SODIUM_H_
#define NETKEY_SRC_CRYPTO_SODIUM_H_

#include <sodium.h>

namespace netkey::detail {
void sodium_ready();
}  // namespace netkey::detail

#endif  // NETKEY_SRC_CRYPTO_SODIUM_H_
