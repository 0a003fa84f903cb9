// The spec client's cryptography: docs/PROTOCOL.md "Primitives", "Key tree", "Sealed",
// "Traffic", "Group id" and "Control plane", step by step with libsodium.
#include <sodium.h>

#include <cstdlib>
#include <stdexcept>

#include "conformance/spec_client.h"

namespace spec {

Bytes le(uint64_t value, int size) {
  Bytes out(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes text0(const std::string& s) { return text(s) + Bytes{0}; }

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes blake2b256(const Bytes& message, const Bytes& key) {
  Bytes out(32);
  crypto_generichash(out.data(), 32, message.data(), message.size(), key.empty() ? nullptr : key.data(), key.size());
  return out;
}

Bytes kdf(const Bytes& key, const std::string& context, uint64_t id) {
  if (context.size() != 8 || key.size() != 32) throw std::invalid_argument("kdf: context of 8, key of 32");
  // PROTOCOL.md's definition for implementations without crypto_kdf: BLAKE2b-256 keyed
  // with the master key, no message, salt = le64(id) || 0^8, personal = context || 0^8.
  Bytes salt = le(id, 8), personal = text(context);
  salt.resize(16, 0);
  personal.resize(16, 0);
  Bytes out(32);
  crypto_generichash_blake2b_salt_personal(out.data(), 32, nullptr, 0, key.data(), 32, salt.data(), personal.data());
  return out;
}

Bytes extract(const Bytes& ikm, const std::string& context, const Bytes& info) {
  return blake2b256(text(context) + info, ikm);
}

Bytes key_id(const Bytes& pk) {
  Bytes h = blake2b256(text("netkey-key-id-v1") + pk);
  return Bytes(h.begin(), h.begin() + 16);
}

Bytes ed25519_public(const Bytes& seed) {
  Bytes pk(32), sk(64);
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  return pk;
}

Bytes ed25519_sign(const Bytes& seed, const Bytes& message) {
  Bytes pk(32), sk(64), sig(64);
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
  return sig;
}

bool ed25519_verify(const Bytes& pk, const Bytes& message, const Bytes& sig) {
  return pk.size() == 32 && sig.size() == 64 &&
         crypto_sign_verify_detached(sig.data(), message.data(), message.size(), pk.data()) == 0;
}

Bytes x25519_public(const Bytes& secret) {
  Bytes out(32);
  crypto_scalarmult_base(out.data(), secret.data());
  return out;
}

Bytes x25519(const Bytes& secret, const Bytes& peer) {
  Bytes out(32);
  if (crypto_scalarmult(out.data(), secret.data(), peer.data()) != 0) return {};  // all-zero: refused
  return out;
}

size_t nonce_size(Suite s) { return s == kXChaCha ? 24 : 12; }

Bytes aead_seal(Suite s, const Bytes& key, const Bytes& nonce, const Bytes& ad, const Bytes& plain) {
  Bytes out(plain.size() + 16);
  unsigned long long n = 0;
  int rc = -1;
  if (s == kChaCha) {
    rc = crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &n, plain.data(), plain.size(), ad.data(), ad.size(),
                                                   nullptr, nonce.data(), key.data());
  } else if (s == kXChaCha) {
    rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &n, plain.data(), plain.size(), ad.data(), ad.size(),
                                                    nullptr, nonce.data(), key.data());
  } else if (crypto_aead_aes256gcm_is_available()) {
    rc = crypto_aead_aes256gcm_encrypt(out.data(), &n, plain.data(), plain.size(), ad.data(), ad.size(), nullptr,
                                       nonce.data(), key.data());
  }
  if (rc != 0) throw std::runtime_error("aead_seal: suite unavailable");
  return out;
}

std::optional<Bytes> aead_open(Suite s, const Bytes& key, const Bytes& nonce, const Bytes& ad, const Bytes& sealed) {
  if (sealed.size() < 16) return std::nullopt;
  Bytes out(sealed.size() - 16);
  unsigned long long n = 0;
  int rc = -1;
  if (s == kChaCha) {
    rc = crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, sealed.data(), sealed.size(), ad.data(),
                                                   ad.size(), nonce.data(), key.data());
  } else if (s == kXChaCha) {
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, sealed.data(), sealed.size(), ad.data(),
                                                    ad.size(), nonce.data(), key.data());
  } else if (crypto_aead_aes256gcm_is_available()) {
    rc = crypto_aead_aes256gcm_decrypt(out.data(), &n, nullptr, sealed.data(), sealed.size(), ad.data(), ad.size(),
                                       nonce.data(), key.data());
  }
  if (rc != 0) return std::nullopt;
  return out;
}

