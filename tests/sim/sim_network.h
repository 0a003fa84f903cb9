// Test support: a seeded simulated network between one Root (node 0) and participant
// nodes 1..N, with per-link delay, jitter, loss, duplication and reordering.
//
// Reliable channels (control, rekey) model ENet's reliable ordered delivery: every lost
// attempt costs one retransmission timeout, and delivery order per (from, to, channel)
// is kept. Unreliable channels (state, member) drop, duplicate and reorder (by jitter).
// A blocked node (a partition) receives nothing and its sends are lost.
#ifndef NETKEY_TESTS_SIM_SIM_NETWORK_H_
#define NETKEY_TESTS_SIM_SIM_NETWORK_H_

#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <tuple>
#include <vector>

#include "netkey/group.h"
#include "netkey/random.h"

namespace netkey::testing {

struct LinkProfile {
  uint64_t delay_ns = 10'000'000;  // one way
  uint64_t jitter_ns = 0;          // uniform extra delay in [0, jitter)
  double loss = 0;                 // per datagram (per attempt on reliable channels)
  double duplicate = 0;            // unreliable channels only
  uint64_t rto_ns = 200'000'000;   // reliable retransmission timeout
};

struct Delivery {
  uint64_t at;
  uint64_t order;
  uint32_t from, to;
  Channel channel;
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  bool reliable = false;  // on the connection; unreliable control is a raw datagram
  bool operator>(const Delivery& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
};

class SimNetwork {
 public:
  SimNetwork(uint64_t seed, LinkProfile profile) : rng_(seed), profile_(profile) {}

  void send(uint32_t from, uint32_t to, Channel ch, bool reliable, std::shared_ptr<const std::vector<uint8_t>> bytes,
            uint64_t now);
  // The next delivery due at or before `now`.
  std::optional<Delivery> pop(uint64_t now);
  std::optional<uint64_t> next_time() const;
  void block(uint32_t node) { blocked_.insert(node); }
  void unblock(uint32_t node) { blocked_.erase(node); }
  bool blocked(uint32_t node) const { return blocked_.count(node) != 0; }
  void set_profile(const LinkProfile& p) { profile_ = p; }
  uint64_t delivered() const { return delivered_; }
  uint64_t lost() const { return lost_; }

 private:
  bool chance(double p) { return p > 0 && static_cast<double>(rng_.uniform(1'000'000)) < p * 1e6; }
  uint64_t jitter() { return profile_.jitter_ns ? rng_.uniform(profile_.jitter_ns) : 0; }

  DeterministicRng rng_;
  LinkProfile profile_;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> queue_;
  std::map<std::tuple<uint32_t, uint32_t, uint8_t>, uint64_t> last_reliable_;
  std::set<uint32_t> blocked_;
  uint64_t order_ = 0, delivered_ = 0, lost_ = 0;
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SIM_SIM_NETWORK_H_
