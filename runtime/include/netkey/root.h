// netkey/root.h: the Root (the game server) as a sans-I/O state machine.
//
// The Root checks the charter, admits participants, runs one authenticated handshake
// per participant, keeps the key tree, batches joins and leaves, sends rekeys and
// Welcomes, relays member traffic and broadcasts state under the net key.
//
// Two doors, kept apart (docs/STATE-MACHINE.md "Admission" and "Root"):
//   * handle_datagram(address, ...): raw datagrams before any connection. Only Hello and
//     HandshakeInit are taken, by address, never on behalf of a member's PeerId:
//     1. Hello (padded) -> a stateless cookie bound to the address and the time.
//     2. HandshakeInit: cookie, charter hash, per-address and per-IP rate, certificate,
//        proof of possession (the sender signs the cookie with the certificate's key), ACL,
//        clearance, per-subject limit, room (members + joins < cap). Only then a member
//        id, an X25519 and the Root's signature (HandshakeResponse).
//   * peer_connected(peer, address): binds one transport connection to that answered
//     handshake; then handle_control(peer, ...) takes the HandshakeFinish, and after it
//     only Authenticated messages sealed under the member's control key.
// The member secret is KDF(X25519 secret, transcript); the join enters the batch, and at
// commit the participant gets its Welcome. Refusals are typed and counted.
//
// Teams, private messages, delivery (issue 12; docs/PROTOCOL.md "Team broadcasts",
// "Private messages", "Transport: ENet"): with a charter that has teams (tree_teams),
// the game places subjects with assign_team (joins, or switches batched like joins and
// leaves); each commit installs the teams' keys of the new epoch into a TeamSender, so
// broadcast_to_team is one seal per call. Every member has a PrivateChannel from its
// admission to its removal (send_private; type-6 packets from its connection only).
// Every send takes a Delivery, carried on the Transmit; handle_traffic takes the class
// the packet came with, and reliable ones get the reliable grace.
//
// Every run of a Root draws a boot nonce: group_id() = H(session, boot nonce) is bound
// into every rekey, traffic AD and ACL update, so nothing replays across a restart.
//
// Batching: a batch commits when the charter's window has elapsed since its first
// request, when it reaches the charter's maximum size, or at once for a security
// removal (the List Controller's). poll_timeout() gives the next deadline.
//
// The transport seam (what a host such as enet::ServerHost or tests/sim implements):
//   in   handle_datagram(address)         a raw datagram before any connection
//        peer_connected(peer, address)    the transport accepted a connection: a PeerId
//                                         now names it (false: close it)
//        handle_control / handle_traffic  bytes on that connection's channels
//        peer_disconnected(peer)          the connection is gone
//        handle_timeout(now)              at or after poll_timeout()
//   out  poll_transmit(), in order:
//        To::kAddress     a raw reply to an address (no connection exists)
//        To::kPeer        bytes for one connection; then_disconnect: close it after
//        To::kAllMembers  the same bytes for every peer in the member set, but
//                         `except` and `skip`: one shared buffer, fanned out by the
//                         transport
//        To::kTeam        the same for the member peers of one team (a team
//                         broadcast); the transport knows each member's team from
//                         member_change (kAdded carries it, kTeamChanged changes it)
//        delivery         traffic's class: kReliableOrdered on Channel::kEvents
//                         (reliable), the others unreliable on kState / kMember
//                         (kUnreliable unsequenced)
//        member_change    kAdded / kRemoved / kTeamChanged: the member set (the peers that hold the
//                         current epoch) changes here, in stream order
//                         (Transmit::member_change). A transport keeps its member set
//                         from these alone; it never needs member_peers() per send.
//        poll_event()     RootEvents for the game.
//   The transport keeps one map, PeerId <-> its connection, and its member set; the
//   Root keeps everything about who the peers are. Its const queries
//   (accepts_connection_from, connect_tag, has_connection) let a transport gate
//   datagrams before a connection without a second copy of the Root's books.
//
// Single-threaded: call everything from one thread (the game's network tick).
#ifndef NETKEY_ROOT_H_
#define NETKEY_ROOT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netkey/charter.h"
#include "netkey/group.h"
#include "netkey/keytree.h"
#include "netkey/random.h"
#include "netkey/sign.h"
#include "netkey/status.h"
#include "netkey/traffic.h"

