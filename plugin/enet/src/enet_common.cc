#include "src/enet_common.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <vector>

#include <enet/time.h>

#include "netkey/enet.h"

namespace netkey::enet {

uint64_t monotonic_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

namespace detail {
namespace {
thread_local void* t_self = nullptr;
thread_local InterceptFn t_fn = nullptr;
}  // namespace

Status ensure_enet() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] {
    rc = enet_initialize();
    if (rc == 0) std::atexit(enet_deinitialize);
  });
  if (rc != 0) return Status(Errc::kIo, "enet_initialize failed");
  return Status::ok();
}

std::string address_string(const ENetAddress& a) {
  char ip[64] = {};
  if (enet_address_get_host_ip(&a, ip, sizeof ip) != 0) std::strcpy(ip, "?");
  return std::string(ip) + ":" + std::to_string(a.port);
}

bool parse_address(std::string_view text, ENetAddress* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size() || text.size() - colon > 6) return false;
  unsigned port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return false;
  const std::string ip(text.substr(0, colon));
  if (enet_address_set_host_ip(out, ip.c_str()) != 0) return false;
  out->port = static_cast<enet_uint16>(port);
  return true;
}

EnetConnect parse_enet_connect(const uint8_t* data, size_t len) {
  EnetConnect c;
  if (len < 2) return c;
  const uint16_t peer_field = static_cast<uint16_t>(data[0] << 8 | data[1]);  // network order
  if ((peer_field & ENET_PROTOCOL_MAXIMUM_PEER_ID) != ENET_PROTOCOL_MAXIMUM_PEER_ID) return c;
  c.opens = true;
  if (peer_field & ENET_PROTOCOL_HEADER_FLAG_COMPRESSED) return c;  // no compressor here
  size_t at = 2 + ((peer_field & ENET_PROTOCOL_HEADER_FLAG_SENT_TIME) ? 2 : 0) + sizeof(enet_uint32);
  if (len < at + sizeof(ENetProtocolConnect)) return c;
  if ((data[at] & ENET_PROTOCOL_COMMAND_MASK) != ENET_PROTOCOL_COMMAND_CONNECT) return c;
  std::memcpy(&c.connect_id, data + at + offsetof(ENetProtocolConnect, connectID), sizeof c.connect_id);
  c.parsed = true;
  return c;
}

void enable_checksums(ENetHost* host) { host->checksum = enet_crc32; }

bool is_raw(const uint8_t* data, size_t len) {
  return len >= kRawPrefix.size() && std::memcmp(data, kRawPrefix.data(), kRawPrefix.size()) == 0;
}

bool send_raw(ENetHost* host, const ENetAddress& to, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> buf(kRawPrefix.size() + bytes.size());
  std::memcpy(buf.data(), kRawPrefix.data(), kRawPrefix.size());
  std::memcpy(buf.data() + kRawPrefix.size(), bytes.data(), bytes.size());
  ENetBuffer b;
  b.data = buf.data();
  b.dataLength = buf.size();
  return enet_socket_send(host->socket, &to, &b, 1) >= 0;
}

enet_uint32 packet_flags(const Transmit& t) {
  if (t.reliable) return ENET_PACKET_FLAG_RELIABLE;
  const bool traffic = t.channel == Channel::kState || t.channel == Channel::kMember || t.channel == Channel::kEvents;
  if (traffic && t.delivery == Delivery::kUnreliableSequenced) return ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
  return ENET_PACKET_FLAG_UNSEQUENCED | ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
}

void disable_packet_throttle(ENetPeer* peer) {
  enet_peer_throttle_configure(peer, ENET_PEER_PACKET_THROTTLE_INTERVAL, ENET_PEER_PACKET_THROTTLE_SCALE, 0);
  peer->packetThrottle = ENET_PEER_PACKET_THROTTLE_SCALE;
}

bool shorten_retransmit(ENetPeer* peer, uint8_t channel, uint32_t floor_ms) {
  // Only the oldest unacknowledged command: ENet keeps the peer's timer (nextTimeout) at
  // the due time of the front of sentReliableCommands and resets it only from the front.
  // A shortened command further back would retransmit while the front is not due, leave
  // the timer in the past, and make every later send pass walk the whole list.
  ENetList* sent = &peer->sentReliableCommands;
  if (!enet_list_empty(sent)) {
    auto* c = reinterpret_cast<ENetOutgoingCommand*>(enet_list_front(sent));
    const enet_uint32 rto = std::max<enet_uint32>(floor_ms, peer->roundTripTime + peer->roundTripTimeVariance);
    if (c->command.header.channelID == channel && c->sendAttempts == 1 && c->roundTripTimeout > rto) {
      c->roundTripTimeout = rto;  // the disconnect limit (roundTripTimeoutLimit) stays ENet's
      const enet_uint32 due = c->sentTime + rto;
      if (ENET_TIME_LESS(due, peer->nextTimeout)) peer->nextTimeout = due;
    }
  }
  ENetList* queued = &peer->outgoingCommands;
  for (ENetListIterator it = enet_list_begin(queued); it != enet_list_end(queued); it = enet_list_next(it)) {
    auto* c = reinterpret_cast<ENetOutgoingCommand*>(it);
    if (c->command.header.channelID == channel && c->sendAttempts == 0) return true;
  }
  return false;
}

bool lossy(const ENetPeer* peer) {
  // More than 2 % of this interval's reliable packets retransmitted (once it holds 100),
  // or of the smoothed history (ENET_PEER_PACKET_LOSS_SCALE = 100 %). A lone spurious
  // retransmission (a late acknowledgement) does not make a link lossy.
  const bool interval = peer->packetsSent >= 100 && uint64_t{peer->packetsLost} * 50 > peer->packetsSent;
  return interval || peer->packetLoss > ENET_PEER_PACKET_LOSS_SCALE / 50;
}

bool group_lossy(std::span<const ENetPeer* const> peers) {
  if (peers.empty()) return false;
  // Each link counts at most 1/8 lost (a real 5 % each way retransmits ~10 %): a member
  // that withholds acknowledgements weighs no more than that, so it takes one member in
  // six or more, all lying, to move the group past 2 %.
  ENetPeer sum{};
  uint64_t smoothed = 0;
  for (const ENetPeer* p : peers) {
    sum.packetsSent += p->packetsSent;
    sum.packetsLost += std::min(p->packetsLost, p->packetsSent / 8);
    smoothed += std::min<enet_uint32>(p->packetLoss, ENET_PEER_PACKET_LOSS_SCALE / 8);
  }
  sum.packetLoss = static_cast<enet_uint32>(smoothed / peers.size());
  return lossy(&sum);
}

Delivery delivery_of(const ENetPacket& packet) {
  if (packet.flags & ENET_PACKET_FLAG_RELIABLE) return Delivery::kReliableOrdered;
  if (packet.flags & ENET_PACKET_FLAG_UNSEQUENCED) return Delivery::kUnreliable;
  return Delivery::kUnreliableSequenced;
}

InterceptScope::InterceptScope(void* self, InterceptFn fn) {
  t_self = self;
  t_fn = fn;
}
InterceptScope::~InterceptScope() {
  t_self = nullptr;
  t_fn = nullptr;
}

int intercept_trampoline(ENetHost* host, ENetEvent* event) {
  (void)event;
  if (t_fn == nullptr) return 0;
  return t_fn(t_self, host);
}

}  // namespace detail
}  // namespace netkey::enet
