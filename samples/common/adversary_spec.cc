#include "common/adversary_spec.h"

#include <sodium.h>

#include <cstring>

namespace netkey::demo::spec {
namespace {

void put_le(uint8_t* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

SymmetricKey kdf(const SymmetricKey& key, const char (&context)[9], uint64_t id) {
  SymmetricKey out;
  crypto_kdf_derive_from_key(out.data(), SymmetricKey::kSize, id, context, key.data());
  return out;
}

SymmetricKey extract(const SymmetricKey& ikm, const char (&context)[9], std::span<const uint8_t> info) {
  SymmetricKey out;
  crypto_generichash_state st;
  crypto_generichash_init(&st, ikm.data(), SymmetricKey::kSize, SymmetricKey::kSize);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(context), 8);
  crypto_generichash_update(&st, info.data(), info.size());
  crypto_generichash_final(&st, out.data(), SymmetricKey::kSize);
  sodium_memzero(&st, sizeof st);
  return out;
}

SymmetricKey split_key(const SymmetricKey& secret, uint64_t epoch, uint32_t node) {
  uint8_t info[12];
  put_le(info, epoch, 8);
  put_le(info + 8, node, 4);
  return extract(secret, "nk-split", info);
}

SymmetricKey private_key(const SymmetricKey& member_secret, uint64_t epoch, uint8_t direction) {
  const SymmetricKey base = kdf(member_secret, "nk-privb", 0);
  uint8_t info[9];
  put_le(info, epoch, 8);
  info[8] = direction;
  return extract(base, "nk-privk", info);
}

SymmetricKey split_key_unbound(const SymmetricKey& secret, uint64_t epoch) { return kdf(secret, "nk-split", epoch); }

std::optional<SymmetricKey> unwrap(const Wrapped& w, const SymmetricKey& key, uint64_t group_id, uint64_t epoch) {
  uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  put_le(nonce, w.node, 4);
  put_le(nonce + 4, epoch, 8);
  uint8_t ad[24];
  put_le(ad, group_id, 8);
  put_le(ad + 8, epoch, 8);
  put_le(ad + 16, w.node, 4);
  put_le(ad + 20, w.wrapper, 4);
  SymmetricKey out;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out.data(), nullptr, w.ciphertext.data(), SymmetricKey::kSize,
                                                         w.ciphertext.data() + SymmetricKey::kSize, ad, sizeof ad,
                                                         nonce, key.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

bool open_sealed(const SealedHeader& h, std::span<const uint8_t> ciphertext, const SymmetricKey& unicast,
                 std::vector<uint8_t>& plaintext) {
  if (ciphertext.size() < crypto_aead_chacha20poly1305_ietf_ABYTES) return false;
  uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  put_le(nonce, h.kind, 4);
  put_le(nonce + 4, h.seq, 8);
  uint8_t ad[29];
  put_le(ad, h.group_id, 8);
  put_le(ad + 8, h.epoch, 8);
  put_le(ad + 16, h.member, 4);
  put_le(ad + 20, h.seq, 8);
  ad[28] = h.kind;
  const size_t n = ciphertext.size() - crypto_aead_chacha20poly1305_ietf_ABYTES;
  plaintext.resize(n);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(plaintext.data(), nullptr, ciphertext.data(), n,
                                                         ciphertext.data() + n, ad, sizeof ad, nonce,
                                                         unicast.data()) != 0) {
    sodium_memzero(plaintext.data(), plaintext.size());
    return false;
  }
  return true;
}

bool open_traffic(AeadSuite suite, uint64_t group_id, std::span<const uint8_t> packet, const SymmetricKey& sender_key,
                  std::vector<uint8_t>& scratch) {
  constexpr size_t kHeader = 8, kTag = 16, kSignature = 64;
  if (packet.size() < kHeader + kTag) return false;
  const size_t sealed_end = (packet[0] & 0x0f) == 3 ? packet.size() - kSignature : packet.size();
  if (sealed_end < kHeader + kTag || sealed_end > packet.size()) return false;
  const size_t n = sealed_end - kHeader - kTag;
  uint32_t seq = 0;
  for (int i = 3; i >= 0; --i) seq = seq << 8 | packet[static_cast<size_t>(4 + i)];
  uint8_t ad[16];
  std::memcpy(ad, packet.data(), kHeader);
  put_le(ad + 8, group_id, 8);
  uint8_t nonce[24] = {};  // le32("traf") || zeros || le64(seq), at the suite's nonce size
  const size_t nonce_size = suite == AeadSuite::kXChaCha20Poly1305 ? 24 : 12;
  put_le(nonce, 0x66617274, 4);
  put_le(nonce + nonce_size - 8, seq, 8);
  scratch.resize(n);
  const uint8_t* c = packet.data() + kHeader;
  const uint8_t* tag = c + n;
  switch (suite) {
    case AeadSuite::kChaCha20Poly1305:
      return crypto_aead_chacha20poly1305_ietf_decrypt_detached(scratch.data(), nullptr, c, n, tag, ad, sizeof ad,
                                                                nonce, sender_key.data()) == 0;
    case AeadSuite::kXChaCha20Poly1305:
      return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(scratch.data(), nullptr, c, n, tag, ad, sizeof ad,
                                                                 nonce, sender_key.data()) == 0;
    case AeadSuite::kAes256Gcm:
      return crypto_aead_aes256gcm_is_available() &&
             crypto_aead_aes256gcm_decrypt_detached(scratch.data(), nullptr, c, n, tag, ad, sizeof ad, nonce,
                                                    sender_key.data()) == 0;
  }
  return false;
}

}  // namespace netkey::demo::spec
