// ServerHost: ENet around a Root. See netkey/enet.h.
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include "netkey/enet.h"
#include "netkey/rekey_codec.h"
#include "src/enet_common.h"
#include "src/enet_testing_access.h"
#include "src/util/queue.h"

namespace netkey::enet {

using detail::address_string;

struct ServerHost::Impl {
  Impl(Root r, ServerOptions o) : root(std::move(r)), opts(std::move(o)) {}
  Root root;
  ServerOptions opts;
  ENetHost* host = nullptr;
  ServerStats stats;
  // The one map: PeerId <-> ENet connection. PeerIds exist only for ENet connections
  // (the Root's Admission keys everything before a connection by address, so a datagram
  // never spends an id). `member` follows the Root's Transmit::member_change stream:
  // a To::kAllMembers transmit goes to the connections marked at that point, a To::kTeam
  // one to those of them whose `team` (kAdded sets it, kTeamChanged changes it) matches.
  struct Connection {
    ENetPeer* peer = nullptr;
    bool member = false;
    TeamId team = kNoTeam;
    uint64_t address = 0;  // address_key at CONNECT (ENet may reset the peer before its DISCONNECT)
  };
  std::unordered_map<PeerId, Connection> connections;
  detail::PeerIdAllocator ids;
  std::function<void(Channel, std::span<const uint8_t>)> tap;
  std::deque<RootEvent> events;
  // Connections with rekey-channel packets whose first retransmission timeout is not
  // shortened yet (ServerOptions::rekey_retransmit_floor_ms); every member after a Whole.
  std::vector<PeerId> rekey_watch;
  bool rekey_watch_members = false;
  // The addresses of `connections` (the set the Root's has_connection holds), as
  // integers: the gate's per-datagram question "connected?" without formatting a string.
  std::unordered_map<uint64_t, PeerId> connected_addresses;
  // Something was queued on an ENet peer since the last flush.
  bool unflushed = false;
  bool in_gate = false;  // pump() called from intercept(), inside enet_host_service
  // The members' links taken together are lossy (detail::group_lossy: their summed
  // counters, each link capped, recomputed every second): then every member counts as lossy,
  // a new one too, whose own counters say nothing yet and whose ENet round-trip estimate
  // starts at 500 ms (a new member's lost rekey waited half a second, and held every
  // later one back on the ordered channel), and an established one between two of
  // ENet's 10 s loss intervals. The cap: a few members who withhold acknowledgements to
  // look lossy do not switch it on for everyone. ENet counts a retransmission as a loss,
  // a late acknowledgement's too: a loaded but clean server (1000 bots in one process on
  // the same machine) looks lossy as well (docs/PERFORMANCE.md).
  bool group_lossy = false;
  uint64_t next_group_loss_ns = 0;

  bool lossy(const Connection& c) const { return group_lossy || detail::lossy(c.peer); }
  void update_group_loss(uint64_t now) {
    if (now < next_group_loss_ns) return;
    next_group_loss_ns = now + 1'000'000'000;
    loss_scratch.clear();
    for (const auto& [id, c] : connections) {
      if (c.member) loss_scratch.push_back(c.peer);
    }
    group_lossy = detail::group_lossy(loss_scratch);
  }
  std::vector<const ENetPeer*> loss_scratch;

  static uint64_t address_key(const ENetAddress& a) { return (uint64_t{a.host} << 16) | a.port; }

  // Raw pre-connection datagrams, and the gate for everything else.
  static int intercept(void* self, ENetHost* host) {
    auto* s = static_cast<Impl*>(self);
    // A member's datagram (the common case) costs one integer lookup, no string.
    const bool connected = s->connected_addresses.count(address_key(host->receivedAddress)) != 0;
    if (detail::is_raw(host->receivedData, host->receivedDataLength)) {
      if (connected) {
        ++s->stats.raw_from_connected;  // a connected address has nothing to say raw: spoofed
        return 1;
      }
      ++s->stats.raw_datagrams;
      const size_t n = detail::kRawPrefix.size();
      s->root.handle_datagram(address_string(host->receivedAddress),
                              {host->receivedData + n, host->receivedDataLength - n}, monotonic_ns());
      s->in_gate = true;
      s->pump();
      s->in_gate = false;
      return 1;
    }
    const detail::EnetConnect c = detail::parse_enet_connect(host->receivedData, host->receivedDataLength);
    if (c.opens) {
      // A CONNECT passes only from an address whose handshake was answered and is not yet
      // connected, and only with that handshake's secret connect tag as its connect ID:
      // no half-open peers from a connected address, none from a spoofer in between.
      const auto tag = connected ? std::nullopt : s->root.connect_tag(address_string(host->receivedAddress));
      if (!tag || !c.parsed || c.connect_id != *tag) {
        ++s->stats.connects_dropped;
        return 1;
      }
      return 0;
    }
    if (!connected && !s->root.accepts_connection_from(address_string(host->receivedAddress))) {
      ++s->stats.gated_datagrams;  // no answered handshake: ENet never sees it, no peer slot
      return 1;
    }
    return 0;
  }

