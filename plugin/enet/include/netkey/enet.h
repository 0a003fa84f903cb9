// netkey/enet.h: the ENet binding. A ServerHost drives a Root, a ClientHost drives a
// Participant; both run in the caller's thread through service(timeout_ms).
//
// Channels (netkey::Channel; 5 per connection):
//   0 control  reliable        handshake finish, Authenticated control
//   1 rekey    reliable        Welcomes, rekeys, Resyncs (server -> client only)
//   2 state    unreliable      Root -> members: broadcasts (type 2/3), team broadcasts
//                              (4), private messages (5) sent kUnreliableSequenced
//                              (flags 0) or kUnreliable (ENET_PACKET_FLAG_UNSEQUENCED)
//   3 member   unreliable      member -> Root: member data (1) and private messages (6),
//                              and the relayed member data to the other members; the
//                              same two unreliable classes and flags
//   4 events   reliable        every traffic packet sent kReliableOrdered
//                              (ENET_PACKET_FLAG_RELIABLE), any type, both directions
// A receiver takes the delivery class from the received packet's ENet flags (RELIABLE:
// kReliableOrdered, UNSEQUENCED: kUnreliable, none: kUnreliableSequenced) and hands it
// to the state machine, so a reliable packet gets the reliable grace across rekeys.
//
// Before a connection exists, the cookie exchange (Hello, CookieChallenge,
// HandshakeInit, HandshakeResponse, Refusal) travels as raw UDP datagrams prefixed with
// the 4 bytes FF 4E 4B 01 on the host's own socket. The server's ENet intercept hook
// hands them to the Root's Admission by address (never on behalf of a connected peer:
// raw datagrams from a connected address are dropped), and drops every ENet datagram
// (CONNECT included) from an address whose handshake the Root has not answered, so ENet
// allocates a peer slot only for a client that proved it holds its certificate's key.
// Each answered handshake binds exactly one connection: the CONNECT must carry the
// handshake's secret connect tag (Participant::connect_tag) as its ENet connect ID, and
// both hosts run ENet's CRC-32 checksums, which ENet seeds with the connect ID, so an
// off-path attacker can neither open a connection in a player's name nor forge a packet
// (a DISCONNECT) of an established one. A client in another language must do the same. ENet's compressor hook is never used for
// encryption (it falls back to plaintext); everything is sealed by the runtime.
//
// A broadcast is encrypted once by the Root and sent as one shared, reference-counted
// ENetPacket to every peer that holds the current epoch; a peer not yet welcomed gets
// nothing it cannot read. The host keeps one map, PeerId <-> ENet peer, with a member
// flag and team it sets from the Root's Transmit::member_change stream (netkey/root.h,
// "The transport seam"); it never asks the Root for its member list. A team broadcast
// is one packet fanned out to the member peers of that team only.
#ifndef NETKEY_ENET_H_
#define NETKEY_ENET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/status.h"

namespace netkey::enet {

// Monotonic nanoseconds (the clock the hosts feed their state machines).
uint64_t monotonic_ns();

struct ServerOptions {
  std::string bind_host = "127.0.0.1";
  uint16_t port = 0;                 // 0: any free port (see ServerHost::port())
  size_t max_peers = 4095;           // ENet's limit is 4095
  // Per-peer timeouts tuned for games: a silent peer is dropped after 1..3 s (ENet's
  // defaults are 5..30 s), and becomes a leave in the next batch. The limit is ENet's
  // own (a reliable packet may be sent 6 times before the 1 s minimum drops the peer):
  // with 16 (5 sends), 5 % loss each way dropped about one live peer in 50 per 30 s,
  // and that player saw nothing until its own end timed out.
  uint32_t peer_timeout_limit = 32;
  uint32_t peer_timeout_min_ms = 1000;
  uint32_t peer_timeout_max_ms = 3000;
  // UDP send and receive buffers. A broadcast to N peers is an N-datagram burst (1000
  // peers x 1 KB = 1 MB); ENet's 256 KB default drops the tail of it, which costs
  // unreliable state and a retransmission timeout for reliable rekeys. The kernel caps
  // the request at net.core.wmem_max / rmem_max (raise those on a big server).
  int socket_buffer_bytes = 4 << 20;
  // ENet peers one IP address may hold at once, half-open ones included (ENet's
  // duplicatePeers). Raise it for many clients behind one address (bots on loopback).
  size_t max_peers_per_ip = 16;
  // Retransmission of a lost rekey (issue 13). ENet waits RTT + 4 x its variance, and
  // a new-epoch snapshot waits that long in the member's buffer: under 5 % loss and
  // 5-25 ms jitter, 100-200 ms. On a lossy connection (over 2 % of its reliable packets
  // retransmitted lately) the server shortens the first wait of a rekey-channel packet
  // that is the oldest unacknowledged one to max(rekey_retransmit_floor_ms, RTT +
  // variance); later retries keep ENet's doubling, and its disconnect after
  // peer_timeout_limit. A clean connection keeps ENet's timing (a shortened timeout there
  // only retransmits late acknowledgements). 0 keeps ENet's own timing everywhere.
  uint32_t rekey_retransmit_floor_ms = 20;
};

struct ServerStats {
  uint64_t raw_datagrams = 0;        // pre-connection control datagrams handled
  uint64_t raw_from_connected = 0;   // raw datagrams from a connected address (dropped)
  uint64_t connections_refused = 0;  // CONNECTs without an answered handshake, or a second one
  uint64_t peer_ids_issued = 0;      // PeerIds handed out: one per connection, none per datagram
  uint64_t connects_dropped = 0;     // ENet CONNECTs without the handshake's connect tag, or
                                     // from an address already connected (before ENet sees them)
  uint64_t gated_datagrams = 0;      // ENet datagrams dropped: address without a cookie
  uint64_t wrong_channel = 0;        // packets from a player on the rekey or state channel (server-only)
  uint64_t redundant_skipped = 0;    // redundant rekey copies not sent: the link showed no loss
  uint64_t bytes_sent[kChannelCount] = {};    // payload bytes per channel (per recipient)
  uint64_t packets_sent[kChannelCount] = {};
  // Traffic packets by the delivery class they were sent with (per recipient), and
  // received with (from the ENet flags), indexed by Delivery.
  uint64_t traffic_sent[3] = {};
  uint64_t traffic_received[3] = {};
  uint64_t connections = 0;
  uint64_t disconnections = 0;
};

class ServerHost {
 public:
  // Binds the socket and creates the Root (errors from Root::create, or kIo when the
  // port cannot be bound).
  static Result<std::unique_ptr<ServerHost>> create(RootConfig config, std::unique_ptr<Rng> rng,
                                                    const ServerOptions& options);
  ~ServerHost();

