// fuzz_whole_body: the RekeyBody inside a Whole. A member parses it only after the Root's
// signature verifies, so the harness signs the fuzzed body with the Root's key and a
// welcomed member (epoch 1) applies it, all or nothing.
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_whole_body({data, size});
  return 0;
}
