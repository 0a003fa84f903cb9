// The traffic layer: TrafficSender, TrafficReceiver and TrafficRelay over one shared
// opener (detail::EpochKeys). See netkey/traffic.h for the layout and the contracts.
#include "netkey/traffic.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "netkey/kdf.h"
#include "netkey/replay_window.h"
#include "src/util/queue.h"
#include "src/util/testing_access.h"

namespace netkey {
namespace {

constexpr uint32_t kNonceDomain = 0x66617274;  // "traf"

void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// AD = header (8) || le64(group id) (8).
void make_ad(uint8_t ad[16], const uint8_t* header, uint64_t group_id) {
  std::memcpy(ad, header, kTrafficHeaderSize);
  put_le64(ad + 8, group_id);
}

SymmetricKey sender_key(const SymmetricKey& net_key, SenderId id) {
  return kdf_derive(net_key, kdf_ctx::kTraffic, id);
}

// The signed message of a type-3 packet:
// "netkey-bcast-v1" || 0x00 || le64(group) || header || ciphertext+tag.
// The label keeps the Root's broadcast signatures apart from every other thing it signs.
constexpr char kBroadcastLabel[] = "netkey-bcast-v1";  // signed with its NUL
std::vector<uint8_t> signed_part(uint64_t group_id, std::span<const uint8_t> sealed) {
  std::vector<uint8_t> m(sizeof(kBroadcastLabel) + 8 + sealed.size());
  std::memcpy(m.data(), kBroadcastLabel, sizeof(kBroadcastLabel));
  put_le64(m.data() + sizeof(kBroadcastLabel), group_id);
  std::memcpy(m.data() + sizeof(kBroadcastLabel) + 8, sealed.data(), sealed.size());
  return m;
}

}  // namespace

std::string_view drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::kMalformed: return "malformed";
    case DropReason::kTooLarge: return "too_large";
    case DropReason::kBadVersion: return "bad_version";
    case DropReason::kUnknownEpoch: return "unknown_epoch";
    case DropReason::kEpochExpired: return "epoch_expired";
    case DropReason::kReplay: return "replay";
    case DropReason::kBadTag: return "bad_tag";
    case DropReason::kBadSignature: return "bad_signature";
    case DropReason::kUnsignedRoot: return "unsigned_root";
    case DropReason::kSpoofedSender: return "spoofed_sender";
    case DropReason::kBufferFull: return "buffer_full";
    case DropReason::kCount: break;
  }
  return "unknown";
}

Status drop_status(DropReason r) {
  Errc code = Errc::kMalformed;
  switch (r) {
    case DropReason::kMalformed:
    case DropReason::kBadVersion:
    case DropReason::kCount: code = Errc::kMalformed; break;
    case DropReason::kTooLarge:
    case DropReason::kBufferFull: code = Errc::kTooLarge; break;
    case DropReason::kUnknownEpoch: code = Errc::kUnknownKey; break;
    case DropReason::kEpochExpired: code = Errc::kExpired; break;
    case DropReason::kReplay: code = Errc::kStaleEpoch; break;
    case DropReason::kBadTag: code = Errc::kBadTag; break;
    case DropReason::kBadSignature:
    case DropReason::kUnsignedRoot: code = Errc::kBadSignature; break;
    case DropReason::kSpoofedSender: code = Errc::kWrongRole; break;
  }
  return Status(code, std::string(drop_reason_name(r)));
}

uint64_t DropCounters::total() const {
  uint64_t t = 0;
  for (uint64_t v : by_reason) t += v;
  return t;
}

void TrafficHeader::write(uint8_t* out) const {
  out[0] = static_cast<uint8_t>(kTrafficVersion << 4 | static_cast<uint8_t>(type));
  out[1] = epoch_byte;
  out[2] = static_cast<uint8_t>(sender);
  out[3] = static_cast<uint8_t>(sender >> 8);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(seq >> (8 * i));
}

// ---------------------------------------------------------------- TrafficSender

Result<TrafficSender> TrafficSender::create(const TrafficConfig& config, SenderId id) {
  auto aead = Aead::create(config.suite);
  if (!aead) return aead.status();
  return TrafficSender(config, id, *aead);
}

