// fuzz_charter_body: the CharterBody. verify_charter parses it only after the Initiator's
// signature verifies, so the harness signs the fuzzed body with the Initiator's key.
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_charter_body({data, size});
  return 0;
}