namespace netkey {

struct RootConfig {
  std::vector<uint8_t> charter;          // signed by the Initiator
  Ed25519PublicKey ca_public_key;
  std::vector<uint8_t> certificate;      // the Root's own (role root, key id = charter's)
  SigningSeed signing_seed;              // the Root's identity key
  // Wall-clock for certificate checks: Unix seconds = unix_time_at_zero + now_ns / 1e9.
  uint64_t unix_time_at_zero = 0;
  uint64_t cookie_lifetime_ns = 10'000'000'000;
  uint64_t handshake_timeout_ns = 10'000'000'000;
  size_t max_handshakes_in_flight = 4096;
  // "rate limited" past these. Per IP counts every port of an address; raise it for many
  // clients behind one address (bots on loopback, a LAN party behind one NAT).
  uint32_t max_handshakes_per_ip_per_s = 64;
  uint32_t max_handshakes_per_subject_per_s = 4;
  uint32_t max_handshakes_per_address_per_s = 8;  // one ip:port: a share of its IP's budget
  size_t max_rate_entries = 65536;  // per table; full tables refuse new keys, never reset
  uint64_t resync_min_interval_ns = 200'000'000;   // per member
  // How rekeys reach members (docs/PERFORMANCE.md has the trade-off):
  //   kWhole   one signed message, the same bytes for everyone: least Root CPU
  //   kSlices  one sealed Slice per member: least bytes per member (O(log n)), but one
  //            AEAD seal per member per batch
  //   kAuto    the fewer bytes: the Whole while it is at most auto_whole_max_bytes and
  //            no larger than one member's Slice (a batch with no or hardly any path
  //            keys), Slices otherwise. Every member who stays receives one or the other,
  //            so a 1.4 KB Whole to 200 members costs 7x their ~200-byte Slices.
  enum class RekeyEncoding : uint8_t { kAuto, kSlices, kWhole };
  RekeyEncoding rekey_encoding = RekeyEncoding::kAuto;
  size_t auto_whole_max_bytes = 4096;
  // Redundant rekey delivery (issue 13): every rekey (the Whole, or each member's Slice)
  // is also sent rekey_copies times unreliably, on the rekey channel (Transmit::
  // redundant): the first right after the reliable originals, the others just before
  // each of the next broadcasts, in the snapshot's flush. ServerHost puts a run of
  // copies in a datagram of its own (a loss of the original's datagram is not the
  // copy's) and sends them only to lossy connections. A member who lost the original
  // then applies a copy at once instead of waiting for ENet's retransmission (whose
  // ordered channel also holds back every later rekey meanwhile). Exactly this many
  // copies per rekey, whatever members send; 0 turns it off. A copy the member already
  // holds is a stale rekey to it (Participant stats rekeys_stale).
  uint32_t rekey_copies = 2;
  // Relay verified member traffic to every other member (peer-to-peer style chat, voice).
  // An authoritative game server that only consumes player input turns this off: the
  // input still reaches it as a kMessage event.
  bool relay_member_traffic = true;
  // Limits. The group id, suite, signed_broadcasts and root_public_key come from the
  // charter and the Root's certificate: leave them
  // at their defaults (0, kChaCha20Poly1305, false, all zero); a conflicting value makes create()
  // fail with kInvalidArgument instead of being overwritten.
  // The Root's relay takes member input from any retained epoch up to
  // kRootRelayRetainedGraceNs after it stopped being current (issue 13: a player whose
  // rekey is still on its way, or who sent just before one, loses no input; 0 turns it
  // off). The key of an epoch that ended with a member's removal opens nothing from that
  // member: the relay takes input only under the connection's own sender id, and the
  // removed member's connection is gone.
  static constexpr uint64_t kRootRelayRetainedGraceNs = 1'000'000'000;
  TrafficConfig traffic = [] {
    TrafficConfig t;
    t.relay_retained_grace_ns = kRootRelayRetainedGraceNs;
    return t;
  }();
};

struct RootEvent {
  enum class Kind : uint8_t {
    kJoined,    // member `member` (`subject`) received its Welcome at `epoch`
    kLeft,      // member left at `epoch` (voluntary, disconnected, or removed)
    kRefused,   // a participant (`subject` if known) was refused for `reason`
    kRekeyed,   // a batch committed: `epoch`, `joined`, `left`, `wrapped_keys`
    kMessage,   // member traffic (`member`, `payload` in the clear, `type`, `delivery`):
                // type kMemberData was checked (and relayed unless relay is off);
                // kPrivateToRoot was a private message to the Root (never relayed)
    kTeamChanged,  // `member` is in `team` from `epoch` on (a switch committed)
  };
  explicit RootEvent(Kind k) : kind(k) {}
  Kind kind;
  MemberId member = 0;
  std::string subject;
  RefusalReason reason = RefusalReason::kNone;
  uint64_t epoch = 0;
  size_t joined = 0, left = 0, wrapped_keys = 0;
  std::vector<uint8_t> payload;
  PacketType type = PacketType::kMemberData;      // kMessage
  Delivery delivery = Delivery::kUnreliableSequenced;  // kMessage: how it arrived
  TeamId team = kNoTeam;                          // kJoined, kTeamChanged
};

struct RootStats {
  std::array<uint64_t, static_cast<size_t>(RefusalReason::kCount)> refusals{};
  uint64_t cookies_issued = 0;
  uint64_t public_key_ops = 0;        // certificate checks, signatures, X25519: never before a valid cookie
  uint64_t malformed_control = 0;     // dropped control messages (size, Verifier, wrong stage)
  uint64_t raw_unexpected = 0;        // raw datagrams other than Hello/HandshakeInit (dropped)
  uint64_t connections_refused = 0;   // a connection with no answered handshake, or a second one
  uint64_t control_rejected = 0;      // Authenticated control that failed (tag, member, replay)
  uint64_t acl_updates_applied = 0;
  uint64_t acl_updates_rejected = 0;  // bad certificate, signature, session, group or sequence
  uint64_t commits = 0;
  uint64_t resyncs_sent = 0;
  uint64_t resyncs_rate_limited = 0;
  uint64_t rekey_bytes_sent = 0;      // Slices, Wholes, Welcomes, Resyncs (per recipient)
  uint64_t rekey_copies_sent = 0;     // redundant rekey copies (RootConfig::rekey_copies)
  // AEAD seals of traffic: one per broadcast, per team broadcast (whatever the team's
  // size) and per private message.
  uint64_t seals = 0;
  uint64_t private_sent = 0;          // private messages sealed (type 5)
  uint64_t private_received = 0;      // private messages opened (type 6)
  uint64_t refusals_total() const;
};

class Root {
 public:
  // Verifies the charter (CA, initiator role, signature, validity at now) and the Root's
  // own certificate (CA, role root, key id = charter's Root key id, key = signing seed).
  // Errors name what is wrong; the Root refuses to run on an invalid charter:
  //   charter errors (kBadSignature, kExpired, kUnknownIssuer, ...) and certificate errors
  //   as verify_charter / verify_certificate return them; kWrongRole when the charter
  //   elected another Root; kInvalidArgument when the signing seed is not the
  //   certificate's key, or when config.traffic sets a field the charter decides to a
  //   conflicting value (the message names it: traffic.group_id must stay 0,
  //   traffic.suite at its default or the charter's, traffic.signed_broadcasts false or
  //   the charter's) -- fix the config: leave those fields at their defaults;
  //   kUnsupported when this CPU lacks the charter's AEAD suite (run elsewhere).
  static Result<Root> create(RootConfig config, std::unique_ptr<Rng> rng, uint64_t now_ns);
  Root(Root&&) noexcept;
  Root& operator=(Root&&) noexcept;
  ~Root();

