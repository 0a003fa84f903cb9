// netkey/traffic.h: encrypt-once traffic under the net key.
//
// Packet layout (docs/PROTOCOL.md "Traffic" counts every byte):
//
//   offset size
//   0      1    version (high 4 bits, = 1) | type (low 4 bits)
//   1      1    epoch mod 256: tells previous, current and next apart
//   2      2    sender id, little-endian (0 = the Root)
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

enum class PacketType : uint8_t {
  kMemberData = 1,           // a member's packet, relayed by the Root
  kRootBroadcast = 2,        // server state, authenticated to the group
  kRootSignedBroadcast = 3,  // server state, also signed by the Root
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

class TrafficSender {
 public:
  // Errors: kUnsupported for an AEAD suite this CPU lacks (aes256gcm without AES-NI).
  static Result<TrafficSender> create(const TrafficConfig& config, SenderId id);

  // Starts `epoch`: derives this sender's key from the net key; the sequence restarts.
  void set_epoch(uint64_t epoch, const SymmetricKey& net_key);
  bool ready() const { return ready_; }
  uint64_t epoch() const { return epoch_; }
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
  uint64_t next_seq() const { return next_seq_; }

 private:
  friend struct TestingAccess;  // netkey/testing.h: testing::advance_seq
  TrafficSender(const TrafficConfig& c, SenderId id, Aead aead) : config_(c), id_(id), aead_(aead) {}
  Result<size_t> seal_as(PacketType type, std::span<const uint8_t> payload, std::span<uint8_t> out);

  TrafficConfig config_;
  SenderId id_;
  Aead aead_;
  bool ready_ = false;
  uint64_t epoch_ = 0;
  uint64_t next_seq_ = 0;
  SymmetricKey key_;
};

struct OpenedPacket {
  SenderId sender;
  PacketType type;
  uint64_t epoch;
  uint32_t seq;
  std::vector<uint8_t> payload;
  // How long the packet waited in the next-epoch buffer for its key: from its arrival
  // (handle) to its opening when set_epoch installed that key. 0 when it was opened on
  // arrival. What a player feels as a stall during a rekey.
  uint64_t buffered_ns = 0;
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
  void set_epoch(uint64_t epoch, const SymmetricKey& net_key, uint64_t now_ns);
  // Feeds one packet. Opened packets are queued for poll(); drops are counted by
  // reason. Packets of the next epoch (or any epoch before the first key) are buffered,
  // bounded by count and bytes. Never aborts on hostile bytes.
  void handle(std::span<const uint8_t> packet, uint64_t now_ns);
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
                           TrafficHeader* header = nullptr, DropReason* reason = nullptr);
  std::optional<OpenedPacket> poll();

  const DropCounters& drops() const;
  size_t buffered() const;
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
  // Checks, in order: size, version, type (member data), sender id == `from`
  // (kSpoofedSender), epoch current or previous within grace, replay, tag. Returns OK
  // when the packet may be relayed unchanged; when `plaintext` is given it then receives
  // the payload (the Root's game reads input), and is left untouched otherwise.
  // Errors: the packet was dropped and counted in drops() under its reason; the Status
  // is drop_status(reason): its message is drop_reason_name(reason), its code the
  // nearest Errc (table at drop_status). The caller must not relay the bytes, and
  // carries on (hostile or stale input, never fatal).
  [[nodiscard]] Status check(std::span<const uint8_t> packet, SenderId from, uint64_t now_ns,
                             std::vector<uint8_t>* plaintext = nullptr);
  const DropCounters& drops() const;

 private:
  explicit TrafficRelay(std::unique_ptr<detail::EpochKeys> k);
  std::unique_ptr<detail::EpochKeys> k_;
  std::vector<uint8_t> scratch_;
};

}  // namespace netkey

#endif  // NETKEY_TRAFFIC_H_
