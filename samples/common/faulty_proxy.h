// A lossy loopback UDP proxy for fault injection: bots talk to it instead of the
// server. Each client address gets its own upstream socket to the server, so the server
// sees one address per client. Both directions suffer loss, duplication, delay and
// jitter (which reorders); partition() cuts chosen clients off completely for a while.
// Loopback only; single-threaded: call pump() every tick.
#ifndef NETKEY_SAMPLES_COMMON_FAULTY_PROXY_H_
#define NETKEY_SAMPLES_COMMON_FAULTY_PROXY_H_

#include <enet/enet.h>

#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <vector>

#include "netkey/random.h"

namespace netkey::demo {

struct Faults {
  double loss = 0.05;             // per datagram, each direction
  double duplicate = 0.02;
  uint64_t delay_ns = 5'000'000;  // one way
  uint64_t jitter_ns = 20'000'000;
};

class FaultyProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port) and forwards to 127.0.0.1:server_port.
  FaultyProxy(uint16_t server_port, Faults faults, uint64_t seed);
  ~FaultyProxy();
  bool ok() const { return front_ != ENET_SOCKET_NULL; }
  uint16_t port() const { return port_; }

  void pump(uint64_t now_ns);
  // Cuts round(fraction x active clients) of the clients off, at least one, both ways,
  // until now + duration. Active: sent something in the last second (a bot that left is
  // not picked, so the partition always hits a live connection). Returns how many.
  size_t partition(double fraction, uint64_t now_ns, uint64_t duration_ns);

  uint64_t forwarded() const { return forwarded_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t partitioned() const { return partitioned_; }

 private:
  struct Client {
    ENetAddress address;
    ENetSocket upstream;
    uint64_t cut_until = 0;
    uint64_t last_sent = 0;  // last datagram from the client
  };
  struct Pending {
    uint64_t at;
    uint64_t order;
    bool to_server;
    uint64_t client;  // key into clients_
    std::vector<uint8_t> bytes;
    bool operator>(const Pending& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  static uint64_t key_of(const ENetAddress& a) { return uint64_t{a.host} << 16 | a.port; }
  void schedule(bool to_server, uint64_t client, std::vector<uint8_t> bytes, uint64_t now);

  Faults faults_;
  DeterministicRng rng_;
  ENetSocket front_ = ENET_SOCKET_NULL;
  uint16_t port_ = 0;
  ENetAddress server_{};
  std::map<uint64_t, Client> clients_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue_;
  uint64_t order_ = 0, forwarded_ = 0, dropped_ = 0, duplicated_ = 0, partitioned_ = 0;
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_FAULTY_PROXY_H_