  // Services ENet for up to timeout_ms: feeds the Root, runs its timers, sends what it
  // queued. Call it every tick. Errors: kIo when the socket fails.
  Status service(uint32_t timeout_ms);
  // Encrypts `payload` once and queues it for every member with `delivery` (sent on the
  // next service). Errors as Root::broadcast.
  Status broadcast(std::span<const uint8_t> payload, Delivery delivery = Delivery::kUnreliableSequenced);
  // Encrypts `payload` once under `team`'s key and sends one shared ENet packet to that
  // team's member peers only. Errors as Root::broadcast_to_team.
  Status broadcast_to_team(TeamId team, std::span<const uint8_t> payload,
                           Delivery delivery = Delivery::kUnreliableSequenced);
  // A private message to `member` alone, on its connection. Errors as Root::send_private.
  Status send_private(MemberId member, std::span<const uint8_t> payload,
                      Delivery delivery = Delivery::kUnreliableSequenced);
  // Places `subject` in `team` (its join, or a switch in the next batch). Errors as
  // Root::assign_team.
  Status assign_team(std::string_view subject, TeamId team);
  // Sends everything queued now (ENet flush), without waiting for events.
  void flush();

  // The List Controller's signed ACL update, from a channel the game trusts (the
  // matchmaker inside the server, or its own authenticated link). Verified as
  // Root::submit_acl_update says, which gives the errors. AclUpdates arriving from the
  // network are never taken.
  Status submit_control(std::span<const uint8_t> bytes);

  // The Root, for its queries (epoch, members, stats, group id). Read-only: everything
  // that feeds it or drains it (datagrams, connections, timers, broadcasts, ACL updates,
  // poll_transmit, poll_event) goes through the host, which must see every transmit to
  // keep its connections and member set right.
  const Root& root() const;
  uint16_t port() const;
  const ServerStats& stats() const;
  std::optional<RootEvent> poll_event();

 private:
  friend struct TestingAccess;  // netkey/enet_testing.h: broadcast_plaintext, set_tap
  struct Impl;
  explicit ServerHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
  std::string server_host = "127.0.0.1";
  uint16_t server_port = 0;
  // ENet's timeouts for the connection to the server: a silent server is given up on
  // after peer_timeout_min_ms..peer_timeout_max_ms, which poll_event() reports as
  // ParticipantEvent::Kind::kDisconnected. The limit as ServerOptions'.
  uint32_t peer_timeout_limit = 32;
  uint32_t peer_timeout_min_ms = 1000;
  uint32_t peer_timeout_max_ms = 3000;
};

class ClientHost {
 public:
  static Result<std::unique_ptr<ClientHost>> create(ParticipantConfig config, std::unique_ptr<Rng> rng,
                                                    const ClientOptions& options);
  ~ClientHost();

  // Sends the Hello (once), then services ENet for up to timeout_ms.
  Status service(uint32_t timeout_ms);
  // Member traffic to the Root for relay, with `delivery` (see the channel table).
  // Errors as Participant::send (kInvalidArgument before the Welcome).
  Status send(std::span<const uint8_t> payload, Delivery delivery = Delivery::kUnreliableSequenced);
  // A private message to the Root alone. Errors as Participant::send_private.
  Status send_private(std::span<const uint8_t> payload, Delivery delivery = Delivery::kUnreliableSequenced);
  // Our team (Participant::team()).
  std::optional<TeamId> team() const;
  // An authenticated goodbye, then disconnects (no kDisconnected event follows).
  void leave();
  // Drops the connection without a goodbye (a crash, for tests and load tools).
  void vanish();

  Participant& participant();
  // The participant's events, in order, plus kDisconnected (once) when the connection
  // to the server ends without leave() or vanish(): the server timed out, closed the
  // connection, or refused it at the ENet level. Nothing more arrives after it.
  std::optional<ParticipantEvent> poll_event();
  bool connected() const;
  uint64_t bytes_received(Channel c) const;
  // Traffic packets received with delivery class `d` (from the ENet flags).
  uint64_t traffic_received(Delivery d) const;

 private:
  friend struct TestingAccess;  // netkey/enet_testing.h: send_raw
  struct Impl;
  explicit ClientHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace netkey::enet

#endif  // NETKEY_ENET_H_
