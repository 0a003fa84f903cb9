// netkey/traffic.h: encrypt-once traffic under the net key.
//
// Packet layout (docs/PROTOCOL.md "Traffic" counts every byte):
//
//   offset size
//   0      1    version (high 4 bits, = 1) | type (low 4 bits)
//   1      1    epoch mod 256: tells the retained, current and next epochs apart
//   2      2    sender id, little-endian (0 = the Root; type 4: the team index;
//                types 5, 6: the member id of the private channel)
//   4      4    sequence number within (epoch, sender), little-endian
//   8      n    ciphertext of the payload
//   8+n    16   AEAD tag                     -> overhead 24 bytes
//   24+n   64   Ed25519 signature (type 3 only)
//
// AD = the 8-byte header || le64(group id). Each sender has its own key per epoch,
// KDF(net key of epoch e, "nk-trafk", sender id), and the nonce is its sequence number.
// Why (key, nonce) never repeats: a sender's sequence starts at 0 when its epoch starts
// and only grows, and sealing refuses to go past 2^32 - 1 (the sender waits for the
// next rekey instead); a new epoch is a new net key and so a new sender key. A sender
// id reused by another member, a member's reconnect and a Root restart all happen in a
// later epoch (a join always commits a batch first) or a new group, so under a new key.
//
// Team broadcasts (type 4) are sealed once per team by the Root under the team key of
// the epoch (the caller derives it: KDF(team node key, "nk-teamk", epoch)), nonce = the
// team's sequence in that epoch (TeamSender), so the same argument applies per team.
// Private messages (types 5, 6) are in netkey/private_channel.h.
//
// Delivery classes and the ENet mapping the binding uses (plugin/enet):
//   kReliableOrdered     -> ENET_PACKET_FLAG_RELIABLE on a reliable channel
//   kUnreliableSequenced -> default flags (0): unreliable, ENet drops out-of-order ones
//   kUnreliable          -> ENET_PACKET_FLAG_UNSEQUENCED
// The receiver is told the class a packet came with (it knows the ENet flags of what it
// received). Reliable packets may arrive after one or more rekeys (ENet retransmits
// them), so they open under any retained epoch within reliable_grace_ns of that epoch's
// end; the others keep the short rule (current, or previous within
// previous_epoch_grace_ns). A receiver only ever holds the keys of epochs it was
// given, so a member removed before a packet's epoch cannot open it however it came.
//
// Sans-I/O: bytes and now_ns in, bytes and events out. Single-threaded.
#ifndef NETKEY_TRAFFIC_H_
#define NETKEY_TRAFFIC_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "netkey/aead.h"
#include "netkey/keys.h"
#include "netkey/sign.h"
#include "netkey/status.h"

