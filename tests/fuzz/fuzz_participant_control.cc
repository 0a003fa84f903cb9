// fuzz_participant_control: what a client takes, just started, holding a cookie, or
// welcomed in a group: raw datagrams (CookieChallenge, HandshakeResponse, Refusal;
// ignored after the Response), the connection's control channel (Authenticated only),
// rekeys and traffic. The first byte picks the client and the door (fuzz_group.cc). A
// rejected message must change nothing (fuzz_invariants.h).
#include <cstdint>

#include "fuzz_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_participant_control({data, size});
  return 0;
}
