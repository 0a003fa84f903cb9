// fuzz_traffic: the traffic header and packet-open path (receiver, zero-copy receiver
// and relay), in group-only and signed modes. A dropped packet must change nothing but
// the drop counters (fuzz_invariants.h).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_traffic({data, size});
  return 0;
}
