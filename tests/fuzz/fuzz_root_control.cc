// fuzz_root_control: every control message the Root accepts from the network
// (Hello, HandshakeInit, HandshakeFinish, LeaveRequest, ResyncRequest, AclUpdate), fed
// to a running Root with members. Inputs are one or more messages split by the length
// prefix le16(n) so that multi-step exchanges are reachable.
#include <cstdint>
#include <memory>

#include "common/pki.h"
#include "netkey/root.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netkey;
  static demo::Identities ids(3);
  static const std::vector<uint8_t> charter = [] {
    auto f = demo::Identities::default_fields(0x5151);
    return ids.charter(f, {"p1", "p2"});
  }();
  static std::unique_ptr<Root> root = [] {
    auto r = Root::create(ids.root_config(charter, demo::kSimUnixTime), std::make_unique<DeterministicRng>(9), 0);
    return std::make_unique<Root>(std::move(r).value());
  }();
  static uint64_t now = 0;
  size_t at = 0;
  while (at + 2 <= size) {
    const size_t n = static_cast<size_t>(data[at] | data[at + 1] << 8);
    at += 2;
    const size_t take = std::min(n, size - at);
    now += 1'000'000;
    root->handle_control(static_cast<PeerId>(data[at - 2] & 7), "fuzz:1", {data + at, take}, now);
    at += take;
  }
  root->handle_timeout(now);
  while (root->poll_transmit()) {
  }
  while (root->poll_event()) {
  }
  return 0;
}
