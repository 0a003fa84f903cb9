// The harnesses of the parsers with nothing to forge in front of them: traffic,
// certificates, charters, key files, cookies (fuzz_world.h).
#include <cstring>
#include <string_view>

#include "fuzz_invariants.h"
#include "fuzz_world.h"
#include "netkey/charter.h"
#include "netkey/keyfile.h"
#include "netkey/private_channel.h"
#include "netkey/traffic.h"
#include "src/group/messages.h"

namespace netkey::fuzz {

namespace {

uint32_t detail_seq(std::span<const uint8_t> p) {
  return static_cast<uint32_t>(p[4] | p[5] << 8 | p[6] << 16) | uint32_t{p[7]} << 24;
}

// Feeds `packet` to `rx` through handle() (then polls) or open_into(), and checks all or
// nothing: a dropped packet changes only the drop counters (not the epoch, the buffer
// or what was delivered). `delivered` counts what `rx` has given out.
void feed_checked(TrafficReceiver& rx, std::span<const uint8_t> packet, uint64_t now, bool zero_copy,
                  uint64_t& delivered, Delivery delivery = Delivery::kUnreliableSequenced) {
  const ReceiverSnapshot before = snapshot(rx, delivered);
  const uint64_t drops = rx.drops().total();
  if (zero_copy) {
    std::vector<uint8_t> out(packet.size());
    auto n = rx.open_into(packet, now, out, nullptr, nullptr, delivery);
    if (n.is_ok() && rx.buffered() == before.buffered) ++delivered;  // opened, not held
  } else {
    rx.handle(packet, now, delivery);
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
  static const SymmetricKey team1 = rng.symmetric_key();  // the receiver is in team 1
  bool opened = false;
  for (bool signed_mode : {false, true}) {
    TrafficConfig c;
    c.group_id = 9;
    c.signed_broadcasts = signed_mode;
    c.root_public_key = root.public_key();
    auto rx = TrafficReceiver::create(c).value();
    uint64_t delivered = 0;
    rx.set_epoch(1, net1, 1, team1, 0);
    feed_checked(rx, packet, 1, false, delivered);
    opened = opened || delivered > 0;
    rx.set_epoch(2, net2, 2);
    while (rx.poll()) ++delivered;
    feed_checked(rx, packet, 3, false, delivered);  // a replay, or the previous epoch in grace
    feed_checked(rx, packet, 4, true, delivered);
    rx.set_epoch(3, net1, 5);  // epoch 1 is two back: only a reliable packet reaches it
    while (rx.poll()) ++delivered;
    feed_checked(rx, packet, 6, false, delivered, Delivery::kReliableOrdered);
    auto relay = TrafficRelay::create(c).value();
    relay.set_epoch(1, net1, 0);
    std::vector<uint8_t> plain;
    const auto from = packet.size() > 2 ? static_cast<SenderId>(packet[2] | packet[3 % packet.size()] << 8) : 1;
    (void)relay.check(packet, from, 1, &plain);
  }
  return opened;
}

// The private-channel keys of fuzz_private_channel (and its seeds): member 7, the
// member secret from DeterministicRng(8).
const SymmetricKey& private_fuzz_base() {
  static DeterministicRng rng(8);
  static const SymmetricKey base = private_base_key(rng.symmetric_key());
  return base;
}

namespace {

// A valid packet of `type` for member 7 in `epoch` with sequence `seq` and no payload,
// sealed by the spec (private_epoch_key), for the probe below.
std::vector<uint8_t> private_probe(PacketType type, uint64_t epoch, uint32_t seq) {
  const TrafficHeader h{type, static_cast<uint8_t>(epoch), kPrivateFuzzMember, seq};
  std::vector<uint8_t> out(kTrafficOverhead);
  h.write(out.data());
  uint8_t ad[16] = {};
  std::memcpy(ad, out.data(), kTrafficHeaderSize);
  ad[8] = 9;  // le64(group 9)
  const Aead aead = Aead::create(AeadSuite::kChaCha20Poly1305).value();
  aead.seal(private_epoch_key(private_fuzz_base(), epoch, type), Nonce::from_counter(12, 0x66617274, seq), ad, {},
            std::span<uint8_t>(out).subspan(kTrafficHeaderSize));
  return out;
}

// Feeds `packet` to `c` and checks all or nothing: a dropped packet changes no epoch, no
// sealing sequence, and marks nothing (a valid packet with its sequence still opens);
// an opened one marks its sequence (the same probe is then a replay).
bool private_checked(PrivateChannel& c, std::span<const uint8_t> packet, uint64_t now, Delivery d) {
  const uint64_t epoch = c.epoch(), seq = c.next_seq(), drops = c.drops().total();
  std::vector<uint8_t> out(packet.size());
  const bool opened = c.open(packet, now, out, d).is_ok();
  const bool rejected = c.drops().total() != drops || force_rejected();
  if (c.epoch() != epoch || c.next_seq() != seq) all_or_nothing_violated("a private packet", "epoch or sequence");
  if (packet.size() < kTrafficHeaderSize || packet[1] != static_cast<uint8_t>(epoch)) return opened;
  const uint32_t s = detail_seq(packet);
  const PacketType type = c.side() == PrivateSide::kRoot ? PacketType::kPrivateToRoot : PacketType::kPrivateToMember;
  std::vector<uint8_t> probe_out(1);
  const bool probe = c.open(private_probe(type, epoch, s), now, probe_out, d).is_ok();
  if (rejected && !probe) all_or_nothing_violated("a private packet", "its sequence was marked");
  if (!rejected && probe) all_or_nothing_violated("a private packet", "it opened but its sequence is unmarked");
  return opened;
}

}  // namespace

// Member 7's two ends at epoch 1, then at epoch 2 with epoch 1 retained: every packet
// is fed unreliably, then reliably after the rekey.
bool run_private_channel(std::span<const uint8_t> packet) {
  bool opened = false;
  for (PrivateSide side : {PrivateSide::kMember, PrivateSide::kRoot}) {
    TrafficConfig c;
    c.group_id = 9;
    auto ch = PrivateChannel::create(c, kPrivateFuzzMember, side).value();
    ch.set_epoch(1, private_fuzz_base(), 0);
    opened = private_checked(ch, packet, 1, Delivery::kUnreliableSequenced) || opened;
    auto later = PrivateChannel::create(c, kPrivateFuzzMember, side).value();
    later.set_epoch(1, private_fuzz_base(), 0);
    later.set_epoch(2, private_fuzz_base(), 2);
    later.set_epoch(3, private_fuzz_base(), 3);
    std::vector<uint8_t> out(packet.size());
    (void)later.open(packet, 4, out, Delivery::kReliableOrdered);  // a retained epoch's path
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