  void send_to(const Transmit& t) {
    auto c = connections.find(t.peer);
    if (c == connections.end()) return;
    if (t.member_change == Transmit::MemberChange::kTeamChanged) {
      c->second.team = t.team;
    } else if (t.member_change != Transmit::MemberChange::kNone) {
      c->second.member = t.member_change == Transmit::MemberChange::kAdded;
      c->second.team = c->second.member ? t.team : kNoTeam;
    }
    if (t.redundant && !lossy(c->second)) {
      ++stats.redundant_skipped;
      return;
    }
    if (!t.bytes->empty()) {
      ENetPacket* pkt = enet_packet_create(t.bytes->data(), t.bytes->size(), detail::packet_flags(t));
      if (pkt && enet_peer_send(c->second.peer, static_cast<enet_uint8>(t.channel), pkt) != 0) enet_packet_destroy(pkt);
      unflushed = true;
      count(t, t.bytes->size());
      if (t.channel == Channel::kRekey && t.reliable) rekey_watch.push_back(t.peer);
    }
    if (t.then_disconnect) {
      enet_peer_disconnect_later(c->second.peer, 0);
      unflushed = true;
    }
  }
  // One shared, reference-counted packet for every member (kAllMembers) or for the
  // members of one team (kTeam).
  void send_to_members(const Transmit& t) {
    ENetPacket* pkt = enet_packet_create(t.bytes->data(), t.bytes->size(), detail::packet_flags(t));
    if (!pkt) return;
    const bool team = t.to == Transmit::To::kTeam;
    for (const auto& [id, c] : connections) {
      if (!c.member || t.excludes(id) || (team && c.team != t.team)) continue;
      if (t.redundant && !lossy(c)) {
        ++stats.redundant_skipped;
        continue;
      }
      if (enet_peer_send(c.peer, static_cast<enet_uint8>(t.channel), pkt) == 0) count(t, pkt->dataLength);
      unflushed = true;
    }
    if (pkt->referenceCount == 0) enet_packet_destroy(pkt);
    if (t.channel == Channel::kRekey && t.reliable) rekey_watch_members = true;
  }
  // Sends what pump() queued (nothing to do when it queued nothing: a flush walks every
  // ENet peer), then shortens the rekeys' first retransmission timeout.
  void flush(bool force = false) {
    if (!unflushed && !force) return;
    unflushed = false;
    enet_host_flush(host);
    shorten_rekey_retransmits();
  }
  // After a flush: the rekey packets it sent retransmit after the shorter timeout.
  void shorten_rekey_retransmits() {
    const uint32_t floor = opts.rekey_retransmit_floor_ms;
    std::vector<PeerId> again;
    // Only on a lossy link: on a clean one a rekey is rarely lost, and a shortened timeout
    // fires on every late acknowledgement (a spurious retransmission, bytes and CPU).
    auto one = [&](PeerId id, const Connection& c) {
      if (floor > 0 && lossy(c) &&
          detail::shorten_retransmit(c.peer, static_cast<uint8_t>(Channel::kRekey), floor)) {
        again.push_back(id);
      }
    };
    if (rekey_watch_members) {
      for (const auto& [id, c] : connections) {
        if (c.member) one(id, c);
      }
    }
    for (PeerId id : rekey_watch) {
      auto c = connections.find(id);
      if (c != connections.end() && !(rekey_watch_members && c->second.member)) one(id, c->second);
    }
    rekey_watch = std::move(again);
    rekey_watch_members = false;
  }
  // A pre-connection reply (cookie, response, refusal) goes raw to its address.
  void send_to_address(const Transmit& t) {
    ENetAddress a{};
    if (t.bytes->empty() || !detail::parse_address(t.address, &a)) return;
    detail::send_raw(host, a, *t.bytes);
    count(t, t.bytes->size());
  }
  void count(const Transmit& t, size_t n) {
    stats.bytes_sent[static_cast<size_t>(t.channel)] += n;
    ++stats.packets_sent[static_cast<size_t>(t.channel)];
    if (t.channel >= Channel::kState) ++stats.traffic_sent[static_cast<size_t>(t.delivery)];
  }

  // Whether a redundant copy to one peer goes out (ServerHost sends copies to lossy links).
  bool copy_goes_out(const Transmit& t) const {
    if (t.to != Transmit::To::kPeer) return true;
    auto c = connections.find(t.peer);
    return c != connections.end() && lossy(c->second);
  }