void TrafficSender::set_epoch(uint64_t epoch, const SymmetricKey& net_key) {
  epoch_ = epoch;
  key_ = sender_key(net_key, id_);
  next_seq_ = 0;
  ready_ = true;
}

Result<size_t> TrafficSender::seal_as(PacketType type, std::span<const uint8_t> payload,
                                      std::span<uint8_t> out) {
  if (!ready_) return Status(Errc::kInvalidArgument, "no epoch key yet: wait for the Welcome");
  if (payload.size() > config_.max_payload) {
    return Status(Errc::kInvalidArgument, "payload of " + std::to_string(payload.size()) +
                                              " bytes exceeds max_payload " + std::to_string(config_.max_payload));
  }
  const size_t size = payload.size() + kTrafficOverhead;
  if (out.size() < size) return Status(Errc::kInvalidArgument, "output buffer too small");
  if (next_seq_ > kMaxTrafficSeq) {
    return Status(Errc::kUnsupported, "sequence numbers of this epoch are used up; wait for the next rekey");
  }
  TrafficHeader h{type, static_cast<uint8_t>(epoch_), id_, static_cast<uint32_t>(next_seq_)};
  // (sender key of this epoch, seq) is fresh: seq only grows within the epoch.
  const Nonce nonce = Nonce::from_counter(aead_.nonce_size(), kNonceDomain, next_seq_);
  ++next_seq_;
  h.write(out.data());
  uint8_t ad[16];
  make_ad(ad, out.data(), config_.group_id);
  aead_.seal(key_, nonce, ad, payload, out.subspan(kTrafficHeaderSize, payload.size() + kAeadTagSize));
  return size;
}

Result<size_t> TrafficSender::seal(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  return seal_as(id_ == kRootSender ? PacketType::kRootBroadcast : PacketType::kMemberData, payload, out);
}

Result<size_t> TrafficSender::seal_signed(std::span<const uint8_t> payload, std::span<uint8_t> out,
                                          const SigningKey& root_key) {
  NETKEY_CHECK(id_ == kRootSender);
  if (out.size() < payload.size() + kTrafficOverhead + kTrafficSignatureSize) {
    return Status(Errc::kInvalidArgument, "output buffer too small for a signed packet");
  }
  auto n = seal_as(PacketType::kRootSignedBroadcast, payload, out);
  if (!n) return n;
  Ed25519Signature sig = root_key.sign(signed_part(config_.group_id, out.first(*n)));
  std::memcpy(out.data() + *n, sig.bytes.data(), kTrafficSignatureSize);
  return *n + kTrafficSignatureSize;
}

Result<std::vector<uint8_t>> TrafficSender::seal(std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(payload.size() + kTrafficOverhead);
  auto n = seal(payload, out);
  if (!n) return n.status();
  return out;
}

void TestingAccess::advance_seq(TrafficSender& sender, uint64_t seq) {
  NETKEY_CHECK(seq >= sender.next_seq_);
  sender.next_seq_ = seq;
}
void testing::advance_seq(TrafficSender& sender, uint64_t seq) { TestingAccess::advance_seq(sender, seq); }

// ---------------------------------------------------------------- the shared opener

namespace detail {

class EpochKeys {
 public:
  EpochKeys(const TrafficConfig& c, Aead aead) : config_(c), aead_(aead) {}

  struct SenderState {
    SymmetricKey key;
    ReplayWindow window;
  };
  struct Slot {
    bool valid = false;
    uint64_t epoch = 0;
    SymmetricKey net_key;
    uint64_t expires_ns = UINT64_MAX;
    std::unordered_map<SenderId, SenderState> senders;
  };
  struct Buffered {
    std::vector<uint8_t> bytes;
    uint64_t at_ns = 0;  // arrival, for OpenedPacket::buffered_ns
  };
  enum class Outcome { kOpened, kBuffered, kDropped };

  // What open() made of one packet. header, epoch and length are set only when
  // outcome is kOpened; reason only when it is kDropped.
  struct OpenResult {
    Outcome outcome = Outcome::kDropped;
    TrafficHeader header{};
    uint64_t epoch = 0;                     // the epoch whose key opened the packet
    size_t length = 0;                      // plaintext bytes written to `out`
    DropReason reason = DropReason::kCount;
  };

