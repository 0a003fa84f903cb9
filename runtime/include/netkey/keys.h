// netkey/keys.h: secrets as types.
//
// Every secret is a fixed-size, non-copyable object. It is wiped with sodium_memzero on
// destruction and when moved from, and compared only in constant time (sodium_memcmp).
// Secrets never appear in logs, Status messages or exceptions: no type here can be
// printed. To duplicate a secret deliberately, call clone().
#ifndef NETKEY_KEYS_H_
#define NETKEY_KEYS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace netkey {

namespace detail {
void wipe(void* p, size_t n);                                  // sodium_memzero
bool ct_equal(const void* a, const void* b, size_t n);        // sodium_memcmp == 0
}  // namespace detail

// A secret of N bytes. Tag makes distinct key kinds distinct types, so that a wrapping
// key cannot be passed where a signing seed is expected.
template <size_t N, typename Tag>
class Secret {
 public:
  static constexpr size_t kSize = N;

  Secret() { detail::wipe(bytes_.data(), N); }  // all-zero; fill through mutable_bytes()
  ~Secret() { detail::wipe(bytes_.data(), N); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept : bytes_(other.bytes_) { detail::wipe(other.bytes_.data(), N); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      detail::wipe(other.bytes_.data(), N);
    }
    return *this;
  }

  // Copies exactly N bytes. Aborts (misuse) when in.size() != N.
  static Secret from_bytes(std::span<const uint8_t> in);

  Secret clone() const {
    Secret out;
    out.bytes_ = bytes_;
    return out;
  }

  std::span<const uint8_t, N> bytes() const { return std::span<const uint8_t, N>(bytes_); }
  std::span<uint8_t, N> mutable_bytes() { return std::span<uint8_t, N>(bytes_); }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }

  // Constant time.
  friend bool operator==(const Secret& a, const Secret& b) {
    return detail::ct_equal(a.bytes_.data(), b.bytes_.data(), N);
  }

 private:
  std::array<uint8_t, N> bytes_;
};

void secret_size_mismatch();  // aborts

template <size_t N, typename Tag>
Secret<N, Tag> Secret<N, Tag>::from_bytes(std::span<const uint8_t> in) {
  if (in.size() != N) secret_size_mismatch();
  Secret s;
  for (size_t i = 0; i < N; ++i) s.bytes_[i] = in[i];
  return s;
}

struct SymmetricKeyTag {};
struct SigningSeedTag {};
struct SigningSecretTag {};
struct X25519SecretTag {};

// A 256-bit key for AEAD, wrapping, or KDF input. Which of those it serves is fixed by
// the KDF context that produced it (netkey/kdf.h). One kind serves two on purpose: an
// internal tree node key wraps its parent's key and seeds nk-fwdky (the root's seeds
// nk-netky); docs/PROTOCOL.md "KDF contexts" lists every use.
using SymmetricKey = Secret<32, SymmetricKeyTag>;
// The 32-byte seed from which an Ed25519 key pair is derived (what netkey-ca stores).
using SigningSeed = Secret<32, SigningSeedTag>;
// libsodium's 64-byte Ed25519 secret key (seed || public key).
using SigningSecret = Secret<64, SigningSecretTag>;
// An X25519 private scalar; also used for the 32-byte raw shared secret.
using X25519Secret = Secret<32, X25519SecretTag>;

// Public values are plain copyable arrays with distinct types.
struct Ed25519PublicKey {
  std::array<uint8_t, 32> bytes{};
  friend bool operator==(const Ed25519PublicKey&, const Ed25519PublicKey&) = default;
};
struct Ed25519Signature {
  std::array<uint8_t, 64> bytes{};
  friend bool operator==(const Ed25519Signature&, const Ed25519Signature&) = default;
};
struct X25519PublicKey {
  std::array<uint8_t, 32> bytes{};
  friend bool operator==(const X25519PublicKey&, const X25519PublicKey&) = default;
};
// A key id: the first 16 bytes of BLAKE2b-256("netkey-key-id-v1" || public key).
struct KeyId {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const KeyId&, const KeyId&) = default;
};

KeyId key_id_of(const Ed25519PublicKey& pk);

}  // namespace netkey

#endif  // NETKEY_KEYS_H_
