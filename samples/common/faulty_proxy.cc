#include "common/faulty_proxy.h"

#include <algorithm>

namespace netkey::demo {
namespace {
ENetSocket open_udp(uint16_t port) {
  ENetSocket s = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
  if (s == ENET_SOCKET_NULL) return s;
  ENetAddress a;
  enet_address_set_host(&a, "127.0.0.1");
  a.port = port;
  if (enet_socket_bind(s, &a) != 0) {
    enet_socket_destroy(s);
    return ENET_SOCKET_NULL;
  }
  enet_socket_set_option(s, ENET_SOCKOPT_NONBLOCK, 1);
  enet_socket_set_option(s, ENET_SOCKOPT_RCVBUF, 4 << 20);
  enet_socket_set_option(s, ENET_SOCKOPT_SNDBUF, 4 << 20);
  return s;
}
bool receive(ENetSocket s, ENetAddress& from, std::vector<uint8_t>& buf) {
  buf.resize(65536);
  ENetBuffer b{buf.data(), buf.size()};
  const int n = enet_socket_receive(s, &from, &b, 1);
  if (n <= 0) return false;
  buf.resize(static_cast<size_t>(n));
  return true;
}
}  // namespace

FaultyProxy::FaultyProxy(uint16_t server_port, Faults faults, uint64_t seed) : faults_(faults), rng_(seed) {
  enet_initialize();
  front_ = open_udp(0);
  if (front_ == ENET_SOCKET_NULL) return;
  ENetAddress bound;
  enet_socket_get_address(front_, &bound);
  port_ = bound.port;
  enet_address_set_host(&server_, "127.0.0.1");
  server_.port = server_port;
}

FaultyProxy::~FaultyProxy() {
  for (auto& [k, c] : clients_) enet_socket_destroy(c.upstream);
  if (front_ != ENET_SOCKET_NULL) enet_socket_destroy(front_);
}

void FaultyProxy::schedule(bool to_server, uint64_t client, std::vector<uint8_t> bytes, uint64_t now) {
  auto chance = [&](double p) { return p > 0 && static_cast<double>(rng_.uniform(1'000'000)) < p * 1e6; };
  const Client& c = clients_.at(client);
  if (c.cut_until > now) {
    ++partitioned_;
    return;
  }
  if (chance(faults_.loss)) {
    ++dropped_;
    return;
  }
  auto when = [&] { return now + faults_.delay_ns + (faults_.jitter_ns ? rng_.uniform(faults_.jitter_ns) : 0); };
  if (chance(faults_.duplicate)) {
    ++duplicated_;
    queue_.push({when(), order_++, to_server, client, bytes});
  }
  queue_.push({when(), order_++, to_server, client, std::move(bytes)});
}

void FaultyProxy::pump(uint64_t now) {
  std::vector<uint8_t> buf;
  ENetAddress from;
  while (receive(front_, from, buf)) {
    const uint64_t k = key_of(from);
    if (!clients_.count(k)) clients_[k] = Client{from, open_udp(0), 0};
    if (clients_[k].upstream == ENET_SOCKET_NULL) continue;
    clients_[k].last_sent = now;
    schedule(true, k, buf, now);
  }
  for (auto& [k, c] : clients_) {
    while (receive(c.upstream, from, buf)) schedule(false, k, buf, now);
  }
  while (!queue_.empty() && queue_.top().at <= now) {
    Pending p = queue_.top();
    queue_.pop();
    auto it = clients_.find(p.client);
    if (it == clients_.end()) continue;
    if (it->second.cut_until > now) {  // cut while in flight
      ++partitioned_;
      continue;
    }
    ENetBuffer b{p.bytes.data(), p.bytes.size()};
    if (p.to_server) {
      enet_socket_send(it->second.upstream, &server_, &b, 1);
    } else {
      enet_socket_send(front_, &it->second.address, &b, 1);
    }
    ++forwarded_;
  }
}

size_t FaultyProxy::partition(double fraction, uint64_t now, uint64_t duration) {
  std::vector<Client*> active;
  for (auto& [k, c] : clients_) {
    if (c.last_sent + 1'000'000'000 >= now) active.push_back(&c);
  }
  if (active.empty()) return 0;
  const size_t want = std::clamp<size_t>(static_cast<size_t>(fraction * static_cast<double>(active.size()) + 0.5), 1,
                                         active.size());
  for (size_t i = 0; i < want; ++i) {  // a partial Fisher-Yates shuffle picks `want` of them
    std::swap(active[i], active[i + rng_.uniform(active.size() - i)]);
    active[i]->cut_until = now + duration;
  }
  return want;
}

}  // namespace netkey::demo
