// The harnesses of the parsers with nothing to forge in front of them: traffic,
// certificates, charters, key files, cookies (fuzz_world.h).
#include <string_view>

#include "fuzz_invariants.h"
#include "fuzz_world.h"
#include "netkey/charter.h"
#include "netkey/keyfile.h"
#include "netkey/traffic.h"
#include "src/group/messages.h"

namespace netkey::fuzz {

namespace {

// Feeds `packet` to `rx` through handle() (then polls) or open_into(), and checks all or
// nothing: a dropped packet changes only the drop counters (not the epoch, the buffer
// or what was delivered). `delivered` counts what `rx` has given out.
void feed_checked(TrafficReceiver& rx, std::span<const uint8_t> packet, uint64_t now, bool zero_copy,
                  uint64_t& delivered) {
  const ReceiverSnapshot before = snapshot(rx, delivered);
  const uint64_t drops = rx.drops().total();
  if (zero_copy) {
    std::vector<uint8_t> out(packet.size());
    auto n = rx.open_into(packet, now, out);
    if (n.is_ok() && rx.buffered() == before.buffered) ++delivered;  // opened, not held
  } else {
    rx.handle(packet, now);
  }
  while (rx.poll()) ++delivered;
  require_unchanged(rx.drops().total() != drops, before, snapshot(rx, delivered), "a traffic packet");
}

}  // namespace

// A receiver at epoch 1, then at epoch 2 (which drains what was buffered as next-epoch),
// in group-only and signed modes; the relay at epoch 1.
bool run_traffic(std::span<const uint8_t> packet) {
  static DeterministicRng rng(6);
  static const SymmetricKey net1 = rng.symmetric_key(), net2 = rng.symmetric_key();
  static const SigningKey root = SigningKey::generate(rng);
  bool opened = false;
  for (bool signed_mode : {false, true}) {
    TrafficConfig c;
    c.group_id = 9;
    c.signed_broadcasts = signed_mode;
    c.root_public_key = root.public_key();
    auto rx = TrafficReceiver::create(c).value();
    uint64_t delivered = 0;
    rx.set_epoch(1, net1, 0);
    feed_checked(rx, packet, 1, false, delivered);
    opened = opened || delivered > 0;
    rx.set_epoch(2, net2, 2);
    while (rx.poll()) ++delivered;
    feed_checked(rx, packet, 3, false, delivered);  // a replay, or the previous epoch in grace
    feed_checked(rx, packet, 4, true, delivered);
    auto relay = TrafficRelay::create(c).value();
    relay.set_epoch(1, net1, 0);
    std::vector<uint8_t> plain;
    const auto from = packet.size() > 2 ? static_cast<SenderId>(packet[2] | packet[3 % packet.size()] << 8) : 1;
    (void)relay.check(packet, from, 1, &plain);
  }
  return opened;
}

bool run_certificate(std::span<const uint8_t> input) {
  (void)parse_certificate(input);
  return verify_certificate(input, ids().ca().public_key(), demo::kSimUnixTime, Role::kParticipant).is_ok();
}

bool run_charter(std::span<const uint8_t> input) {
  return verify_charter(input, ids().ca().public_key(), demo::kSimUnixTime).is_ok();
}

bool run_keyfile(std::span<const uint8_t> input) {
  std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  const bool secret = parse_secret_key_file(text).is_ok();
  const bool ca = parse_ca_public_file(text).is_ok();
  (void)from_hex(text);
  return secret || ca;
}

// Input: the address (first half) and the cookie (second half), checked at 5 s against a
// secret from DeterministicRng(7); and the whole input as a Control message.
bool run_cookie(std::span<const uint8_t> input) {
  static DeterministicRng rng(7);
  static const SymmetricKey secret = rng.symmetric_key();
  const size_t split = input.size() / 2;
  std::string_view addr(reinterpret_cast<const char*>(input.data()), split);
  (void)detail::parse_control(input);
  return detail::check_cookie(secret, addr, input.subspan(split), 5'000'000'000, 10'000'000'000);
}

}  // namespace netkey::fuzz
