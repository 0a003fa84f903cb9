// fuzz_traffic: the traffic header and packet-open path (receiver and relay), in
// group-only and signed modes.
#include <cstdint>

#include "netkey/random.h"
#include "netkey/traffic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netkey;
  static DeterministicRng rng(6);
  static const SymmetricKey net1 = rng.symmetric_key(), net2 = rng.symmetric_key();
  static const SigningKey root = SigningKey::generate(rng);
  for (bool signed_mode : {false, true}) {
    TrafficConfig c;
    c.group_id = 9;
    c.signed_broadcasts = signed_mode;
    c.root_public_key = root.public_key();
    auto rx = TrafficReceiver::create(c).value();
    rx.set_epoch(1, net1, 0);
    rx.handle({data, size}, 1);
    rx.set_epoch(2, net2, 2);  // drains whatever was buffered as next-epoch
    rx.handle({data, size}, 3);
    while (rx.poll()) {
    }
    auto relay = TrafficRelay::create(c).value();
    relay.set_epoch(1, net1, 0);
    std::vector<uint8_t> plain;
    (void)relay.check({data, size}, size > 2 ? static_cast<SenderId>(data[2] | data[3 % size] << 8) : 1, 1, &plain);
  }
  return 0;
}
