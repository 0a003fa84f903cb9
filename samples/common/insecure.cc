#include "common/insecure.h"

#include <algorithm>

#include "netkey/group.h"

namespace netkey::demo {
namespace {
// The netkey ENet binding's layout and per-peer timeouts (plugin/enet), so the two modes
// differ only in what netkey adds.
constexpr size_t kChannels = kChannelCount;
constexpr uint32_t kTimeoutLimit = 32, kTimeoutMinMs = 1000, kTimeoutMaxMs = 3000;
constexpr int kSocketBuffer = 4 << 20;
constexpr uint32_t kUnreliable =
    ENET_PACKET_FLAG_UNSEQUENCED | ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT;
constexpr auto kEvents = static_cast<uint8_t>(Channel::kEvents);

void set_member(ENetPeer* p, MemberId id) {
  p->data = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
}
MemberId member_of(const ENetPeer* p) {
  return static_cast<MemberId>(reinterpret_cast<uintptr_t>(p->data));
}
}  // namespace

std::unique_ptr<InsecureServer> InsecureServer::create(uint16_t port) {
  if (enet_initialize() != 0) return nullptr;
  ENetAddress addr{};
  enet_address_set_host(&addr, "127.0.0.1");
  addr.port = port;
  ENetHost* host = enet_host_create(&addr, 4095, kChannels, 0, 0);
  if (!host) return nullptr;
  host->checksum = enet_crc32;  // as the netkey hosts
  host->duplicatePeers = 4095;  // every bot is on 127.0.0.1
  enet_socket_set_option(host->socket, ENET_SOCKOPT_SNDBUF, kSocketBuffer);
  enet_socket_set_option(host->socket, ENET_SOCKOPT_RCVBUF, kSocketBuffer);
  std::unique_ptr<InsecureServer> s(new InsecureServer());
  s->host_ = host;
  ENetAddress bound{};
  enet_socket_get_address(host->socket, &bound);
  s->port_ = bound.port;
  return s;
}

InsecureServer::~InsecureServer() {
  if (host_) enet_host_destroy(host_);
}

bool InsecureServer::service(uint32_t timeout_ms) {
  ENetEvent ev;
  int r = enet_host_service(host_, &ev, timeout_ms);
  for (; r > 0; r = enet_host_check_events(host_, &ev)) {
    if (ev.type == ENET_EVENT_TYPE_CONNECT) {
      enet_peer_timeout(ev.peer, kTimeoutLimit, kTimeoutMinMs, kTimeoutMaxMs);
      // The same ENet as the secure server: no packet throttle (ServerHost turns it off;
      // with it, a loaded bot process's slow acks made ENet drop a quarter of the
      // snapshots of this baseline at 1000 bots).
      enet_peer_throttle_configure(ev.peer, ENET_PEER_PACKET_THROTTLE_INTERVAL, ENET_PEER_PACKET_THROTTLE_SCALE, 0);
      set_member(ev.peer, next_member_++);
      peers_[member_of(ev.peer)] = ev.peer;
      ++members_;
      RootEvent e{RootEvent::Kind::kJoined};
      e.member = member_of(ev.peer);
      events_.push_back(std::move(e));
    } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
      if (member_of(ev.peer) == 0) continue;
      --members_;
      peers_.erase(member_of(ev.peer));
      RootEvent e{RootEvent::Kind::kLeft};
      e.member = member_of(ev.peer);
      set_member(ev.peer, 0);
      events_.push_back(std::move(e));
    } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
      if (ev.channelID == static_cast<uint8_t>(Channel::kMember) && member_of(ev.peer) != 0) {
        RootEvent e{RootEvent::Kind::kMessage};
        e.member = member_of(ev.peer);
        e.payload.assign(ev.packet->data, ev.packet->data + ev.packet->dataLength);
        events_.push_back(std::move(e));
      }
      enet_packet_destroy(ev.packet);
    }
  }
  return r >= 0;
}

