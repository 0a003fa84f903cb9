// ClientHost: ENet around a Participant. See netkey/enet.h.
#include <deque>
#include <vector>

#include "netkey/enet.h"
#include "netkey/rekey_codec.h"
#include "src/enet_common.h"
#include "src/enet_testing_access.h"
#include "src/util/queue.h"

namespace netkey::enet {

struct ClientHost::Impl {
  Impl(Participant p, ClientOptions o) : participant(std::move(p)), opts(std::move(o)) {}
  Participant participant;
  ClientOptions opts;
  ENetHost* host = nullptr;
  ENetAddress server{};
  ENetPeer* peer = nullptr;
  bool connected = false;
  bool started = false;
  bool gone = false;
  bool leaving = false;  // leave() asked ENet to disconnect: the DISCONNECT is expected
  std::deque<Transmit> waiting;  // reliable messages queued until the connection is up
  std::deque<ParticipantEvent> events;
  uint64_t received[kChannelCount] = {};
  uint64_t traffic_received[3] = {};  // by Delivery, from the ENet flags

  static int intercept(void* self, ENetHost* host) {
    auto* s = static_cast<Impl*>(self);
    if (!detail::is_raw(host->receivedData, host->receivedDataLength)) return 0;
    // Only the server we talk to may answer raw.
    if (host->receivedAddress.host != s->server.host || host->receivedAddress.port != s->server.port) return 1;
    const size_t n = detail::kRawPrefix.size();
    // The participant ignores raw datagrams once it has the Response (spoofable).
    s->participant.handle_datagram({host->receivedData + n, host->receivedDataLength - n}, monotonic_ns());
    s->pump();
    return 1;
  }

  void send_now(const Transmit& t) {
    ENetPacket* pkt = enet_packet_create(t.bytes->data(), t.bytes->size(), detail::packet_flags(t));
    if (pkt && enet_peer_send(peer, static_cast<enet_uint8>(t.channel), pkt) != 0) enet_packet_destroy(pkt);
  }

  void pump() {
    while (auto t = participant.poll_transmit()) {
      if (gone) continue;
      if (connected) {
        send_now(*t);
      } else if (!t->reliable && t->channel == Channel::kControl) {
        detail::send_raw(host, server, *t->bytes);  // Hello, HandshakeInit
      } else {
        // The first reliable message (HandshakeFinish) opens the ENet connection; the
        // server's gate lets it through because our handshake is in flight.
        if (peer == nullptr) {
          // ENet's connect ID is ++randomSeed: make it the handshake's secret connect tag,
          // which the server's gate requires and which seeds every packet's checksum.
          host->randomSeed = participant.connect_tag() - 1;
          peer = enet_host_connect(host, &server, kChannelCount, 0);
        }
        waiting.push_back(std::move(*t));
      }
    }
    while (auto e = participant.poll_event()) events.push_back(std::move(*e));
  }