namespace netkey {

using SenderId = uint16_t;
inline constexpr SenderId kRootSender = 0;
inline constexpr uint8_t kTrafficVersion = 1;
inline constexpr size_t kTrafficHeaderSize = 8;
inline constexpr size_t kTrafficOverhead = kTrafficHeaderSize + kAeadTagSize;  // 24
inline constexpr size_t kTrafficSignatureSize = 64;
inline constexpr uint64_t kMaxTrafficSeq = 0xffffffffu;
// Epochs kept after they stop being current (for late reliable packets, and the input
// of members whose rekeys lag). With the current epoch and the kReliableEpochsAhead
// after it that is at most 41 distinct epoch bytes (< 256): a byte never names two held
// or awaited epochs (install() drops a retained epoch whose byte would). 32: at 20 rekeys a second (1000 players, 10 %
// churn) that is 1.6 s, so the time graces (1 s for the Root's relay), not the count,
// decide; with 8 a member one lost rekey behind under 5 % loss had input dropped.
inline constexpr size_t kRetainedEpochs = 32;
// A receiver whose rekeys lag behind holds (or, for a private channel, opens) a reliable
// packet up to this many epochs ahead of its current one, an unreliable one only the
// next epoch's. Behind (kRetainedEpochs) + current + ahead stay far below the 256
// values of the epoch byte, so a byte names one epoch.
inline constexpr size_t kReliableEpochsAhead = 8;
static_assert(kRetainedEpochs + 1 + kReliableEpochsAhead < 256, "an epoch byte must name one epoch");

using TeamId = uint16_t;  // the team index carried in a type-4 packet's sender field

// How a packet travels (see the ENet mapping above). Only "reliable or not" changes
// what a receiver accepts.
enum class Delivery : uint8_t {
  kReliableOrdered = 0,
  kUnreliableSequenced = 1,
  kUnreliable = 2,
};

enum class PacketType : uint8_t {
  kMemberData = 1,           // a member's packet, relayed by the Root
  kRootBroadcast = 2,        // server state, authenticated to the group
  kRootSignedBroadcast = 3,  // server state, also signed by the Root
  kTeamBroadcast = 4,        // Root -> one team, under the team key; sender = team index.
                             // Never signed: signed mode drops it as kUnsignedRoot.
  kPrivateToMember = 5,      // Root -> one member, never relayed (netkey/private_channel.h)
  kPrivateToRoot = 6,        // one member -> Root, never relayed
};

// Why a packet was dropped. Every drop is counted under exactly one reason.
enum class DropReason : uint8_t {
  kMalformed = 0,    // shorter than a header + tag, or bad type/sender combination
  kTooLarge,         // longer than the configured cap
  kBadVersion,       // version nibble is not 1
  kUnknownEpoch,     // epoch byte is none of previous, current, next
  kEpochExpired,     // previous epoch, after its grace time
  kReplay,           // sequence already seen, or older than the replay window
  kBadTag,           // AEAD failed: wrong key, wrong group, or tampered bytes
  kBadSignature,     // a signed broadcast whose signature fails (an insider's forgery)
  kUnsignedRoot,     // signed mode: a Root packet without a signature
  kSpoofedSender,    // relay: the sender id is not the connection's own
  kBufferFull,       // next-epoch buffer full (count or bytes)
  kOtherTeam,        // a team broadcast for a team this receiver is not in (no key tried)
  kWrongChannel,     // a private packet (5, 6) on the group path, or a group packet (1-4)
                     // on a private channel: misrouted, never relayed or opened
  kWrongDirection,   // a private packet of the other direction (a member's own packet
                     // reflected back to it, a Root packet fed to the Root's side)
  kWrongMember,      // a private packet whose member id is not this channel's member
                     // (relayed from another member's channel)
  kCount
};
std::string_view drop_reason_name(DropReason reason);

// The Status a dropped packet is reported as (TrafficRelay::check, open_into). The
// message is exactly drop_reason_name(reason) ("spoofed_sender"), stable for logs and
// tests; the code is the nearest Errc:
//   kMalformed, kBadVersion          -> Errc::kMalformed
//   kTooLarge, kBufferFull           -> Errc::kTooLarge
//   kUnknownEpoch                    -> Errc::kUnknownKey   (no key for that epoch)
//   kEpochExpired                    -> Errc::kExpired      (previous epoch past its grace)
//   kReplay                          -> Errc::kStaleEpoch   (replay or duplicate)
//   kBadTag                          -> Errc::kBadTag
//   kBadSignature, kUnsignedRoot     -> Errc::kBadSignature
//   kSpoofedSender                   -> Errc::kWrongRole    (claims another member's id)
//   kOtherTeam, kWrongChannel,
//   kWrongDirection, kWrongMember    -> Errc::kWrongRole    (not for this receiver)
// Never OK: every reason is a drop.
Status drop_status(DropReason reason);

struct DropCounters {
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> by_reason{};
  uint64_t operator[](DropReason r) const { return by_reason[static_cast<size_t>(r)]; }
  uint64_t total() const;
  void add(DropReason r) { ++by_reason[static_cast<size_t>(r)]; }
};

struct TrafficConfig {
  uint64_t group_id = 0;
  AeadSuite suite = AeadSuite::kChaCha20Poly1305;
  size_t max_payload = 1200;                       // plaintext bytes per packet
  size_t max_buffered_packets = 64;                // next-epoch packets held for the rekey
  size_t max_buffered_bytes = 64 * 1024;
  // Of those, at most this many per claimed sender id; and all other senders together
  // leave the Root a reserve of this many packets and a quarter of the bytes, so its
  // state always has room whatever members or an injector send under other ids.
  size_t max_buffered_per_sender = 16;
  uint64_t previous_epoch_grace_ns = 500'000'000;  // previous epoch accepted this long
  // A packet that came reliably (Delivery::kReliableOrdered) opens under any retained
  // epoch until this long after that epoch stopped being current.
  uint64_t reliable_grace_ns = 5'000'000'000;
  // TrafficRelay only (issue 13): member input opens under any retained epoch until this
  // long after that epoch stopped being current, whatever its delivery. 0 = off: the
  // relay then accepts current, previous within previous_epoch_grace_ns, and reliable
  // input within reliable_grace_ns.
  uint64_t relay_retained_grace_ns = 0;
  bool signed_broadcasts = false;                  // Root packets must carry a signature
  Ed25519PublicKey root_public_key{};              // verifies type-3 packets
};

struct TrafficHeader {
  PacketType type;
  uint8_t epoch_byte;
  SenderId sender;
  uint32_t seq;
  void write(uint8_t* out) const;  // 8 bytes
};

namespace detail {
// One sealing key and its sequence: what TrafficSender, TeamSender (per team) and
// PrivateChannel keep to seal under the current epoch. src/traffic/framing.h
// (detail::seal_traffic) seals with it and advances next_seq.
struct SealingKey {
  bool ready = false;     // a key is set
  uint64_t epoch = 0;     // the epoch the key belongs to
  uint64_t next_seq = 0;  // the sequence the next packet carries
  SymmetricKey key;
};
}  // namespace detail

class TrafficSender {
 public:
  // Errors: kUnsupported for an AEAD suite this CPU lacks (aes256gcm without AES-NI).
  static Result<TrafficSender> create(const TrafficConfig& config, SenderId id);

