// Internal: ENet initialisation, addresses, the raw-datagram prefix, the intercept
// trampoline, and packet flags per channel.
#ifndef NETKEY_PLUGIN_ENET_COMMON_H_
#define NETKEY_PLUGIN_ENET_COMMON_H_

#include <enet/enet.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "netkey/group.h"
#include "netkey/status.h"

namespace netkey::enet::detail {

inline constexpr std::array<uint8_t, 4> kRawPrefix = {0xFF, 0x4E, 0x4B, 0x01};

Status ensure_enet();
std::string address_string(const ENetAddress& a);
bool is_raw(const uint8_t* data, size_t len);
// The inverse of address_string ("ip:port"). False when it does not parse.
bool parse_address(std::string_view text, ENetAddress* out);
// Sends prefix || bytes to `to` on the host's socket. Returns false on failure.
bool send_raw(ENetHost* host, const ENetAddress& to, std::span<const uint8_t> bytes);
// A traffic transmit's flags by its delivery class (netkey/enet.h, the channel table):
// kReliableOrdered RELIABLE, kUnreliableSequenced 0 (ENet drops late ones),
// kUnreliable UNSEQUENCED; both unreliable ones fragment unreliably if large.
enet_uint32 packet_flags(const Transmit& t);
// The delivery class a received packet came with, from its ENet flags.
Delivery delivery_of(const ENetPacket& packet);

// ENet's packet throttle off for a netkey connection (issue 13). ENet lowers a peer's
// throttle whenever a reliable packet's round trip exceeds the last one by twice its
// variance, and a lowered throttle both drops unreliable packets at random (the state
// snapshots) and shrinks the reliable window (the rekeys). A rekey burst raises the round
// trip, so the throttle dropped snapshots in bursts after every Whole (85 % received
// against 99.7 % with small Slices). netkey's traffic is paced by the game's tick, not
// by ENet; deceleration 0 keeps the throttle at its limit. The command travels to the
// other end, so configuring the server's side configures both directions.
void disable_packet_throttle(ENetPeer* peer);

// Shortens the retransmission timeout of the oldest unacknowledged reliable command on
// `peer` when it is `channel`'s and was sent once, to max(floor_ms, RTT + RTT variance)
// when that is shorter than ENet's RTT + 4 x variance (ServerOptions::
// rekey_retransmit_floor_ms). Commands behind it keep ENet's timeout: ENet resets its
// timer only from the front of the list, so a shortened command further back would leave
// the timer in the past after it retransmitted, and every send pass would walk the list
// (measured: +12 % server CPU at 1000 bots). Returns true while a command of `channel`
// still waits for its first send (call again after the next flush).
bool shorten_retransmit(ENetPeer* peer, uint8_t channel, uint32_t floor_ms);

// Whether `peer` lost more than 2 % of its reliable packets lately: in ENet's current
// packet-loss interval (10 s) once it holds 100 packets (fewer say nothing: one late
// acknowledgement among the first dozen is not 8 % loss), or in its smoothed loss over
// earlier ones. The server sends redundant rekey copies (Transmit::redundant) and
// shortens rekey retransmissions only on such links (or on all, while the sum over its
// members' links is such).
bool lossy(const ENetPeer* peer);
// Whether these links taken together are lossy: lossy() over the sums of their interval
// counters and the mean of their smoothed loss, each link counted at most 1/8 lost (so a
// few members withholding acknowledgements cannot switch it on). False for none.
bool group_lossy(std::span<const ENetPeer* const> peers);

// What the gate needs of an ENet datagram: whether it opens a connection (the header's
// peer id is ENet's "none", 0xFFF, which only a CONNECT uses), and the CONNECT's connect
// ID (ENet copies it without byte-order conversion: read as the host's uint32). Hosts
// run with checksums (enet_crc32), so the header carries 4 checksum bytes.
struct EnetConnect {
  bool opens = false;       // a datagram to peer id 0xFFF
  bool parsed = false;      // its first command is a whole CONNECT
  uint32_t connect_id = 0;
};
EnetConnect parse_enet_connect(const uint8_t* data, size_t len);

// Both ends of a netkey ENet connection: packet checksums on (CRC-32 seeded by the
// connect ID, which is the handshake's secret connect tag, so an off-path attacker cannot
// forge a packet of an established connection, a DISCONNECT included).
void enable_checksums(ENetHost* host);

// PeerIds for ENet connections (never for datagrams). The counter wraps after 2^32
// connections; it skips 0 and every id still in use, so a newcomer never gets a live
// member's id.
class PeerIdAllocator {
 public:
  explicit PeerIdAllocator(PeerId first = 1) : next_(first == 0 ? 1 : first) {}
  template <typename InUse>
  PeerId allocate(const InUse& in_use) {
    for (;;) {
      const PeerId id = next_++;
      if (next_ == 0) next_ = 1;
      if (id != 0 && !in_use.count(id)) return id;
    }
  }

 private:
  PeerId next_;
};

// The intercept hook cannot carry user data in ENet 1.3, so each host sets the object
// to call around its own enet_host_service (single-threaded per host).
using InterceptFn = int (*)(void* self, ENetHost* host);
struct InterceptScope {
  InterceptScope(void* self, InterceptFn fn);
  ~InterceptScope();
};
int intercept_trampoline(ENetHost* host, ENetEvent* event);

}  // namespace netkey::enet::detail

#endif  // NETKEY_PLUGIN_ENET_COMMON_H_
