// The traffic layer: TrafficSender, TrafficReceiver and TrafficRelay over one shared
// opener (detail::EpochKeys). See netkey/traffic.h for the layout and the contracts.
#include "netkey/traffic.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "netkey/kdf.h"
#include "netkey/replay_window.h"
#include "src/traffic/framing.h"
#include "src/util/queue.h"
#include "src/util/testing_access.h"

namespace netkey {
namespace {

constexpr uint32_t kNonceDomain = detail::kTrafficNonceDomain;
using detail::put_le64;
void make_ad(uint8_t ad[16], const uint8_t* header, uint64_t group_id) { detail::traffic_ad(ad, header, group_id); }

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
    case DropReason::kOtherTeam: return "other_team";
    case DropReason::kWrongChannel: return "wrong_channel";
    case DropReason::kWrongDirection: return "wrong_direction";
    case DropReason::kWrongMember: return "wrong_member";
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
    case DropReason::kSpoofedSender:
    case DropReason::kOtherTeam:
    case DropReason::kWrongChannel:
    case DropReason::kWrongDirection:
    case DropReason::kWrongMember: code = Errc::kWrongRole; break;
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
  sealing_.epoch = epoch;
  sealing_.key = sender_key(net_key, id_);
  sealing_.next_seq = 0;
  sealing_.ready = true;
}

Result<size_t> TrafficSender::seal_as(PacketType type, std::span<const uint8_t> payload,
                                      std::span<uint8_t> out) {
  if (!sealing_.ready) return Status(Errc::kInvalidArgument, "no epoch key yet: wait for the Welcome");
  // (sender key of this epoch, seq) is fresh: seq only grows within the epoch.
  return detail::seal_traffic(aead_, config_, sealing_, type, id_, payload, out);
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
  NETKEY_CHECK(seq >= sender.sealing_.next_seq);
  sender.sealing_.next_seq = seq;
}
void testing::advance_seq(TrafficSender& sender, uint64_t seq) { TestingAccess::advance_seq(sender, seq); }

// ---------------------------------------------------------------- TeamSender

Result<TeamSender> TeamSender::create(const TrafficConfig& config) {
  auto aead = Aead::create(config.suite);
  if (!aead) return aead.status();
  return TeamSender(config, *aead);
}

void TeamSender::set_epoch(uint64_t epoch) {
  epoch_ = epoch;
  teams_.clear();
  ready_ = true;
}

void TeamSender::set_team_key(TeamId team, const SymmetricKey& team_key) {
  NETKEY_CHECK(ready_);
  for (const Team& t : teams_) NETKEY_CHECK(t.id != team);  // would restart its sequence
  teams_.push_back(Team{team, detail::SealingKey{true, epoch_, 0, team_key.clone()}});
}

Result<size_t> TeamSender::seal(TeamId team, std::span<const uint8_t> payload, std::span<uint8_t> out) {
  Team* t = nullptr;
  for (Team& x : teams_) {
    if (x.id == team) t = &x;
  }
  if (!t) return Status(Errc::kInvalidArgument, "no key for this team in this epoch");
  // (team key of this epoch, seq) is fresh: the team's seq only grows within the epoch,
  // and its key is installed once per epoch (set_team_key refuses a second one).
  return detail::seal_traffic(aead_, config_, t->sealing, PacketType::kTeamBroadcast, team, payload, out);
}

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
    uint64_t retired_ns = 0;  // when it stopped being current (retained slots)
    std::unordered_map<SenderId, SenderState> senders;
    bool has_team = false;    // this member's team in this epoch, and its key
    TeamId team = 0;
    SymmetricKey team_key;
    ReplayWindow team_window;
  };
  struct Buffered {
    std::vector<uint8_t> bytes;
    Delivery delivery;
    uint64_t arrived_ns;
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
                  std::optional<SenderId> relay_from, bool allow_buffer, Delivery delivery) {
    Framed f;
    if (auto bad = frame(packet, relay_from, f)) return dropped(*bad);
    const TrafficHeader& h = f.header;
    Slot* slot = nullptr;
    if (current.valid && h.epoch_byte == static_cast<uint8_t>(current.epoch)) {
      slot = &current;
    } else if (Slot* r = retained_slot(h.epoch_byte)) {
      const size_t index = static_cast<size_t>(r - retained.data());
      const uint64_t any = relay_from ? config_.relay_retained_grace_ns : 0;
      if (!retained_admits(config_, index, r->retired_ns, now, delivery, any)) {
        return dropped(DropReason::kEpochExpired);
      }
      slot = r;
    } else if (allow_buffer && may_hold(h.epoch_byte, delivery)) {
      return hold(h.sender, packet, delivery, now);
    } else {
      return dropped(DropReason::kUnknownEpoch);
    }
    if (h.type == PacketType::kTeamBroadcast && (!slot->has_team || slot->team != h.sender)) {
      return dropped(DropReason::kOtherTeam);  // no key tried
    }
    return decrypt(*slot, f, packet, out);
  }

  Slot* retained_slot(uint8_t epoch_byte) {
    for (Slot& r : retained) {
      if (static_cast<uint8_t>(r.epoch) == epoch_byte) return &r;
    }
    return nullptr;
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
    const TrafficHeader h = read_traffic_header(p);
    const bool root = h.sender == kRootSender;
    if (is_private_type(type)) return DropReason::kWrongChannel;  // never relayed nor opened here
    // Types 1-3: the sender rule; type 4: the sender field is a team index (any value).
    if (type < 1 || type > 4 || (type <= 3 && (type == 1) == root)) return DropReason::kMalformed;
    size_t sealed_len = packet.size();
    if (h.type == PacketType::kRootSignedBroadcast) {
      if (packet.size() < kTrafficOverhead + kTrafficSignatureSize) return DropReason::kMalformed;
      sealed_len -= kTrafficSignatureSize;
    }
    if (relay_from) {
      if (h.type != PacketType::kMemberData) return DropReason::kMalformed;
      if (h.sender != *relay_from) return DropReason::kSpoofedSender;
    } else if (config_.signed_broadcasts && (h.type == PacketType::kTeamBroadcast ||
                                             (root && h.type != PacketType::kRootSignedBroadcast))) {
      // Team broadcasts are not signed: in signed mode the Root's word must be.
      return DropReason::kUnsignedRoot;
    }
    f = Framed{h, sealed_len};
    return std::nullopt;
  }

  // Whether a receiver holds a packet of epoch byte `b` for later: any before its first
  // key; then the next epoch's, and a reliable packet's up to kReliableEpochsAhead ahead
  // (a member whose rekeys lag behind the Root's reliable stream; drain() holds it
  // again until its own epoch comes).
  bool may_hold(uint8_t b, Delivery delivery) const {
    if (!current.valid) return true;
    const uint8_t ahead = static_cast<uint8_t>(b - static_cast<uint8_t>(current.epoch));
    const size_t reach = delivery == Delivery::kReliableOrdered ? kReliableEpochsAhead : 1;
    return ahead >= 1 && ahead <= reach;
  }

  // Holds a packet of the next epoch until its key arrives (drain), or drops it.
  // Bounded overall and per claimed sender: the sender id is not authenticated until
  // the key arrives, so one sender (or someone posing as one) can take only its share,
  // and the Root's own packets (sender 0) always have room.
  OpenResult hold(SenderId sender, std::span<const uint8_t> packet, Delivery delivery, uint64_t now) {
    if (!buffer_admits(sender, packet.size())) return dropped(DropReason::kBufferFull);
    ++buffered_by_sender[sender];
    if (sender != kRootSender) {
      ++member_buffered;
      member_buffered_bytes += packet.size();
    }
    buffer.push_back({{packet.begin(), packet.end()}, delivery, now});
    buffer_bytes += packet.size();
    OpenResult res;
    res.outcome = Outcome::kBuffered;
    return res;
  }

  // The key and replay window a packet of `h` opens under in `slot`; the key is
  // derived into `fresh` when the sender has no state yet (nothing is stored).
  std::pair<const SymmetricKey*, ReplayWindow*> state_for(Slot& slot, const TrafficHeader& h, SymmetricKey& fresh) {
    if (h.type == PacketType::kTeamBroadcast) return {&slot.team_key, &slot.team_window};
    auto it = slot.senders.find(h.sender);
    if (it != slot.senders.end()) return {&it->second.key, &it->second.window};
    fresh = sender_key(slot.net_key, h.sender);
    return {&fresh, nullptr};
  }

  // Replay check, AEAD open into `out`, then the Root's signature if there is one. The
  // replay window advances only after all of these pass.
  OpenResult decrypt(Slot& slot, const Framed& f, std::span<const uint8_t> packet, std::span<uint8_t> out) {
    const TrafficHeader& h = f.header;
    SymmetricKey fresh_key;
    auto [key, window] = state_for(slot, h, fresh_key);
    if (window && !window->is_fresh(h.seq)) return dropped(DropReason::kReplay);
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
    if (!window) {
      window = &slot.senders.emplace(h.sender, SenderState{std::move(fresh_key), ReplayWindow()}).first->second.window;
    }
    window->mark(h.seq);
    return OpenResult{Outcome::kOpened, h, slot.epoch, len, DropReason::kCount};
  }

  // Counts a drop and reports it.
  OpenResult dropped(DropReason r) {
    drops.add(r);
    OpenResult res;
    res.reason = r;
    return res;
  }

  // Returns false when `epoch` is not newer than the current one (ignored). The old
  // current epoch is retained (newest first); retained epochs past every grace, beyond
  // kRetainedEpochs, or whose epoch byte equals a newer held epoch's or that of an epoch
  // up to kReliableEpochsAhead ahead are forgotten, so an epoch byte names at most one
  // held (or awaited) epoch.
  bool install(uint64_t epoch, const SymmetricKey& net_key, uint64_t now, std::optional<TeamId> team,
               const SymmetricKey* team_key, uint64_t any_grace_ns) {
    if (current.valid && epoch <= current.epoch) return false;
    std::vector<Slot> kept;
    bool seen[256] = {};  // the bytes of the new current epoch and of those a packet may be held for
    for (uint64_t k = 0; k <= kReliableEpochsAhead; ++k) seen[static_cast<uint8_t>(epoch + k)] = true;
    if (current.valid) {
      current.retired_ns = now;
      retained.insert(retained.begin(), std::move(current));
    }
    for (size_t i = 0; i < retained.size(); ++i) {
      Slot& r = retained[i];
      const uint8_t b = static_cast<uint8_t>(r.epoch);
      // The previous epoch stays for its unreliable grace even when it is long dead
      // for the other rules (it reports kEpochExpired rather than kUnknownEpoch).
      const bool dead = i > 0 && retained_dead(config_, r.retired_ns, now, any_grace_ns);
      if (kept.size() >= kRetainedEpochs || seen[b] || dead) continue;
      seen[b] = true;
      kept.push_back(std::move(r));
    }
    retained = std::move(kept);
    current = Slot();
    current.valid = true;
    current.epoch = epoch;
    current.net_key = net_key.clone();
    if (team && team_key) {
      current.has_team = true;
      current.team = *team;
      current.team_key = team_key->clone();
    }
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
    for (Buffered& b : held) deliver(b.bytes, now, b.delivery, b.arrived_ns, true);
  }

  void deliver(std::span<const uint8_t> packet, uint64_t now, Delivery delivery, uint64_t arrived,
               bool was_buffered) {
    std::vector<uint8_t> payload(packet.size() >= kTrafficOverhead ? packet.size() - kTrafficOverhead : 0);
    const OpenResult r = open(packet, now, payload, std::nullopt, true, delivery);
    if (r.outcome == Outcome::kOpened) {
      payload.resize(r.length);
      const uint64_t waited = was_buffered && now > arrived ? now - arrived : 0;
      if (was_buffered) ++opened_after_buffering;
      ready.push_back({r.header.sender, r.header.type, r.epoch, r.header.seq, std::move(payload), waited, delivery});
    }
  }

  const TrafficConfig config_;
  Aead aead_;
  Slot current;
  std::vector<Slot> retained;  // newest first: retained[0] is the previous epoch
  std::deque<Buffered> buffer;
  size_t buffer_bytes = 0;
  std::unordered_map<SenderId, uint32_t> buffered_by_sender;
  size_t member_buffered = 0, member_buffered_bytes = 0;  // all senders but the Root
  std::deque<OpenedPacket> ready;
  uint64_t opened_after_buffering = 0;
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
  if (k_->install(epoch, net_key, now_ns, std::nullopt, nullptr, 0)) k_->drain(now_ns);
}