  void pump() {
    bool after_redundant = false;
    while (auto t = root.poll_transmit()) {
      if (tap && t->channel != Channel::kControl) {
        tap(t->channel, *t->bytes);
      }
      // A run of redundant copies starts a datagram of its own: the loss of the datagram
      // that carries an original must not take its copy with it.
      // (Not from inside ENet's receive loop, the gate: ENet is mid-service there.)
      const bool copy = t->redundant && copy_goes_out(*t);
      if (copy && !after_redundant && !in_gate) flush();
      after_redundant = copy || (after_redundant && t->redundant);
      switch (t->to) {
        case Transmit::To::kPeer: send_to(*t); break;
        case Transmit::To::kAddress: send_to_address(*t); break;
        case Transmit::To::kAllMembers:
        case Transmit::To::kTeam: send_to_members(*t); break;
      }
    }
    while (auto e = root.poll_event()) events.push_back(std::move(*e));
  }

  // One connection per answered handshake: a second CONNECT from a connected address,
  // or one the Root holds no handshake for, is closed at once.
  void on_connect(ENetPeer* peer, uint64_t now) {
    const std::string addr = address_string(peer->address);
    peer->data = nullptr;
    if (root.has_connection(addr)) {
      ++stats.connections_refused;
      enet_peer_disconnect_now(peer, 0);
      return;
    }
    const PeerId id = ids.allocate(connections);
    ++stats.peer_ids_issued;
    if (!root.peer_connected(id, addr, now)) {
      ++stats.connections_refused;
      enet_peer_disconnect_now(peer, 0);
      return;
    }
    ++stats.connections;
    enet_peer_timeout(peer, opts.peer_timeout_limit, opts.peer_timeout_min_ms, opts.peer_timeout_max_ms);
    detail::disable_packet_throttle(peer);
    peer->data = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
    connections[id] = Connection{peer, false, kNoTeam, address_key(peer->address)};
    connected_addresses[address_key(peer->address)] = id;
  }

  void on_receive(const ENetEvent& ev, uint64_t now) {
    const PeerId id = static_cast<PeerId>(reinterpret_cast<uintptr_t>(ev.peer->data));
    std::span<const uint8_t> data(ev.packet->data, ev.packet->dataLength);
    if (id != 0 && connections.count(id)) {
      if (ev.channelID == static_cast<uint8_t>(Channel::kControl)) {
        root.handle_control(id, data, now);
      } else if (ev.channelID == static_cast<uint8_t>(Channel::kMember) ||
                 ev.channelID == static_cast<uint8_t>(Channel::kEvents)) {
        const Delivery d = detail::delivery_of(*ev.packet);
        ++stats.traffic_received[static_cast<size_t>(d)];
        root.handle_traffic(id, data, now, d);
      } else {
        ++stats.wrong_channel;  // rekey and state flow from the server only
      }
    }
    enet_packet_destroy(ev.packet);
  }

  void on_disconnect(ENetPeer* peer, uint64_t now) {
    const PeerId id = static_cast<PeerId>(reinterpret_cast<uintptr_t>(peer->data));
    ++stats.disconnections;
    if (id != 0) {
      root.peer_disconnected(id, now);
      if (auto c = connections.find(id); c != connections.end()) {
        // Only its own entry: should two connections ever share an address, the other's stays.
        if (auto a = connected_addresses.find(c->second.address); a != connected_addresses.end() && a->second == id) {
          connected_addresses.erase(a);
        }
        connections.erase(c);
      }
    }
    peer->data = nullptr;
  }

