// fuzz_cookie: the stateless cookie check on untrusted bytes (and address text).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_cookie({data, size});
  return 0;
}