  // A raw datagram from `address` ("ip:port") before any connection: Hello or
  // HandshakeInit. Replies are Transmits To::kAddress. Anything else is dropped and
  // counted (raw_unexpected); it never touches a member. Never aborts.
  void handle_datagram(std::string_view address, std::span<const uint8_t> bytes, uint64_t now_ns);
  // The transport accepted a connection `peer` from `address`. True when it binds to the
  // answered handshake of that address; false when there is none, or it is bound
  // already (one connection per handshake): close that connection.
  bool peer_connected(PeerId peer, std::string_view address, uint64_t now_ns);
  // A control message on `peer`'s connection: the HandshakeFinish, then Authenticated
  // messages only (LeaveRequest, ResyncRequest). Hostile bytes are dropped and counted.
  void handle_control(PeerId peer, std::span<const uint8_t> bytes, uint64_t now_ns);
  // An AclUpdate from the List Controller, through a channel the game trusts (the same
  // process, or its own authenticated link): never from a participant's connection or a
  // raw datagram. Errors: kMalformed, kBadSignature, kWrongRole (not the charter's LC),
  // kWrongGroup (another session or run), kStaleEpoch (seq is not last + 1).
  Status submit_acl_update(std::span<const uint8_t> bytes, uint64_t now_ns);
  // Traffic from `peer` that arrived with `delivery` (the transport's flags: ENet's
  // RELIABLE flag is kReliableOrdered, UNSEQUENCED kUnreliable, neither
  // kUnreliableSequenced). Routed by the type nibble:
  //   6 (private to the Root): opened by that peer's member's PrivateChannel only (the
  //     connection names the member; never relayed); a RootEvent kMessage with type
  //     kPrivateToRoot. Drops (replay, another member's id, sealed for another member,
  //     wrong direction, no member on this connection) are counted in private_drops().
  //   5 (private to a member): never taken from a member (kWrongDirection, counted in
  //     private_drops()).
  //   1-4: checked by the relay (types 2-4 are not a member's: dropped and counted in
  //     traffic_drops()); member data is relayed unchanged to every other member with
  //     the same delivery, and reported as a kMessage.
  void handle_traffic(PeerId peer, std::span<const uint8_t> bytes, uint64_t now_ns,
                      Delivery delivery = Delivery::kUnreliableSequenced);
  // The transport lost `peer`: a member's leave enters the next batch.
  void peer_disconnected(PeerId peer, uint64_t now_ns);
  void handle_timeout(uint64_t now_ns);

