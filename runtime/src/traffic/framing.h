// Internal: the byte-level pieces every traffic packet shares (netkey/traffic.h,
// netkey/private_channel.h, docs/PROTOCOL.md "Traffic").
#ifndef NETKEY_SRC_TRAFFIC_FRAMING_H_
#define NETKEY_SRC_TRAFFIC_FRAMING_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "netkey/traffic.h"

namespace netkey::detail {

inline constexpr uint32_t kTrafficNonceDomain = 0x66617274;  // "traf"

inline void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// AD = header (8) || le64(group id) (8).
inline void traffic_ad(uint8_t ad[16], const uint8_t* header, uint64_t group_id) {
  std::memcpy(ad, header, kTrafficHeaderSize);
  put_le64(ad + 8, group_id);
}

// The header fields of 8 bytes at `p` (the type nibble unchecked: any value 0..15).
inline TrafficHeader read_traffic_header(const uint8_t* p) {
  uint32_t seq = 0;
  for (int i = 3; i >= 0; --i) seq = seq << 8 | p[4 + i];
  return TrafficHeader{static_cast<PacketType>(p[0] & 0x0f), p[1], static_cast<SenderId>(p[2] | p[3] << 8), seq};
}

inline bool is_private_type(uint8_t type) {
  return type == static_cast<uint8_t>(PacketType::kPrivateToMember) ||
         type == static_cast<uint8_t>(PacketType::kPrivateToRoot);
}

// Whether a retained epoch (index 0 = the previous one) that stopped being current at
// `retired_ns` still opens a packet at `now`: the previous one within
// previous_epoch_grace_ns, any within reliable_grace_ns for a reliable packet, any
// within `any_grace_ns` (the relay's relay_retained_grace_ns; 0 elsewhere).
inline bool retained_admits(const TrafficConfig& c, size_t index, uint64_t retired_ns, uint64_t now,
                            Delivery delivery, uint64_t any_grace_ns) {
  const uint64_t age = now > retired_ns ? now - retired_ns : 0;
  if (index == 0 && age <= c.previous_epoch_grace_ns) return true;
  if (delivery == Delivery::kReliableOrdered && age <= c.reliable_grace_ns) return true;
  return age <= any_grace_ns && any_grace_ns > 0;
}

// Whether a retained epoch is past every grace at `now` (it can be forgotten).
inline bool retained_dead(const TrafficConfig& c, uint64_t retired_ns, uint64_t now, uint64_t any_grace_ns) {
  const uint64_t age = now > retired_ns ? now - retired_ns : 0;
  return age > c.previous_epoch_grace_ns && age > c.reliable_grace_ns && age > any_grace_ns;
}

// Seals `payload` as one traffic packet of `type` from `sender` into `out` under `k`:
// header {type, k.epoch's low byte, sender, k.next_seq} || ciphertext || tag, AD = header ||
// le64(group id), nonce from k.next_seq in the traffic domain; then advances k.next_seq.
// Returns the packet size (payload + kTrafficOverhead). Errors, checked in this order and
// before anything is written or the sequence moves: kInvalidArgument when the payload
// exceeds c.max_payload or `out` is too small; kUnsupported when the 2^32 sequences of
// this key are used up (wait for the next rekey). The caller checks k.ready and says why
// (k.key, k.next_seq) is fresh: each key gets its own sequence from 0, never restarted.
inline Result<size_t> seal_traffic(const Aead& aead, const TrafficConfig& c, SealingKey& k, PacketType type,
                                   SenderId sender, std::span<const uint8_t> payload, std::span<uint8_t> out) {
  if (payload.size() > c.max_payload) {
    return Status(Errc::kInvalidArgument, "payload of " + std::to_string(payload.size()) +
                                              " bytes exceeds max_payload " + std::to_string(c.max_payload));
  }
  const size_t size = payload.size() + kTrafficOverhead;
  if (out.size() < size) return Status(Errc::kInvalidArgument, "output buffer too small");
  if (k.next_seq > kMaxTrafficSeq) {
    return Status(Errc::kUnsupported, "sequence numbers of this epoch are used up; wait for the next rekey");
  }
  const TrafficHeader h{type, static_cast<uint8_t>(k.epoch), sender, static_cast<uint32_t>(k.next_seq)};
  const Nonce nonce = Nonce::from_counter(aead.nonce_size(), kTrafficNonceDomain, k.next_seq);
  ++k.next_seq;
  h.write(out.data());
  uint8_t ad[16];
  traffic_ad(ad, out.data(), c.group_id);
  aead.seal(k.key, nonce, ad, payload, out.subspan(kTrafficHeaderSize, payload.size() + kAeadTagSize));
  return size;
}

}  // namespace netkey::detail

#endif  // NETKEY_SRC_TRAFFIC_FRAMING_H_
