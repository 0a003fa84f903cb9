// fuzz_participant_control: what a client accepts before and during its handshake
// (CookieChallenge, HandshakeResponse, Refusal), on the control channel.
#include <cstdint>
#include <memory>

#include "common/pki.h"
#include "netkey/participant.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netkey;
  static demo::Identities ids(3);
  static const std::vector<uint8_t> charter = ids.charter(demo::Identities::default_fields(0x5151), {"p1"});
  auto p = Participant::create(ids.participant_config(ids.get("p1"), charter, demo::kSimUnixTime),
                               std::make_unique<DeterministicRng>(4), 0);
  if (!p) return 0;
  p->start(0);
  p->handle_control({data, size}, 1);
  p->handle_rekey({data, size}, 2);
  p->handle_traffic({data, size}, 3);
  while (p->poll_transmit()) {
  }
  return 0;
}
