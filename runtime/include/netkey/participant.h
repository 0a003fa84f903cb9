// netkey/participant.h: a player's client (or a bot) as a sans-I/O state machine.
//
// States (docs/STATE-MACHINE.md "Participant"):
//   kConnecting  Hello sent (retransmitted until a cookie arrives)
//   kCookie      HandshakeInit sent with the cookie (retransmitted until the Response)
//   kHandshake   the Root's Response verified; HandshakeFinish sent; waiting for Welcome
//   kWelcomed    the Welcome applied: it holds its path and the net key
//   kInGroup     it has applied a rekey or opened traffic under the group's keys
//   kRefused / kRemoved / kLeft   terminal
// It applies rekeys in either encoding, asks for a Resync on an epoch gap, and can leave
// with a LeaveRequest. After the Response, control with the Root is Authenticated under
// a key from the member secret, both ways; raw datagrams are ignored from then on.
// With teams it holds its team's key per epoch (team(), kTeamChanged); it has its own
// private channel with the Root (send_private, type-5 packets); every send takes a
// Delivery class (netkey/traffic.h).
#ifndef NETKEY_PARTICIPANT_H_
#define NETKEY_PARTICIPANT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "netkey/charter.h"
#include "netkey/group.h"
#include "netkey/keytree.h"
#include "netkey/random.h"
#include "netkey/sign.h"
#include "netkey/status.h"
#include "netkey/traffic.h"

namespace netkey {

class MemberKeys;

struct ParticipantConfig {
  std::vector<uint8_t> charter;      // the match's charter, from the lobby
  Ed25519PublicKey ca_public_key;
  std::vector<uint8_t> certificate;  // own, role participant
  SigningSeed signing_seed;          // own identity key
  uint64_t unix_time_at_zero = 0;    // Unix seconds = this + now_ns / 1e9
  uint64_t retransmit_ns = 500'000'000;  // Hello / HandshakeInit retransmission
  uint32_t max_retransmits = 10;         // then the participant gives up (kRefused)
  // kHandshake: no Welcome within this (plus the charter's batch window) -> kRefused.
  uint64_t handshake_timeout_ns = 10'000'000'000;
  uint64_t resync_interval_ns = 250'000'000;  // at most one ResyncRequest per interval
  // Limits. The group id, suite, signed_broadcasts and root_public_key come from the
  // charter and the Root's certificate: leave them
  // at their defaults (0, kChaCha20Poly1305, false, all zero); a conflicting value makes create()
  // fail with kInvalidArgument instead of being overwritten.
  TrafficConfig traffic;
};

struct ParticipantEvent {
  enum class Kind : uint8_t {
    kWelcomed,          // `epoch`: keys in hand
    kRekeyed,           // `epoch`
    kMessage,           // `sender`, `payload`, `type`, `delivery`: type kRootBroadcast /
                        // kRootSignedBroadcast (sender 0), kTeamBroadcast (sender = the
                        // team index), kPrivateToMember (sender 0: the Root), or
                        // kMemberData (sender = the member id)
    kTeamChanged,       // `team` is our team from `epoch` on (first set at the Welcome)
    kRefused,           // `reason` (kRemoved for a removal); `reason` kNone = gave up (no
                        // answer, or no Welcome in time); a refusal heard before the
                        // handshake is reported only when the retries run out
    kResyncRequested,   // at `epoch`: an epoch gap, or a rekey we could not apply (unknown_key)
    // Never produced by Participant itself: a transport binding (netkey::enet::ClientHost)
    // reports that its connection to the Root ended without the participant asking
    // (the Root timed out or closed it). Nothing more arrives on that connection; the
    // participant's state is left as it was. Not sent after leave() or vanish().
    kDisconnected,
  };
  explicit ParticipantEvent(Kind k) : kind(k) {}
  Kind kind;
  uint64_t epoch = 0;
  SenderId sender = 0;
  PacketType type = PacketType::kMemberData;
  Delivery delivery = Delivery::kUnreliableSequenced;  // kMessage: how it arrived
  TeamId team = kNoTeam;                               // kTeamChanged
  std::vector<uint8_t> payload;
  RefusalReason reason = RefusalReason::kNone;
  // kMessage: how long the packet waited for its epoch's key (OpenedPacket::buffered_ns);
  // 0 when it was opened on arrival.
  uint64_t buffered_ns = 0;
};

struct ParticipantStats {
  uint64_t rekeys_applied = 0;
  uint64_t rekeys_rejected = 0;     // any apply error other than stale/needs-resync
  uint64_t rekeys_stale = 0;
  uint64_t rekeys_early = 0;        // arrived before the Welcome, so ignored (should stay 0)
  uint64_t resyncs_requested = 0;
  uint64_t control_malformed = 0;
  uint64_t control_rejected = 0;    // Authenticated control that failed (tag, replay, member)
  uint64_t raw_ignored = 0;         // raw datagrams after the Response (spoofed or late)
  uint64_t refusals_heard = 0;      // raw Refusals before the handshake (unauthenticated)
  uint64_t responses_rejected = 0;  // HandshakeResponses that did not verify (dropped)
  uint64_t rekey_bytes = 0;
  uint64_t state_bytes = 0;
};

class Participant {
 public:
  enum class State : uint8_t { kIdle, kConnecting, kCookie, kHandshake, kWelcomed, kInGroup, kRefused, kRemoved, kLeft };

