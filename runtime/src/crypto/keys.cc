#include "netkey/keys.h"

#include "netkey/kdf.h"
#include "netkey/status.h"
#include "src/crypto/sodium.h"

namespace netkey {
namespace detail {

void sodium_ready() {
  // sodium_init is thread-safe and returns 1 when already initialised.
  static const bool ok = sodium_init() >= 0;
  if (!ok) misuse("sodium_init failed", __FILE__, __LINE__);
}

void wipe(void* p, size_t n) { sodium_memzero(p, n); }

bool ct_equal(const void* a, const void* b, size_t n) { return sodium_memcmp(a, b, n) == 0; }

}  // namespace detail

void secret_size_mismatch() { misuse("Secret::from_bytes: wrong size", __FILE__, __LINE__); }

KeyId key_id_of(const Ed25519PublicKey& pk) {
  static constexpr char kLabel[] = "netkey-key-id-v1";
  auto h = hash256({std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kLabel),
                                             sizeof(kLabel) - 1),
                    pk.bytes});
  KeyId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = h[i];
  return id;
}

}  // namespace netkey