  // Encrypts `payload` once under the net key (signed if the charter says so) and queues
  // it for every member with `delivery` (kReliableOrdered: on Channel::kEvents).
  // Errors: kInvalidArgument (no members yet, payload too large).
  Status broadcast(std::span<const uint8_t> payload, uint64_t now_ns,
                   Delivery delivery = Delivery::kUnreliableSequenced);
  // Encrypts `payload` once under `team`'s key of the current epoch (type 4, one seal
  // whatever the team's size) and queues one To::kTeam transmit for the team's member
  // peers. Errors: kInvalidArgument (the charter has no teams, `team` out of range,
  // the team has no members, payload too large); kUnsupported when the team's
  // sequences of this epoch are used up (wait for the next rekey).
  Status broadcast_to_team(TeamId team, std::span<const uint8_t> payload, uint64_t now_ns,
                           Delivery delivery = Delivery::kUnreliableSequenced);
  // Seals `payload` for `member` alone (type 5, under its private channel's key of the
  // current epoch) and queues it on that member's connection only. Errors:
  // kInvalidArgument (not a member holding the current epoch -- not yet welcomed,
  // removed or unknown --, payload too large); kUnsupported when the channel's
  // sequences of this epoch are used up.
  Status send_private(MemberId member, std::span<const uint8_t> payload, uint64_t now_ns,
                      Delivery delivery = Delivery::kUnreliableSequenced);
  // Places `subject` in `team`. Before the subject is a member (not connected, or its
  // join still pending): its join goes into that team (an unassigned joiner goes to the
  // smallest team, ties to the lowest index). A member: a switch, batched with joins
  // and leaves into the next commit (which rekeys the old and the new team's paths and
  // the root); kTeamChanged events then report it. Assigning a member its current team
  // cancels a pending switch. Errors: kInvalidArgument (the charter has no teams,
  // `team` out of range, the member is leaving).
  Status assign_team(std::string_view subject, TeamId team, uint64_t now_ns);
  // Commits the pending batch now (e.g. at the end of a tick). No-op when empty.
  void flush(uint64_t now_ns);

  std::optional<Transmit> poll_transmit();
  std::optional<RootEvent> poll_event();
  std::optional<uint64_t> poll_timeout() const;

  // The peers that hold the current epoch, after everything queued so far: where a
  // Transmit::To::kAllMembers goes when the transport drains the queue after every call
  // (Transmit::member_change gives the same set as a stream; a transport should keep
  // that instead of calling this per send, which copies the set).
  std::vector<PeerId> member_peers() const;
  // True while a connection from `address` is bound (from peer_connected until
  // peer_disconnected). The Root drops raw datagrams from such an address, and a
  // transport's gate may drop them, and any new connection attempt from it, earlier.
  bool has_connection(std::string_view address) const;
  // True when `address` may open a transport connection: its handshake was answered and
  // no connection is bound to it yet (for the ENet intercept hook).
  bool accepts_connection_from(std::string_view address) const;
  // The connect tag of that answered handshake (Participant::connect_tag() on the other
  // side): a transport binds its connection to it (ENet: only a CONNECT carrying it as
  // its connect ID passes the gate). nullopt when there is no such handshake.
  std::optional<uint32_t> connect_tag(std::string_view address) const;

  const CharterFields& charter() const;
  // This run's group id: H(session, boot nonce). A List Controller signs it into every
  // ACL update; rekeys and traffic bind it.
  uint64_t group_id() const;
  uint64_t epoch() const;
  size_t member_count() const;
  size_t pending() const;
  bool has_net_key() const;
  const RootStats& stats() const;
  const DropCounters& traffic_drops() const;
  // The member id of a connected member's subject, if any.
  std::optional<MemberId> member_of(std::string_view subject) const;
  // The charter's team count (0: no teams).
  uint8_t team_count() const;
  // A member's team in the current epoch (nullopt: not a member, or no teams).
  std::optional<TeamId> team_of(MemberId member) const;
  // Members in `team` in the current epoch (0 when out of range).
  size_t team_size(TeamId team) const;
  // Private packets dropped, by reason (all members' channels, and type 5/6 packets on a
  // connection without a member).
  const DropCounters& private_drops() const;

 private:
  friend struct TestingAccess;  // netkey/testing.h: testing::root_net_key
  struct Impl;
  explicit Root(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netkey

#endif  // NETKEY_ROOT_H_
