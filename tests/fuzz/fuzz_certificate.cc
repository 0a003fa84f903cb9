// fuzz_certificate: certificate parsing and verification of untrusted bytes (against the
// fuzz CA, so that the seed, a real certificate, verifies).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_certificate({data, size});
  return 0;
}
