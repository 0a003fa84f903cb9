// fuzz_authenticated: the inner Control message behind an Authenticated wrapper. A
// fuzzer cannot forge the tag, so the harness runs a real handshake (a Root and p1 in
// memory), derives p1's member secret from the messages, and seals the fuzzed inner
// bytes under the control key: from the member to the Root (LeaveRequest,
// ResyncRequest) or from the Root to the member (Refusal), as the first byte says. A
// rejected message must change nothing (fuzz_invariants.h).
#include <cstdint>

#include "fuzz_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_authenticated({data, size});
  return 0;
}