Bytes charter_hash(const Bytes& charter) { return blake2b256(text("netkey-charter-hash-v1") + charter); }

uint64_t group_id(uint64_t session, const Bytes& boot_nonce) {
  const Bytes h = blake2b256(text("netkey-group-v1") + le(session, 8) + boot_nonce);
  uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = id << 8 | h[static_cast<size_t>(i)];
  return id;
}

Bytes cookie(const Bytes& secret, const std::string& address, uint64_t ms) {
  return le(ms, 8) + blake2b256(text("netkey-cookie-v1") + text(address) + le(ms, 8), secret);
}

Bytes init_message(const Bytes& cookie, uint64_t session, const Bytes& charter_hash, const Bytes& peph) {
  return text0("netkey-hs-init") + cookie + le(session, 8) + charter_hash + peph;
}

Bytes transcript(uint64_t session, uint32_t member_id, const Bytes& charter_hash, const Bytes& pcert,
                 const Bytes& peph, const Bytes& rcert, const Bytes& reph, const Bytes& boot_nonce) {
  return blake2b256(text("netkey-hs-v2") + le(session, 8) + le(member_id, 4) + charter_hash + le(pcert.size(), 4) +
                    pcert + peph + le(rcert.size(), 4) + rcert + reph + boot_nonce);
}

Bytes member_secret(const Bytes& shared, const Bytes& t) { return extract(shared, "nk-hands", t); }
Bytes leaf_key(const Bytes& ms) { return kdf(ms, "nk-leafw", 0); }
Bytes unicast_key(const Bytes& ms) { return kdf(ms, "nk-unica", 0); }
Bytes control_key(const Bytes& ms) { return kdf(ms, "nk-contr", 0); }
uint32_t connect_tag(const Bytes& ms) {
  const Bytes k = kdf(ms, "nk-conid", 0);
  const uint32_t t = static_cast<uint32_t>(k[0]) | static_cast<uint32_t>(k[1]) << 8 |
                     static_cast<uint32_t>(k[2]) << 16 | static_cast<uint32_t>(k[3]) << 24;
  return t == 0 ? 1 : t;
}
Bytes net_key(const Bytes& root_key, uint64_t epoch) { return kdf(root_key, "nk-netky", epoch); }
Bytes traffic_key(const Bytes& net, uint16_t sender) { return kdf(net, "nk-trafk", sender); }

Bytes wrap(const Bytes& key, const Bytes& wrapping_key, uint64_t group, uint64_t epoch, uint32_t node,
           uint32_t wrapper) {
  return aead_seal(kChaCha, wrapping_key, le(node, 4) + le(epoch, 8),
                   le(group, 8) + le(epoch, 8) + le(node, 4) + le(wrapper, 4), key);
}

std::optional<Bytes> unwrap(const Bytes& ct, const Bytes& wrapping_key, uint64_t group, uint64_t epoch, uint32_t node,
                            uint32_t wrapper) {
  return aead_open(kChaCha, wrapping_key, le(node, 4) + le(epoch, 8),
                   le(group, 8) + le(epoch, 8) + le(node, 4) + le(wrapper, 4), ct);
}

Bytes sealed_nonce(uint8_t kind, uint64_t seq) { return le(kind, 4) + le(seq, 8); }

Bytes sealed_ad(uint64_t group, uint64_t epoch, uint32_t member, uint64_t seq, uint8_t kind) {
  return le(group, 8) + le(epoch, 8) + le(member, 4) + le(seq, 8) + Bytes{kind};
}

Bytes control_nonce(uint8_t direction, uint64_t seq) { return le(direction, 4) + le(seq, 8); }

Bytes control_ad(uint64_t group, uint32_t member, uint8_t direction, uint64_t seq) {
  return text("netkey-ctl-v1") + le(group, 8) + le(member, 4) + Bytes{direction} + le(seq, 8);
}

Bytes traffic_nonce(Suite s, uint32_t seq) {
  Bytes n = le(0x66617274, 4);  // "traf"
  n.resize(nonce_size(s) - 8, 0);
  return n + le(seq, 8);
}

