// netkey/private_channel.h: private messages between the Root and one member.
//
// Types 5 (Root -> member) and 6 (member -> Root) of the traffic layout (netkey/traffic.h,
// docs/PROTOCOL.md "Private messages"): the same 8-byte header and 24 bytes of overhead,
// the sender field carries the member id of the channel's member (in both directions),
// AD = header || le64(group id), nonce = le32("traf") || zeros || le64(seq). They travel
// only on the member's own connection and are never relayed.
//
// Keys: private base = KDF(member secret, "nk-privb", 0), once per membership;
// epoch key = keyed BLAKE2b-256(key = base, "nk-privk" || le64(epoch) || u8(direction))
// with direction 0 for type 5 and 1 for type 6.
//
// Why (key, nonce) never repeats: each direction has its own key (the direction byte
// is in the derivation) and its own sequence, which starts at 0 when the sealing side
// enters an epoch and only grows; seal() refuses to pass 2^32 - 1. A new epoch is a new
// key. set_epoch with the current or an older epoch is ignored, so a sequence never
// restarts under a key it has used. A reconnect is a new handshake, so a new member
// secret and a new base: even a reused member id or epoch gives other keys.
//
// Lifetime: one PrivateChannel per member at the Root (side kRoot) and one at the
// member (side kMember), created when the member is admitted (its member secret is
// known) and set to each epoch as the member's keys are. A removed member's channel
// dies with its membership: the Root destroys its PrivateChannel in the batch that
// removes the member, so nothing is sealed for it afterwards, and it never receives the
// keys of later epochs of anything else.
//
// Wiring (src/group/root.cc): Root: on admission `PrivateChannel::create(cfg, member,
// kRoot)` and private_base_key(member secret); before each use (seal, or open of a
// type-6 packet from that member's connection only) set_epoch for every epoch since
// the channel's last one (from the member's Welcome epoch), each with the time that
// epoch started, which is the same as setting it at every commit without the per-member
// cost at commit; destroyed when the membership ends. Participant: the same with kMember
// after the Welcome, set_epoch on each applied rekey. Route by the type nibble
// (packet[0] & 0x0f): 5 and 6 here, 1 to 4 to TrafficRelay / TrafficReceiver.
//
// Sans-I/O, single-threaded.
#ifndef NETKEY_PRIVATE_CHANNEL_H_
#define NETKEY_PRIVATE_CHANNEL_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "netkey/aead.h"
#include "netkey/keys.h"
#include "netkey/replay_window.h"
#include "netkey/status.h"
#include "netkey/traffic.h"

namespace netkey {

// Which end of a private channel this object is.
enum class PrivateSide : uint8_t {
  kRoot = 0,    // seals type 5, opens type 6
  kMember = 1,  // seals type 6, opens type 5
};

// KDF(member secret, "nk-privb", 0): the member's private-message base key.
SymmetricKey private_base_key(const SymmetricKey& member_secret);
// The key of one direction in one epoch: keyed BLAKE2b-256(key = base,
// "nk-privk" || le64(epoch) || u8(direction)), direction 0 = Root -> member (type 5),
// 1 = member -> Root (type 6). Aborts (misuse) for a type other than 5 or 6.
SymmetricKey private_epoch_key(const SymmetricKey& base, uint64_t epoch, PacketType type);

class PrivateChannel {
 public:
  // Errors: kUnsupported for an AEAD suite this CPU lacks; kInvalidArgument for member 0
  // (the Root's own id).
  static Result<PrivateChannel> create(const TrafficConfig& config, SenderId member, PrivateSide side);

  // Enters `epoch` with the member's private base key (private_base_key). The current
  // epoch is retained (see TrafficConfig: the previous one for previous_epoch_grace_ns,
  // all retained ones for reliable_grace_ns); the sealing sequence restarts at 0.
  // An epoch not newer than the current one is ignored (returns false).
  bool set_epoch(uint64_t epoch, const SymmetricKey& private_base, uint64_t now_ns);
  bool ready() const { return sealing_.ready; }
  uint64_t epoch() const { return sealing_.epoch; }
  SenderId member() const { return member_; }
  PrivateSide side() const { return side_; }
  uint64_t next_seq() const { return sealing_.next_seq; }

  // Seals `payload` into `out` (type 5 at the Root, 6 at the member) under the current
  // epoch; returns its size (payload + 24). Errors: kInvalidArgument when no epoch is
  // set, the payload exceeds max_payload or `out` is too small; kUnsupported when this
  // epoch's 2^32 sequences are used up (wait for the next rekey).
  Result<size_t> seal(std::span<const uint8_t> payload, std::span<uint8_t> out);
  Result<std::vector<uint8_t>> seal(std::span<const uint8_t> payload);

  // Opens one packet that arrived on this member's connection with `delivery` into
  // `out` (>= packet - 24 bytes); returns the payload size. Checks, in this order:
  // length (kMalformed, kTooLarge), version (kBadVersion), type (1-4: kWrongChannel;
  // the other private type: kWrongDirection; anything else: kMalformed), member id ==
  // this channel's (kWrongMember), epoch (current; at the member side also the next
  // epoch, whose key it derives from the base; the previous within
  // previous_epoch_grace_ns; any retained within reliable_grace_ns when reliable:
  // else kEpochExpired, or kUnknownEpoch for an epoch it does not hold), replay
  // (kReplay), AEAD (kBadTag: also a packet sealed for another member that names this
  // one). Only then is the sequence marked.
  // Errors: the packet was dropped and counted in drops(); the Status is
  // drop_status(reason) and `*reason`, when given, receives the reason. An `out`
  // shorter than the payload is reported as kTooLarge. Hostile input: carry on.
  Result<size_t> open(std::span<const uint8_t> packet, uint64_t now_ns, std::span<uint8_t> out,
                      Delivery delivery = Delivery::kUnreliableSequenced, DropReason* reason = nullptr);
  const DropCounters& drops() const { return drops_; }

 private:
  struct Slot {
    uint64_t epoch = 0;
    uint64_t retired_ns = 0;  // when it stopped being current (retained slots only)
    SymmetricKey key;         // the incoming direction's key
    ReplayWindow window;
  };
  PrivateChannel(const TrafficConfig& c, SenderId member, PrivateSide side, Aead aead)
      : config_(c), member_(member), side_(side), aead_(aead) {}
  PacketType seal_type() const;
  PacketType open_type() const;
  std::optional<DropReason> frame(std::span<const uint8_t> packet) const;
  // The slot whose key opens epoch byte `b`, or nullptr and the drop reason in `why`.
  // At the member side it may derive a slot ahead (a key only, its window empty).
  Slot* find_slot(uint8_t b, uint64_t now, Delivery delivery, DropReason& why);
  Result<size_t> drop(DropReason r, DropReason* out);

  TrafficConfig config_;
  SenderId member_;
  PrivateSide side_;
  Aead aead_;
  detail::SealingKey sealing_;  // the current epoch (which current_ opens) and its seal_type() key
  SymmetricKey base_;
  Slot current_;
  std::vector<Slot> retained_;  // newest first, at most kRetainedEpochs
  // Member side: incoming keys of epochs after the current one (the next for every
  // class, up to kReliableEpochsAhead for reliable packets), derived from the base when a
  // packet needs one; their windows carry into set_epoch. At most kReliableEpochsAhead.
  std::vector<Slot> ahead_;
  DropCounters drops_;
};

}  // namespace netkey

#endif  // NETKEY_PRIVATE_CHANNEL_H_
