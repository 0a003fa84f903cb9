// fuzz_private_channel: PrivateChannel::open at both ends (types 5 and 6), current and
// retained epochs. A dropped packet must change nothing and mark no sequence; an opened
// one must mark its sequence (fuzz_parsers.cc private_checked).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_private_channel({data, size});
  return 0;
}
