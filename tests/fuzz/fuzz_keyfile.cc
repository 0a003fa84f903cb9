// fuzz_keyfile: the key file and CA file text formats that netkey-ca and libnetkey read.
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_keyfile({data, size});
  return 0;
}