  void on_event(const ENetEvent& ev) {
    const uint64_t now = monotonic_ns();
    switch (ev.type) {
      case ENET_EVENT_TYPE_CONNECT: on_connect(ev.peer, now); break;
      case ENET_EVENT_TYPE_RECEIVE: on_receive(ev, now); break;
      case ENET_EVENT_TYPE_DISCONNECT: on_disconnect(ev.peer, now); break;
      default: break;
    }
    pump();
  }
};

ServerHost::ServerHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerHost::~ServerHost() {
  if (impl_ && impl_->host) enet_host_destroy(impl_->host);
}

Result<std::unique_ptr<ServerHost>> ServerHost::create(RootConfig config, std::unique_ptr<Rng> rng,
                                                       const ServerOptions& options) {
  NETKEY_RETURN_IF_ERROR(detail::ensure_enet());
  auto root = Root::create(std::move(config), std::move(rng), monotonic_ns());
  if (!root) return root.status();
  ENetAddress addr;
  if (enet_address_set_host(&addr, options.bind_host.c_str()) != 0) {
    return Status(Errc::kIo, "cannot resolve bind host " + options.bind_host);
  }
  addr.port = options.port;
  ENetHost* host = enet_host_create(&addr, options.max_peers, kChannelCount, 0, 0);
  if (!host) {
    return Status(Errc::kIo, "cannot bind UDP " + options.bind_host + ":" + std::to_string(options.port) +
                                 " (in use, or not permitted); choose another --listen port");
  }
  host->intercept = detail::intercept_trampoline;
  detail::enable_checksums(host);
  if (options.socket_buffer_bytes > 0) {
    enet_socket_set_option(host->socket, ENET_SOCKOPT_SNDBUF, options.socket_buffer_bytes);
    enet_socket_set_option(host->socket, ENET_SOCKOPT_RCVBUF, options.socket_buffer_bytes);
  }
  // ENet's default lets one IP hold 4095 peers; each peer slot also needs an answered
  // handshake, and this bounds the half-open ones an address can hold.
  host->duplicatePeers = options.max_peers_per_ip;
  host->maximumPacketSize = 64 * 1024;   // control and member traffic are small
  host->maximumWaitingData = 1u << 20;
  auto impl = std::make_unique<Impl>(std::move(root).value(), options);
  impl->host = host;
  return std::unique_ptr<ServerHost>(new ServerHost(std::move(impl)));
}

Status ServerHost::service(uint32_t timeout_ms) {
  Impl& s = *impl_;
  detail::InterceptScope scope(&s, &Impl::intercept);
  ENetEvent ev;
  const uint64_t now = monotonic_ns();
  s.update_group_loss(now);
  if (auto t = s.root.poll_timeout(); t && *t <= now) {
    s.root.handle_timeout(now);
    s.pump();
  }
  s.flush();
  int rc = enet_host_service(s.host, &ev, timeout_ms);
  while (rc > 0) {
    s.on_event(ev);
    rc = enet_host_check_events(s.host, &ev);
  }
  if (rc < 0) return Status(Errc::kIo, "enet_host_service failed");
  const uint64_t after = monotonic_ns();
  if (auto t = s.root.poll_timeout(); t && *t <= after) {
    s.root.handle_timeout(after);
    s.pump();
  }
  s.flush(true);  // what ENet queued itself while receiving (acknowledgements) goes now
  return Status::ok();
}

Status ServerHost::broadcast(std::span<const uint8_t> payload, Delivery delivery) {
  Status st = impl_->root.broadcast(payload, monotonic_ns(), delivery);
  if (st) impl_->pump();
  return st;
}

Status ServerHost::broadcast_to_team(TeamId team, std::span<const uint8_t> payload, Delivery delivery) {
  Status st = impl_->root.broadcast_to_team(team, payload, monotonic_ns(), delivery);
  if (st) impl_->pump();
  return st;
}

Status ServerHost::send_private(MemberId member, std::span<const uint8_t> payload, Delivery delivery) {
  Status st = impl_->root.send_private(member, payload, monotonic_ns(), delivery);
  if (st) impl_->pump();
  return st;
}

Status ServerHost::assign_team(std::string_view subject, TeamId team) {
  Status st = impl_->root.assign_team(subject, team, monotonic_ns());
  impl_->pump();
  return st;
}

void TestingAccess::broadcast_plaintext(ServerHost& server, std::span<const uint8_t> payload) {
  ServerHost::Impl& s = *server.impl_;
  Transmit t;
  t.channel = Channel::kState;
  t.reliable = false;
  t.delivery = Delivery::kUnreliable;
  ENetPacket* pkt = enet_packet_create(payload.data(), payload.size(), detail::packet_flags(t));
  if (!pkt) return;
  for (const auto& [id, c] : s.connections) {
    if (c.member) enet_peer_send(c.peer, static_cast<enet_uint8>(Channel::kState), pkt);
  }
  if (pkt->referenceCount == 0) enet_packet_destroy(pkt);
}

void ServerHost::flush() {
  impl_->unflushed = true;  // the caller asks for a flush: ENet's own queues too
  impl_->flush();
}

Status ServerHost::submit_control(std::span<const uint8_t> bytes) {
  Status st = impl_->root.submit_acl_update(bytes, monotonic_ns());
  impl_->pump();
  return st;
}

const Root& ServerHost::root() const { return impl_->root; }
uint16_t ServerHost::port() const { return impl_->host->address.port; }
const ServerStats& ServerHost::stats() const { return impl_->stats; }
std::optional<RootEvent> ServerHost::poll_event() { return netkey::detail::pop_front(impl_->events); }
void TestingAccess::set_tap(ServerHost& server, std::function<void(Channel, std::span<const uint8_t>)> tap) {
  server.impl_->tap = std::move(tap);
}

}  // namespace netkey::enet

namespace netkey::testing {
void broadcast_plaintext(enet::ServerHost& server, std::span<const uint8_t> payload) {
  enet::TestingAccess::broadcast_plaintext(server, payload);
}
void set_tap(enet::ServerHost& server, std::function<void(Channel, std::span<const uint8_t>)> tap) {
  enet::TestingAccess::set_tap(server, std::move(tap));
}
}  // namespace netkey::testing