void InsecureServer::broadcast(std::span<const uint8_t> payload, bool reliable) {
  ENetPacket* pkt = enet_packet_create(payload.data(), payload.size(), reliable ? uint32_t{ENET_PACKET_FLAG_RELIABLE} : kUnreliable);
  if (!pkt) return;
  const uint8_t channel = reliable ? kEvents : static_cast<uint8_t>(Channel::kState);
  for (const auto& [id, p] : peers_) {
    if (enet_peer_send(p, channel, pkt) == 0) bytes_sent_ += payload.size();
  }
  if (pkt->referenceCount == 0) enet_packet_destroy(pkt);
}

bool InsecureServer::send_to(MemberId member, std::span<const uint8_t> payload) {
  auto p = peers_.find(member);
  if (p == peers_.end()) return false;
  ENetPacket* pkt = enet_packet_create(payload.data(), payload.size(), ENET_PACKET_FLAG_RELIABLE);
  if (!pkt) return false;
  if (enet_peer_send(p->second, kEvents, pkt) != 0) {
    enet_packet_destroy(pkt);
    return false;
  }
  bytes_sent_ += payload.size();
  return true;
}

std::optional<RootEvent> InsecureServer::poll_event() {
  if (events_.empty()) return std::nullopt;
  RootEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::unique_ptr<InsecureClient> InsecureClient::create(const std::string& host, uint16_t port) {
  if (enet_initialize() != 0) return nullptr;
  ENetHost* h = enet_host_create(nullptr, 1, kChannels, 0, 0);
  if (!h) return nullptr;
  h->checksum = enet_crc32;
  ENetAddress addr{};
  if (enet_address_set_host(&addr, host.c_str()) != 0) {
    enet_host_destroy(h);
    return nullptr;
  }
  addr.port = port;
  ENetPeer* peer = enet_host_connect(h, &addr, kChannels, 0);
  if (!peer) {
    enet_host_destroy(h);
    return nullptr;
  }
  std::unique_ptr<InsecureClient> c(new InsecureClient());
  c->host_ = h;
  c->peer_ = peer;
  return c;
}

InsecureClient::~InsecureClient() {
  if (host_) enet_host_destroy(host_);
}

void InsecureClient::service() {
  if (!peer_) return;
  ENetEvent ev;
  for (int r = enet_host_service(host_, &ev, 0); r > 0; r = enet_host_check_events(host_, &ev)) {
    if (ev.type == ENET_EVENT_TYPE_CONNECT) {
      enet_peer_timeout(ev.peer, kTimeoutLimit, kTimeoutMinMs, kTimeoutMaxMs);
      connected_ = true;
    } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
      connected_ = false;
      peer_ = nullptr;
      events_.emplace_back(ParticipantEvent::Kind::kDisconnected);
      return;
    } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
      if (ev.channelID == static_cast<uint8_t>(Channel::kState) || ev.channelID == kEvents) {
        state_bytes_ += ev.packet->dataLength;
        ParticipantEvent e{ParticipantEvent::Kind::kMessage};
        e.type = PacketType::kRootBroadcast;
        e.delivery = ev.channelID == kEvents ? Delivery::kReliableOrdered : Delivery::kUnreliable;
        e.payload.assign(ev.packet->data, ev.packet->data + ev.packet->dataLength);
        events_.push_back(std::move(e));
      }
      enet_packet_destroy(ev.packet);
    }
  }
}

std::optional<ParticipantEvent> InsecureClient::poll_event() {
  if (events_.empty()) return std::nullopt;
  ParticipantEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void InsecureClient::send(std::span<const uint8_t> payload) {
  if (!connected_ || !peer_) return;
  ENetPacket* pkt = enet_packet_create(payload.data(), payload.size(), kUnreliable);
  if (pkt && enet_peer_send(peer_, static_cast<uint8_t>(Channel::kMember), pkt) != 0)
    enet_packet_destroy(pkt);
}

void InsecureClient::leave() {
  if (peer_) {
    enet_peer_disconnect_now(peer_, 0);
    enet_host_flush(host_);
  }
  peer_ = nullptr;
  connected_ = false;
}

void InsecureClient::vanish() {
  if (peer_) enet_peer_reset(peer_);
  peer_ = nullptr;
  connected_ = false;
}

}  // namespace netkey::demo