Bytes traffic_packet(Suite s, uint64_t group, uint64_t epoch, const Bytes& net, uint8_t type, uint16_t sender,
                     uint32_t seq, const Bytes& payload, const Bytes& root_seed) {
  const Bytes header = Bytes{static_cast<uint8_t>(0x10 | type), static_cast<uint8_t>(epoch & 0xff)} + le(sender, 2) +
                       le(seq, 4);
  Bytes packet = header + aead_seal(s, traffic_key(net, sender), traffic_nonce(s, seq), header + le(group, 8), payload);
  if (type == 3) packet = packet + ed25519_sign(root_seed, text0("netkey-bcast-v1") + le(group, 8) + packet);
  return packet;
}

std::optional<Bytes> traffic_open(Suite s, uint64_t group, const Bytes& net, const Bytes& packet,
                                  const Bytes& root_public) {
  if (packet.size() < 24) return std::nullopt;
  const uint8_t type = packet[0] & 0x0f;
  if ((packet[0] >> 4) != 1 || type < 1 || type > 3) return std::nullopt;
  size_t sealed_end = packet.size();
  if (type == 3) {
    if (packet.size() < 88) return std::nullopt;
    sealed_end -= 64;
    const Bytes signed_part = text0("netkey-bcast-v1") + le(group, 8) +
                              Bytes(packet.begin(), packet.begin() + static_cast<long>(sealed_end));
    if (!ed25519_verify(root_public, signed_part, Bytes(packet.begin() + static_cast<long>(sealed_end), packet.end()))) {
      return std::nullopt;
    }
  }
  const Bytes header(packet.begin(), packet.begin() + 8);
  const uint16_t sender = static_cast<uint16_t>(packet[2] | packet[3] << 8);
  const uint32_t seq = static_cast<uint32_t>(packet[4] | packet[5] << 8 | packet[6] << 16) | uint32_t{packet[7]} << 24;
  return aead_open(s, traffic_key(net, sender), traffic_nonce(s, seq), header + le(group, 8),
                   Bytes(packet.begin() + 8, packet.begin() + static_cast<long>(sealed_end)));
}

Bytes private_base(const Bytes& ms) { return kdf(ms, "nk-privb", 0); }
Bytes private_key(const Bytes& base, uint64_t epoch, uint8_t type) {
  return extract(base, "nk-privk", le(epoch, 8) + Bytes{static_cast<uint8_t>(type == 5 ? 0 : 1)});
}

Bytes keyed_packet(Suite s, uint64_t group, uint64_t epoch, const Bytes& key, uint8_t type, uint16_t sender,
                   uint32_t seq, const Bytes& payload) {
  const Bytes header = Bytes{static_cast<uint8_t>(0x10 | type), static_cast<uint8_t>(epoch & 0xff)} + le(sender, 2) +
                       le(seq, 4);
  return header + aead_seal(s, key, traffic_nonce(s, seq), header + le(group, 8), payload);
}

std::optional<Bytes> keyed_open(Suite s, uint64_t group, const Bytes& key, uint8_t type, uint16_t sender,
                                const Bytes& packet) {
  if (packet.size() < 24 || packet[0] != (0x10 | type)) return std::nullopt;
  if (static_cast<uint16_t>(packet[2] | packet[3] << 8) != sender) return std::nullopt;
  const Bytes header(packet.begin(), packet.begin() + 8);
  const uint32_t seq = static_cast<uint32_t>(packet[4] | packet[5] << 8 | packet[6] << 16) | uint32_t{packet[7]} << 24;
  return aead_open(s, key, traffic_nonce(s, seq), header + le(group, 8), Bytes(packet.begin() + 8, packet.end()));
}

Bytes path_bytes(const std::vector<PathKey>& path) {
  Bytes out;
  for (const PathKey& k : path) out = out + le(k.node, 4) + k.key;
  return out;
}

std::vector<PathKey> parse_path(const Bytes& b) {
  if (b.size() % 36 != 0) throw std::invalid_argument("a path is a multiple of 36 bytes");
  std::vector<PathKey> out;
  for (size_t i = 0; i < b.size(); i += 36) {
    const uint32_t node = static_cast<uint32_t>(b[i] | b[i + 1] << 8 | b[i + 2] << 16) | uint32_t{b[i + 3]} << 24;
    out.push_back({node, Bytes(b.begin() + static_cast<long>(i) + 4, b.begin() + static_cast<long>(i) + 36)});
  }
  return out;
}

}  // namespace spec
