// netkey-arena's server side: netkey's ServerHost, or the insecure baseline
// (common/insecure.h), behind one interface so the game loop treats both modes alike.
#ifndef NETKEY_SAMPLES_ARENA_SERVER_H_
#define NETKEY_SAMPLES_ARENA_SERVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/insecure.h"
#include "netkey/enet.h"

namespace netkey::arena {

struct Server {
  std::unique_ptr<enet::ServerHost> secure;
  std::unique_ptr<demo::InsecureServer> plain;

  bool exists() const { return secure || plain; }
  bool service() { return plain ? plain->service(1) : secure->service(1).is_ok(); }
  std::optional<RootEvent> poll_event() { return plain ? plain->poll_event() : secure->poll_event(); }
  void broadcast(std::span<const uint8_t> b) {
    if (plain) {
      plain->broadcast(b);
    } else {
      (void)secure->broadcast(b);
    }
  }
  // The game's reliable messages, in both modes (the baseline carries the same traffic).
  bool broadcast_reliable(std::span<const uint8_t> b) {
    if (plain) {
      plain->broadcast(b, true);
      return true;
    }
    return secure->broadcast(b, Delivery::kReliableOrdered).is_ok();
  }
  bool send_private(MemberId id, std::span<const uint8_t> b) {
    return plain ? plain->send_to(id, b) : secure->send_private(id, b, Delivery::kReliableOrdered).is_ok();
  }
  uint16_t port() const { return plain ? plain->port() : secure->port(); }
  size_t members() const { return plain ? plain->member_count() : secure->root().member_count(); }
  uint64_t epoch() const { return plain ? 0 : secure->root().epoch(); }
  uint64_t commits() const { return plain ? 0 : secure->root().stats().commits; }
  uint64_t bytes_sent() const {
    if (plain) return plain->bytes_sent();
    uint64_t n = 0;
    for (uint64_t b : secure->stats().bytes_sent) n += b;
    return n;
  }
  // Member input the Root could not take for an epoch reason (sent under a key it no
  // longer or never held): what a player feels as lost input around a rekey.
  uint64_t inputs_dropped_epoch() const {
    if (plain) return 0;
    const DropCounters& d = secure->root().traffic_drops();
    return d[DropReason::kUnknownEpoch] + d[DropReason::kEpochExpired];
  }
  std::string relay_drops() const {
    std::string out;
    if (plain) return out;
    const DropCounters& d = secure->root().traffic_drops();
    for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
      if (d.by_reason[r]) out += " relay:" + std::string(drop_reason_name(static_cast<DropReason>(r))) + "=" + std::to_string(d.by_reason[r]);
    }
    return out;
  }
};

}  // namespace netkey::arena

#endif  // NETKEY_SAMPLES_ARENA_SERVER_H_
