#include "sim/sim_network.h"

namespace netkey::testing {

void SimNetwork::send(uint32_t from, uint32_t to, Channel ch, bool reliable,
                      std::shared_ptr<const std::vector<uint8_t>> bytes, uint64_t now) {
  if (blocked(from) || blocked(to)) {
    ++lost_;
    return;
  }
  uint64_t at = now + profile_.delay_ns + jitter();
  if (reliable) {
    // Each lost attempt costs a retransmission timeout; order per channel is kept.
    int attempts = 0;
    while (chance(profile_.loss) && attempts < 20) {
      at += profile_.rto_ns;
      ++attempts;
    }
    auto& last = last_reliable_[{from, to, static_cast<uint8_t>(ch)}];
    if (at < last) at = last;
    last = at;
    queue_.push({at, order_++, from, to, ch, std::move(bytes), true});
    return;
  }
  if (chance(profile_.loss)) {
    ++lost_;
    return;
  }
  if (chance(profile_.duplicate)) {
    queue_.push({now + profile_.delay_ns + jitter(), order_++, from, to, ch, bytes});
  }
  queue_.push({at, order_++, from, to, ch, std::move(bytes)});
}

std::optional<Delivery> SimNetwork::pop(uint64_t now) {
  while (!queue_.empty() && queue_.top().at <= now) {
    Delivery d = queue_.top();
    queue_.pop();
    if (blocked(d.to)) {
      ++lost_;
      continue;
    }
    ++delivered_;
    return d;
  }
  return std::nullopt;
}

std::optional<uint64_t> SimNetwork::next_time() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().at;
}

}  // namespace netkey::testing