  // Starts `epoch`: derives this sender's key from the net key; the sequence restarts.
  void set_epoch(uint64_t epoch, const SymmetricKey& net_key);
  bool ready() const { return sealing_.ready; }
  uint64_t epoch() const { return sealing_.epoch; }
  SenderId id() const { return id_; }

  // Seals `payload` into `out` as one packet; returns its size (payload + 24).
  // The type is kMemberData for a member and kRootBroadcast for the Root.
  // Errors: kInvalidArgument when no epoch is set, the payload exceeds max_payload, or
  // `out` is too small; kUnsupported when this epoch's 2^32 sequences are used up
  // (wait for the next rekey: never reuse a nonce).
  Result<size_t> seal(std::span<const uint8_t> payload, std::span<uint8_t> out);
  // Root only: a type-3 packet with an Ed25519 signature; size payload + 88.
  Result<size_t> seal_signed(std::span<const uint8_t> payload, std::span<uint8_t> out,
                             const SigningKey& root_key);
  // Allocating convenience over seal().
  Result<std::vector<uint8_t>> seal(std::span<const uint8_t> payload);
  // The sequence the next packet will carry.
  uint64_t next_seq() const { return sealing_.next_seq; }

 private:
  friend struct TestingAccess;  // netkey/testing.h: testing::advance_seq
  TrafficSender(const TrafficConfig& c, SenderId id, Aead aead) : config_(c), id_(id), aead_(aead) {}
  Result<size_t> seal_as(PacketType type, std::span<const uint8_t> payload, std::span<uint8_t> out);

  TrafficConfig config_;
  SenderId id_;
  Aead aead_;
  detail::SealingKey sealing_;
};

struct OpenedPacket {
  SenderId sender;  // type 4: the team index
  PacketType type;
  uint64_t epoch;
  uint32_t seq;
  std::vector<uint8_t> payload;
  // How long the packet waited in the next-epoch buffer for its key, in ns (now of the
  // set_epoch that opened it minus now of its arrival); 0 when it opened on arrival.
  // The stall metric of issue 13.
  uint64_t buffered_ns = 0;
  // The delivery class it arrived with (handle()'s argument).
  Delivery delivery = Delivery::kUnreliableSequenced;
};

// The Root's sealing side of team broadcasts (type 4): one packet per team, whatever its
// size, under the team key of the epoch; the sender field is the team index.
class TeamSender {
 public:
  // Errors: kUnsupported for an AEAD suite this CPU lacks.
  static Result<TeamSender> create(const TrafficConfig& config);

  // Starts `epoch`: forgets every team key; each team's sequence restarts with its key.
  void set_epoch(uint64_t epoch);
  // Installs `team`'s key for the current epoch (call after set_epoch, once per team).
  // Aborts (misuse) when set_epoch was never called, or when `team` already has a key in
  // this epoch: replacing it would restart its sequence under a possibly equal key.
  void set_team_key(TeamId team, const SymmetricKey& team_key);
  // Seals `payload` for `team` into `out`; returns its size (payload + 24).
  // Errors: kInvalidArgument when `team` has no key in this epoch, the payload exceeds
  // max_payload, or `out` is too small; kUnsupported when the team's 2^32 sequences of
  // this epoch are used up (wait for the next rekey).
  Result<size_t> seal(TeamId team, std::span<const uint8_t> payload, std::span<uint8_t> out);
  uint64_t epoch() const { return epoch_; }

 private:
  struct Team {
    TeamId id;
    detail::SealingKey sealing;  // epoch = the TeamSender's
  };
  TeamSender(const TrafficConfig& c, Aead aead) : config_(c), aead_(aead) {}
  TrafficConfig config_;
  Aead aead_;
  bool ready_ = false;
  uint64_t epoch_ = 0;
  std::vector<Team> teams_;  // a handful per match: a linear search is fastest
};

namespace detail {
class EpochKeys;
}

// A participant's receive side: opens Root broadcasts and relayed member packets.
class TrafficReceiver {
 public:
  static Result<TrafficReceiver> create(const TrafficConfig& config);
  TrafficReceiver(TrafficReceiver&&) noexcept;
  TrafficReceiver& operator=(TrafficReceiver&&) noexcept;
  ~TrafficReceiver();