  // Opens `packet` into `out` (>= packet - 24 bytes). relay_from: the relay's
  // connection sender; allow_buffer: receivers hold next-epoch packets.
  // Every drop is counted in `drops` before it is returned.
  OpenResult open(std::span<const uint8_t> packet, uint64_t now, std::span<uint8_t> out,
                  std::optional<SenderId> relay_from, bool allow_buffer) {
    Framed f;
    if (auto bad = frame(packet, relay_from, f)) return dropped(*bad);
    const TrafficHeader& h = f.header;
    Slot* slot = nullptr;
    if (current.valid && h.epoch_byte == static_cast<uint8_t>(current.epoch)) {
      slot = &current;
    } else if (previous.valid && h.epoch_byte == static_cast<uint8_t>(previous.epoch)) {
      if (now > previous.expires_ns) return dropped(DropReason::kEpochExpired);
      slot = &previous;
    } else if (allow_buffer && (!current.valid || h.epoch_byte == static_cast<uint8_t>(current.epoch + 1))) {
      return hold(h.sender, packet, now);
    } else {
      return dropped(DropReason::kUnknownEpoch);
    }
    return decrypt(*slot, f, packet, out);
  }

  // A packet's header, and how many of its bytes are header + ciphertext + tag.
  struct Framed {
    TrafficHeader header{};
    size_t sealed_len = 0;
  };

  // Size, version, type and sender checks, before any key is looked at. Fills `f` and
  // returns nothing when the packet may go on; otherwise the reason to drop it.
  std::optional<DropReason> frame(std::span<const uint8_t> packet, std::optional<SenderId> relay_from,
                                  Framed& f) const {
    if (packet.size() < kTrafficOverhead) return DropReason::kMalformed;
    if (packet.size() > config_.max_payload + kTrafficOverhead + kTrafficSignatureSize) {
      return DropReason::kTooLarge;
    }
    const uint8_t* p = packet.data();
    if ((p[0] >> 4) != kTrafficVersion) return DropReason::kBadVersion;
    const uint8_t type = p[0] & 0x0f;
    uint32_t seq = 0;
    for (int i = 3; i >= 0; --i) seq = seq << 8 | p[4 + i];
    const TrafficHeader h{static_cast<PacketType>(type), p[1], static_cast<SenderId>(p[2] | p[3] << 8), seq};
    const bool root = h.sender == kRootSender;
    if (type < 1 || type > 3 || (type == 1) == root) return DropReason::kMalformed;
    size_t sealed_len = packet.size();
    if (h.type == PacketType::kRootSignedBroadcast) {
      if (packet.size() < kTrafficOverhead + kTrafficSignatureSize) return DropReason::kMalformed;
      sealed_len -= kTrafficSignatureSize;
    }
    if (relay_from) {
      if (h.type != PacketType::kMemberData) return DropReason::kMalformed;
      if (h.sender != *relay_from) return DropReason::kSpoofedSender;
    } else if (root && config_.signed_broadcasts && h.type != PacketType::kRootSignedBroadcast) {
      return DropReason::kUnsignedRoot;
    }
    f = Framed{h, sealed_len};
    return std::nullopt;
  }

  // Holds a packet of the next epoch until its key arrives (drain), or drops it.
  // Bounded overall and per claimed sender: the sender id is not authenticated until
  // the key arrives, so one sender (or someone posing as one) can take only its share,
  // and the Root's own packets (sender 0) always have room.
  OpenResult hold(SenderId sender, std::span<const uint8_t> packet, uint64_t now) {
    if (!buffer_admits(sender, packet.size())) return dropped(DropReason::kBufferFull);
    ++buffered_by_sender[sender];
    if (sender != kRootSender) {
      ++member_buffered;
      member_buffered_bytes += packet.size();
    }
    buffer.push_back({{packet.begin(), packet.end()}, now});
    buffer_bytes += packet.size();
    OpenResult res;
    res.outcome = Outcome::kBuffered;
    return res;
  }