void TrafficReceiver::set_epoch(uint64_t epoch, const SymmetricKey& net_key, TeamId team,
                                const SymmetricKey& team_key, uint64_t now_ns) {
  if (k_->install(epoch, net_key, now_ns, team, &team_key, 0)) k_->drain(now_ns);
}

void TrafficReceiver::handle(std::span<const uint8_t> packet, uint64_t now_ns, Delivery delivery) {
  k_->deliver(packet, now_ns, delivery, now_ns, false);
}

Result<size_t> TrafficReceiver::open_into(std::span<const uint8_t> packet, uint64_t now_ns,
                                          std::span<uint8_t> out, TrafficHeader* header, DropReason* reason,
                                          Delivery delivery) {
  using Outcome = detail::EpochKeys::Outcome;
  const auto r = k_->open(packet, now_ns, out, std::nullopt, true, delivery);
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
uint64_t TrafficReceiver::opened_after_buffering() const { return k_->opened_after_buffering; }
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
  k_->install(epoch, net_key, now_ns, std::nullopt, nullptr, k_->config_.relay_retained_grace_ns);
}

Status TrafficRelay::check(std::span<const uint8_t> packet, SenderId from, uint64_t now_ns,
                           std::vector<uint8_t>* plaintext, Delivery delivery) {
  if (scratch_.size() < packet.size()) scratch_.resize(packet.size());
  const auto r = k_->open(packet, now_ns, scratch_, from, false, delivery);
  if (r.outcome != detail::EpochKeys::Outcome::kOpened) return drop_status(r.reason);
  if (plaintext) plaintext->assign(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(r.length));
  return Status::ok();
}

const DropCounters& TrafficRelay::drops() const { return k_->drops; }

}  // namespace netkey