  // Installs the net key of `epoch` (from a Welcome, rekey or Resync). The current epoch
  // becomes the previous one, accepted until now_ns + grace. Buffered packets of the new
  // epoch are opened in arrival order and queued for poll().
  // Keys older than kRetainedEpochs epochs, or past every grace, are forgotten.
  // This overload: no team in `epoch` (team broadcasts are dropped as kOtherTeam).
  void set_epoch(uint64_t epoch, const SymmetricKey& net_key, uint64_t now_ns);
  // The same, and this member is in `team` in `epoch` with `team_key` (the team key of
  // that epoch): type-4 packets of that team open, other teams' are kOtherTeam.
  void set_epoch(uint64_t epoch, const SymmetricKey& net_key, TeamId team, const SymmetricKey& team_key,
                 uint64_t now_ns);
  // Feeds one packet that arrived with `delivery`. Opened packets are queued for poll();
  // drops are counted by reason. Packets of the next epoch (or any epoch before the
  // first key) are buffered, bounded by count and bytes. Never aborts on hostile bytes.
  void handle(std::span<const uint8_t> packet, uint64_t now_ns,
              Delivery delivery = Delivery::kUnreliableSequenced);
  // Zero-copy variant for packets of the current or previous epoch: opens into `out`
  // (size >= packet - 24) and returns the payload size. Next-epoch packets (or any before
  // the first key) are buffered as by handle() and reported as size 0; they come out of
  // poll() after set_epoch. Nothing is queued for poll() by an opened packet.
  // Errors: the packet was dropped (and counted in drops()); the Status is
  // drop_status(reason) (see there: the code follows the reason, the message is its
  // name) and `*reason`, when given, receives the DropReason itself. Hostile input: the
  // caller discards the packet and carries on. An `out` shorter than the payload is
  // counted and reported as kTooLarge.
  Result<size_t> open_into(std::span<const uint8_t> packet, uint64_t now_ns, std::span<uint8_t> out,
                           TrafficHeader* header = nullptr, DropReason* reason = nullptr,
                           Delivery delivery = Delivery::kUnreliableSequenced);
  std::optional<OpenedPacket> poll();

  const DropCounters& drops() const;
  size_t buffered() const;
  // How many packets were held in the next-epoch buffer and then opened (by a later
  // set_epoch), since creation: the stall count of issue 13 (OpenedPacket::buffered_ns
  // has each one's wait).
  uint64_t opened_after_buffering() const;
  bool has_epoch() const;
  uint64_t epoch() const;

 private:
  explicit TrafficReceiver(std::unique_ptr<detail::EpochKeys> k);
  std::unique_ptr<detail::EpochKeys> k_;
};

// The Root's check on member traffic before relaying the same bytes to everyone else.
class TrafficRelay {
 public:
  static Result<TrafficRelay> create(const TrafficConfig& config);
  TrafficRelay(TrafficRelay&&) noexcept;
  TrafficRelay& operator=(TrafficRelay&&) noexcept;
  ~TrafficRelay();

  void set_epoch(uint64_t epoch, const SymmetricKey& net_key, uint64_t now_ns);
  // Checks, in order: size, version, type (member data; 5 and 6 are kWrongChannel),
  // sender id == `from` (kSpoofedSender), epoch current, previous within
  // previous_epoch_grace_ns, any retained one within reliable_grace_ns when `delivery`
  // is reliable or within relay_retained_grace_ns, replay, tag. Returns OK
  // when the packet may be relayed unchanged; when `plaintext` is given it then receives
  // the payload (the Root's game reads input), and is left untouched otherwise.
  // Errors: the packet was dropped and counted in drops() under its reason; the Status
  // is drop_status(reason): its message is drop_reason_name(reason), its code the
  // nearest Errc (table at drop_status). The caller must not relay the bytes, and
  // carries on (hostile or stale input, never fatal).
  [[nodiscard]] Status check(std::span<const uint8_t> packet, SenderId from, uint64_t now_ns,
                             std::vector<uint8_t>* plaintext = nullptr,
                             Delivery delivery = Delivery::kUnreliableSequenced);
  const DropCounters& drops() const;

 private:
  explicit TrafficRelay(std::unique_ptr<detail::EpochKeys> k);
  std::unique_ptr<detail::EpochKeys> k_;
  std::vector<uint8_t> scratch_;
};

}  // namespace netkey

#endif  // NETKEY_TRAFFIC_H_