  // Replay check, AEAD open into `out`, then the Root's signature if there is one. The
  // replay window advances only after all of these pass.
  OpenResult decrypt(Slot& slot, const Framed& f, std::span<const uint8_t> packet, std::span<uint8_t> out) {
    const TrafficHeader& h = f.header;
    auto it = slot.senders.find(h.sender);
    if (it != slot.senders.end() && !it->second.window.is_fresh(h.seq)) return dropped(DropReason::kReplay);
    SymmetricKey fresh_key;
    const SymmetricKey* key = nullptr;
    if (it != slot.senders.end()) {
      key = &it->second.key;
    } else {
      fresh_key = sender_key(slot.net_key, h.sender);
      key = &fresh_key;
    }
    const size_t len = f.sealed_len - kTrafficOverhead;
    if (out.size() < len) return dropped(DropReason::kTooLarge);
    uint8_t ad[16];
    make_ad(ad, packet.data(), config_.group_id);
    const Nonce nonce = Nonce::from_counter(aead_.nonce_size(), kNonceDomain, h.seq);
    if (!aead_.open(*key, nonce, ad, packet.subspan(kTrafficHeaderSize, f.sealed_len - kTrafficHeaderSize),
                    out.first(len))) {
      return dropped(DropReason::kBadTag);
    }
    if (h.type == PacketType::kRootSignedBroadcast) {
      Ed25519Signature sig;
      std::memcpy(sig.bytes.data(), packet.data() + f.sealed_len, kTrafficSignatureSize);
      if (!verify_signature(config_.root_public_key, signed_part(config_.group_id, packet.first(f.sealed_len)),
                            sig)) {
        return dropped(DropReason::kBadSignature);
      }
    }
    if (it == slot.senders.end()) {
      it = slot.senders.emplace(h.sender, SenderState{std::move(fresh_key), ReplayWindow()}).first;
    }
    it->second.window.mark(h.seq);
    return OpenResult{Outcome::kOpened, h, slot.epoch, len, DropReason::kCount};
  }

  // Counts a drop and reports it.
  OpenResult dropped(DropReason r) {
    drops.add(r);
    OpenResult res;
    res.reason = r;
    return res;
  }

  // Returns false when `epoch` is not newer than the current one (ignored).
  bool install(uint64_t epoch, const SymmetricKey& net_key, uint64_t now) {
    if (current.valid && epoch <= current.epoch) return false;
    if (current.valid) {
      previous = std::move(current);
      previous.expires_ns = now + config_.previous_epoch_grace_ns;
    }
    current = Slot();
    current.valid = true;
    current.epoch = epoch;
    current.net_key = net_key.clone();
    return true;
  }

  // Room in the next-epoch buffer for `size` bytes from `sender`. Overall and per claimed
  // sender id; and members together may not take the Root's reserve (per_sender
  // packets, a quarter of the bytes), so however many ids an injector claims, the Root's
  // own state still waits for its key.
  bool buffer_admits(SenderId sender, size_t size) const {
    if (buffer.size() >= config_.max_buffered_packets || buffer_bytes + size > config_.max_buffered_bytes) return false;
    auto it = buffered_by_sender.find(sender);
    if (it != buffered_by_sender.end() && it->second >= config_.max_buffered_per_sender) return false;
    if (sender == kRootSender) return true;
    const size_t reserve_packets = std::min(config_.max_buffered_per_sender, config_.max_buffered_packets);
    const size_t reserve_bytes = config_.max_buffered_bytes / 4;
    return member_buffered + reserve_packets < config_.max_buffered_packets &&
           member_buffered_bytes + size + reserve_bytes <= config_.max_buffered_bytes;
  }

  // Receiver: opens what the buffer holds for the new epoch, in arrival order.
  void drain(uint64_t now) {
    std::deque<Buffered> held;
    held.swap(buffer);
    buffer_bytes = 0;
    buffered_by_sender.clear();
    member_buffered = 0;
    member_buffered_bytes = 0;
    for (Buffered& b : held) deliver(b.bytes, now, b.at_ns);
  }

  // arrived_ns: when a buffered packet arrived (none: it arrives now).
  void deliver(std::span<const uint8_t> packet, uint64_t now, std::optional<uint64_t> arrived_ns = std::nullopt) {
    std::vector<uint8_t> payload(packet.size() >= kTrafficOverhead ? packet.size() - kTrafficOverhead : 0);
    const OpenResult r = open(packet, now, payload, std::nullopt, true);
    if (r.outcome == Outcome::kOpened) {
      payload.resize(r.length);
      const uint64_t waited = arrived_ns && now > *arrived_ns ? now - *arrived_ns : 0;
      ready.push_back({r.header.sender, r.header.type, r.epoch, r.header.seq, std::move(payload), waited});
    }
  }

