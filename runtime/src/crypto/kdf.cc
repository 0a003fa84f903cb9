#include "netkey/kdf.h"

#include "netkey/status.h"
#include "src/crypto/sodium.h"

namespace netkey {

static_assert(crypto_kdf_CONTEXTBYTES == 8);
static_assert(crypto_kdf_KEYBYTES == SymmetricKey::kSize);

SymmetricKey kdf_derive(const SymmetricKey& master, const KdfContext& context,
                        uint64_t subkey_id) {
  SymmetricKey out;
  crypto_kdf_derive_from_key(out.data(), SymmetricKey::kSize, subkey_id, context.data(),
                             master.data());
  return out;
}

SymmetricKey kdf_extract(std::span<const uint8_t> ikm, const KdfContext& context,
                         std::span<const uint8_t> info) {
  detail::sodium_ready();
  NETKEY_CHECK(ikm.size() >= crypto_generichash_KEYBYTES_MIN &&
               ikm.size() <= crypto_generichash_KEYBYTES_MAX);
  crypto_generichash_state st;
  crypto_generichash_init(&st, ikm.data(), ikm.size(), SymmetricKey::kSize);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(context.data()), 8);
  crypto_generichash_update(&st, info.data(), info.size());
  SymmetricKey out;
  crypto_generichash_final(&st, out.data(), SymmetricKey::kSize);
  sodium_memzero(&st, sizeof st);
  return out;
}

std::array<uint8_t, 32> hash256(std::initializer_list<std::span<const uint8_t>> parts) {
  detail::sodium_ready();
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  for (auto p : parts) crypto_generichash_update(&st, p.data(), p.size());
  std::array<uint8_t, 32> out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

}  // namespace netkey