  // Verifies the charter against the CA, and that the certificate is this key's.
  // Errors: the charter's own (kBadSignature, kExpired, ... from verify_charter) and the
  // certificate's parse errors, as they come; kInvalidArgument when the signing seed is
  // not the certificate's key, or when config.traffic sets a field the charter decides to
  // a conflicting value (the message names it; see ParticipantConfig::traffic) -- fix
  // the config; kUnsupported when this CPU lacks the charter's AEAD suite.
  static Result<Participant> create(ParticipantConfig config, std::unique_ptr<Rng> rng, uint64_t now_ns);
  Participant(Participant&&) noexcept;
  Participant& operator=(Participant&&) noexcept;
  ~Participant();

  // Sends the Hello. Misuse unless kIdle.
  void start(uint64_t now_ns);
  // A raw datagram from the Root's address before the connection (CookieChallenge,
  // HandshakeResponse, Refusal). Ignored and counted once the Response is taken.
  void handle_datagram(std::span<const uint8_t> bytes, uint64_t now_ns);
  // A message on the connection's control channel: Authenticated only.
  void handle_control(std::span<const uint8_t> bytes, uint64_t now_ns);
  void handle_rekey(std::span<const uint8_t> bytes, uint64_t now_ns);
  // Traffic from the Root's connection that arrived with `delivery` (the transport's
  // flags, as Root::handle_traffic). Type 5 goes to our PrivateChannel (drops counted in
  // private_drops()), 1-4 to the traffic receiver (traffic_drops(); a team broadcast of
  // another team is kOtherTeam), 6 is dropped as kWrongDirection in private_drops().
  void handle_traffic(std::span<const uint8_t> bytes, uint64_t now_ns,
                      Delivery delivery = Delivery::kUnreliableSequenced);
  void handle_timeout(uint64_t now_ns);

  // Encrypts member traffic for the Root to relay to every other member, with
  // `delivery` (kReliableOrdered: Channel::kEvents; else Channel::kMember). Errors:
  // kInvalidArgument before the Welcome (the message says so, for every class: a
  // reliable send is not queued for later) or for a payload over the limit;
  // kUnsupported when the epoch's sequence numbers are used up (until the next rekey).
  Status send(std::span<const uint8_t> payload, uint64_t now_ns,
              Delivery delivery = Delivery::kUnreliableSequenced);
  // A private message to the Root alone (type 6 under our PrivateChannel; never
  // relayed). Errors as send().
  Status send_private(std::span<const uint8_t> payload, uint64_t now_ns,
                      Delivery delivery = Delivery::kUnreliableSequenced);
  // Sends an Authenticated LeaveRequest; the participant is kLeft. No-op before the
  // HandshakeResponse.
  void leave(uint64_t now_ns);

  std::optional<Transmit> poll_transmit();  // always to the Root (peer 0)
  std::optional<ParticipantEvent> poll_event();
  std::optional<uint64_t> poll_timeout() const;

  State state() const;
  MemberId member_id() const;   // 0 before the HandshakeResponse
  uint64_t group_id() const;    // this run's group id; 0 before the HandshakeResponse
  // 32 bits both sides derive from the member secret (KDF "nk-conid"), for the transport
  // to bind its connection to this handshake (ENet: the connect ID, which also seeds its
  // packet checksums). 0 before the HandshakeResponse.
  uint32_t connect_tag() const;
  uint64_t epoch() const;
  bool has_net_key() const;
  const SymmetricKey& net_key() const;  // aborts when !has_net_key()
  const CharterFields& charter() const;
  const ParticipantStats& stats() const;
  const DropCounters& traffic_drops() const;
  // Private packets (types 5, 6) dropped, by reason.
  const DropCounters& private_drops() const;
  // Our team in the current epoch (nullopt: no teams in the charter, or before the
  // Welcome).
  std::optional<TeamId> team() const;

 private:
  friend struct TestingAccess;  // netkey/testing.h: testing::held_keys, testing::member_keys
  struct Impl;
  explicit Participant(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

std::string_view participant_state_name(Participant::State s);

}  // namespace netkey

#endif  // NETKEY_PARTICIPANT_H_
