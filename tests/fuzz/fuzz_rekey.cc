// fuzz_rekey: Whole, Slice, Welcome and Resync as a welcomed member applies them (the
// envelopes: identifiers, Verifier, signature and tag checks; fuzz_whole_body and
// fuzz_sealed_body fuzz what lies behind a valid signature or tag). A rejected message
// must leave the member's keys as they were (fuzz_invariants.h).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_rekey({data, size});
  return 0;
}