  const TrafficConfig config_;
  Aead aead_;
  Slot current, previous;
  std::deque<Buffered> buffer;
  size_t buffer_bytes = 0;
  std::unordered_map<SenderId, uint32_t> buffered_by_sender;
  size_t member_buffered = 0, member_buffered_bytes = 0;  // all senders but the Root
  std::deque<OpenedPacket> ready;
  DropCounters drops;
};

}  // namespace detail

// ---------------------------------------------------------------- TrafficReceiver

TrafficReceiver::TrafficReceiver(std::unique_ptr<detail::EpochKeys> k) : k_(std::move(k)) {}
TrafficReceiver::TrafficReceiver(TrafficReceiver&&) noexcept = default;
TrafficReceiver& TrafficReceiver::operator=(TrafficReceiver&&) noexcept = default;
TrafficReceiver::~TrafficReceiver() = default;

Result<TrafficReceiver> TrafficReceiver::create(const TrafficConfig& config) {
  auto aead = Aead::create(config.suite);
  if (!aead) return aead.status();
  return TrafficReceiver(std::make_unique<detail::EpochKeys>(config, *aead));
}

void TrafficReceiver::set_epoch(uint64_t epoch, const SymmetricKey& net_key, uint64_t now_ns) {
  if (k_->install(epoch, net_key, now_ns)) k_->drain(now_ns);
}

void TrafficReceiver::handle(std::span<const uint8_t> packet, uint64_t now_ns) { k_->deliver(packet, now_ns); }

Result<size_t> TrafficReceiver::open_into(std::span<const uint8_t> packet, uint64_t now_ns,
                                          std::span<uint8_t> out, TrafficHeader* header, DropReason* reason) {
  using Outcome = detail::EpochKeys::Outcome;
  const auto r = k_->open(packet, now_ns, out, std::nullopt, true);
  if (r.outcome == Outcome::kOpened) {
    if (header) *header = r.header;
    return r.length;
  }
  if (r.outcome == Outcome::kBuffered) return size_t{0};
  if (reason) *reason = r.reason;
  return drop_status(r.reason);
}

std::optional<OpenedPacket> TrafficReceiver::poll() { return detail::pop_front(k_->ready); }

const DropCounters& TrafficReceiver::drops() const { return k_->drops; }
size_t TrafficReceiver::buffered() const { return k_->buffer.size(); }
bool TrafficReceiver::has_epoch() const { return k_->current.valid; }
uint64_t TrafficReceiver::epoch() const { return k_->current.epoch; }

// ---------------------------------------------------------------- TrafficRelay

TrafficRelay::TrafficRelay(std::unique_ptr<detail::EpochKeys> k) : k_(std::move(k)) {}
TrafficRelay::TrafficRelay(TrafficRelay&&) noexcept = default;
TrafficRelay& TrafficRelay::operator=(TrafficRelay&&) noexcept = default;
TrafficRelay::~TrafficRelay() = default;

Result<TrafficRelay> TrafficRelay::create(const TrafficConfig& config) {
  auto aead = Aead::create(config.suite);
  if (!aead) return aead.status();
  return TrafficRelay(std::make_unique<detail::EpochKeys>(config, *aead));
}

void TrafficRelay::set_epoch(uint64_t epoch, const SymmetricKey& net_key, uint64_t now_ns) {
  k_->install(epoch, net_key, now_ns);
}

Status TrafficRelay::check(std::span<const uint8_t> packet, SenderId from, uint64_t now_ns,
                           std::vector<uint8_t>* plaintext) {
  if (scratch_.size() < packet.size()) scratch_.resize(packet.size());
  const auto r = k_->open(packet, now_ns, scratch_, from, false);
  if (r.outcome != detail::EpochKeys::Outcome::kOpened) return drop_status(r.reason);
  if (plaintext) plaintext->assign(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(r.length));
  return Status::ok();
}

const DropCounters& TrafficRelay::drops() const { return k_->drops; }

}  // namespace netkey
