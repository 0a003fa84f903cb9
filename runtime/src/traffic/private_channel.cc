// Private messages between the Root and one member (netkey/private_channel.h).
#include "netkey/private_channel.h"

#include <cstring>

#include "netkey/kdf.h"
#include "src/traffic/framing.h"

namespace netkey {
namespace {

constexpr KdfContext kPrivateBase("nk-privb");  // member secret -> private base (docs/PROTOCOL.md)
constexpr KdfContext kPrivateKey("nk-privk");   // private base, epoch, direction -> epoch key

}  // namespace

SymmetricKey private_base_key(const SymmetricKey& member_secret) { return kdf_derive(member_secret, kPrivateBase, 0); }

SymmetricKey private_epoch_key(const SymmetricKey& base, uint64_t epoch, PacketType type) {
  NETKEY_CHECK(type == PacketType::kPrivateToMember || type == PacketType::kPrivateToRoot);
  uint8_t info[9];
  detail::put_le64(info, epoch);
  info[8] = type == PacketType::kPrivateToMember ? 0 : 1;
  return kdf_extract(base.bytes(), kPrivateKey, info);
}

Result<PrivateChannel> PrivateChannel::create(const TrafficConfig& config, SenderId member, PrivateSide side) {
  if (member == kRootSender) return Status(Errc::kInvalidArgument, "member id 0 is the Root's");
  auto aead = Aead::create(config.suite);
  if (!aead) return aead.status();
  return PrivateChannel(config, member, side, *aead);
}

PacketType PrivateChannel::seal_type() const {
  return side_ == PrivateSide::kRoot ? PacketType::kPrivateToMember : PacketType::kPrivateToRoot;
}
PacketType PrivateChannel::open_type() const {
  return side_ == PrivateSide::kRoot ? PacketType::kPrivateToRoot : PacketType::kPrivateToMember;
}

bool PrivateChannel::set_epoch(uint64_t epoch, const SymmetricKey& private_base, uint64_t now_ns) {
  // Never restart a sequence under a used key.
  if (sealing_.ready && epoch <= sealing_.epoch) return false;
  if (sealing_.ready) {
    current_.retired_ns = now_ns;
    retained_.insert(retained_.begin(), std::move(current_));
  }
  // Keep at most kRetainedEpochs, each with an epoch byte unlike the new current's, those
  // of the kReliableEpochsAhead epochs after it and every newer retained one's; drop
  // those past every grace (but the previous, which reports kEpochExpired).
  bool seen[256] = {};
  for (uint64_t k = 0; k <= kReliableEpochsAhead; ++k) seen[static_cast<uint8_t>(epoch + k)] = true;
  std::vector<Slot> kept;
  for (size_t i = 0; i < retained_.size(); ++i) {
    const uint8_t b = static_cast<uint8_t>(retained_[i].epoch);
    const bool dead = i > 0 && detail::retained_dead(config_, retained_[i].retired_ns, now_ns, 0);
    if (kept.size() >= kRetainedEpochs || seen[b] || dead) continue;
    seen[b] = true;
    kept.push_back(std::move(retained_[i]));
  }
  retained_ = std::move(kept);
  current_ = Slot();
  current_.epoch = epoch;
  current_.key = private_epoch_key(private_base, epoch, open_type());
  std::vector<Slot> later;
  for (Slot& a : ahead_) {
    if (a.epoch == epoch) {
      current_ = std::move(a);  // keeps the sequences already accepted in it
    } else if (a.epoch > epoch && a.epoch <= epoch + kReliableEpochsAhead) {
      later.push_back(std::move(a));
    }
  }
  ahead_ = std::move(later);
  base_ = private_base.clone();
  sealing_.key = private_epoch_key(private_base, epoch, seal_type());
  sealing_.epoch = epoch;
  sealing_.next_seq = 0;
  sealing_.ready = true;
  return true;
}

Result<size_t> PrivateChannel::seal(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  if (!sealing_.ready) return Status(Errc::kInvalidArgument, "no epoch key yet");
  // (this direction's key of this epoch, seq) is fresh: see the header comment.
  return detail::seal_traffic(aead_, config_, sealing_, seal_type(), member_, payload, out);
}

Result<std::vector<uint8_t>> PrivateChannel::seal(std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(payload.size() + kTrafficOverhead);
  auto n = seal(payload, out);
  if (!n) return n.status();
  return out;
}

// Steps 1-4 of the checks: length, version, type, member id; no key looked at.
std::optional<DropReason> PrivateChannel::frame(std::span<const uint8_t> packet) const {
  if (packet.size() < kTrafficOverhead) return DropReason::kMalformed;
  if (packet.size() > config_.max_payload + kTrafficOverhead) return DropReason::kTooLarge;
  if ((packet[0] >> 4) != kTrafficVersion) return DropReason::kBadVersion;
  const uint8_t type = packet[0] & 0x0f;
  if (type >= 1 && type <= 4) return DropReason::kWrongChannel;
  if (!detail::is_private_type(type)) return DropReason::kMalformed;
  if (type != static_cast<uint8_t>(open_type())) return DropReason::kWrongDirection;
  const SenderId member = static_cast<SenderId>(packet[2] | packet[3] << 8);
  if (member != member_) return DropReason::kWrongMember;
  return std::nullopt;
}

PrivateChannel::Slot* PrivateChannel::find_slot(uint8_t b, uint64_t now, Delivery delivery, DropReason& why) {
  if (!sealing_.ready) {
    why = DropReason::kUnknownEpoch;
    return nullptr;
  }
  if (b == static_cast<uint8_t>(sealing_.epoch)) return &current_;
  for (size_t i = 0; i < retained_.size(); ++i) {
    if (static_cast<uint8_t>(retained_[i].epoch) != b) continue;
    if (detail::retained_admits(config_, i, retained_[i].retired_ns, now, delivery, 0)) return &retained_[i];
    why = DropReason::kEpochExpired;
    return nullptr;
  }
  // The member may see the Root's packets of the next epoch before its own rekey (a
  // reliable one up to kReliableEpochsAhead epochs ahead, when its rekeys lag): it
  // derives that key from the base (the Root is never behind the member).
  const uint8_t ahead = static_cast<uint8_t>(b - static_cast<uint8_t>(sealing_.epoch));
  const size_t reach = delivery == Delivery::kReliableOrdered ? kReliableEpochsAhead : 1;
  if (side_ == PrivateSide::kMember && ahead >= 1 && ahead <= reach) {
    const uint64_t epoch = sealing_.epoch + ahead;
    for (Slot& a : ahead_) {
      if (a.epoch == epoch) return &a;
    }
    Slot fresh;
    fresh.epoch = epoch;
    fresh.key = private_epoch_key(base_, epoch, open_type());
    ahead_.push_back(std::move(fresh));  // a key and an empty window: nothing accepted changes
    return &ahead_.back();
  }
  why = DropReason::kUnknownEpoch;
  return nullptr;
}

Result<size_t> PrivateChannel::drop(DropReason r, DropReason* out) {
  drops_.add(r);
  if (out) *out = r;
  return drop_status(r);
}

Result<size_t> PrivateChannel::open(std::span<const uint8_t> packet, uint64_t now_ns, std::span<uint8_t> out,
                                    Delivery delivery, DropReason* reason) {
  if (auto bad = frame(packet)) return drop(*bad, reason);
  const TrafficHeader h = detail::read_traffic_header(packet.data());
  DropReason why = DropReason::kCount;
  Slot* slot = find_slot(h.epoch_byte, now_ns, delivery, why);
  if (!slot) return drop(why, reason);
  if (!slot->window.is_fresh(h.seq)) return drop(DropReason::kReplay, reason);
  const size_t len = packet.size() - kTrafficOverhead;
  if (out.size() < len) return drop(DropReason::kTooLarge, reason);
  uint8_t ad[16];
  detail::traffic_ad(ad, packet.data(), config_.group_id);
  const Nonce nonce = Nonce::from_counter(aead_.nonce_size(), detail::kTrafficNonceDomain, h.seq);
  if (!aead_.open(slot->key, nonce, ad, packet.subspan(kTrafficHeaderSize), out.first(len))) {
    return drop(DropReason::kBadTag, reason);
  }
  slot->window.mark(h.seq);
  return len;
}

}  // namespace netkey