  void on_event(const ENetEvent& ev) {
    const uint64_t now = monotonic_ns();
    switch (ev.type) {
      case ENET_EVENT_TYPE_CONNECT:
        connected = true;
        enet_peer_timeout(ev.peer, opts.peer_timeout_limit, opts.peer_timeout_min_ms, opts.peer_timeout_max_ms);
        while (!waiting.empty()) {
          send_now(waiting.front());
          waiting.pop_front();
        }
        break;
      case ENET_EVENT_TYPE_RECEIVE: {
        std::span<const uint8_t> data(ev.packet->data, ev.packet->dataLength);
        if (ev.channelID < kChannelCount) received[ev.channelID] += data.size();
        switch (static_cast<Channel>(ev.channelID)) {
          case Channel::kControl: participant.handle_control(data, now); break;
          case Channel::kRekey: participant.handle_rekey(data, now); break;
          default: {
            const Delivery d = detail::delivery_of(*ev.packet);
            ++traffic_received[static_cast<size_t>(d)];
            participant.handle_traffic(data, now, d);
            break;
          }
        }
        enet_packet_destroy(ev.packet);
        break;
      }
      case ENET_EVENT_TYPE_DISCONNECT:
        connected = false;
        peer = nullptr;
        gone = true;
        // A disconnect we did not ask for (the Root timed us out, closed the
        // connection, or never accepted it) is the caller's business: without this
        // event nobody above ENet learns that the connection is dead.
        if (!leaving) events.emplace_back(ParticipantEvent::Kind::kDisconnected);
        break;
      default: break;
    }
    pump();
  }
};

ClientHost::ClientHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientHost::~ClientHost() {
  if (impl_ && impl_->host) {
    if (impl_->peer) enet_peer_reset(impl_->peer);
    enet_host_destroy(impl_->host);
  }
}

Result<std::unique_ptr<ClientHost>> ClientHost::create(ParticipantConfig config, std::unique_ptr<Rng> rng,
                                                       const ClientOptions& options) {
  NETKEY_RETURN_IF_ERROR(detail::ensure_enet());
  auto p = Participant::create(std::move(config), std::move(rng), monotonic_ns());
  if (!p) return p.status();
  ENetAddress server;
  if (enet_address_set_host(&server, options.server_host.c_str()) != 0) {
    return Status(Errc::kIo, "cannot resolve server host " + options.server_host);
  }
  server.port = options.server_port;
  ENetHost* host = enet_host_create(nullptr, 1, kChannelCount, 0, 0);
  if (!host) return Status(Errc::kIo, "cannot create a UDP socket (file descriptor limit?)");
  host->intercept = detail::intercept_trampoline;
  detail::enable_checksums(host);
  host->maximumPacketSize = kMaxWholeBytes;
  host->maximumWaitingData = 2 * kMaxWholeBytes;
  auto impl = std::make_unique<Impl>(std::move(p).value(), options);
  impl->host = host;
  impl->server = server;
  return std::unique_ptr<ClientHost>(new ClientHost(std::move(impl)));
}

Status ClientHost::service(uint32_t timeout_ms) {
  Impl& s = *impl_;
  detail::InterceptScope scope(&s, &Impl::intercept);
  if (!s.started) {
    s.started = true;
    s.participant.start(monotonic_ns());
    s.pump();
  }
  const uint64_t now = monotonic_ns();
  if (auto t = s.participant.poll_timeout(); t && *t <= now) {
    s.participant.handle_timeout(now);
    s.pump();
  }
  ENetEvent ev;
  int rc = enet_host_service(s.host, &ev, timeout_ms);
  while (rc > 0) {
    s.on_event(ev);
    rc = enet_host_check_events(s.host, &ev);
  }
  enet_host_flush(s.host);
  return rc < 0 ? Status(Errc::kIo, "enet_host_service failed") : Status::ok();
}

Status ClientHost::send(std::span<const uint8_t> payload, Delivery delivery) {
  Status st = impl_->participant.send(payload, monotonic_ns(), delivery);
  if (st) impl_->pump();
  return st;
}

Status ClientHost::send_private(std::span<const uint8_t> payload, Delivery delivery) {
  Status st = impl_->participant.send_private(payload, monotonic_ns(), delivery);
  if (st) impl_->pump();
  return st;
}

std::optional<TeamId> ClientHost::team() const { return impl_->participant.team(); }
uint64_t ClientHost::traffic_received(Delivery d) const { return impl_->traffic_received[static_cast<size_t>(d)]; }

void ClientHost::leave() {
  Impl& s = *impl_;
  s.participant.leave(monotonic_ns());
  s.pump();
  s.leaving = true;
  if (s.peer) {
    enet_host_flush(s.host);
    enet_peer_disconnect_later(s.peer, 0);
  }
}

void ClientHost::vanish() {
  Impl& s = *impl_;
  if (s.peer) enet_peer_reset(s.peer);  // no goodbye: the server times us out
  s.peer = nullptr;
  s.connected = false;
  s.gone = true;
}

bool TestingAccess::send_raw(ClientHost& client, Channel channel, std::span<const uint8_t> bytes, bool reliable) {
  ClientHost::Impl& s = *client.impl_;
  if (!s.connected || s.peer == nullptr) return false;
  Transmit t;
  t.channel = channel;
  t.reliable = reliable;
  t.bytes = std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
  s.send_now(t);
  return true;
}

Participant& ClientHost::participant() { return impl_->participant; }
std::optional<ParticipantEvent> ClientHost::poll_event() { return netkey::detail::pop_front(impl_->events); }
bool ClientHost::connected() const { return impl_->connected; }
uint64_t ClientHost::bytes_received(Channel c) const { return impl_->received[static_cast<size_t>(c)]; }

}  // namespace netkey::enet

namespace netkey::testing {
bool send_raw(enet::ClientHost& client, Channel channel, std::span<const uint8_t> bytes, bool reliable) {
  return enet::TestingAccess::send_raw(client, channel, bytes, reliable);
}
}  // namespace netkey::testing
