// fuzz_sealed_body: the plaintext of a Slice (a RekeyBody), a Welcome or a Resync (a
// PathBody). A member parses it only after the AEAD tag verifies, so the harness seals the
// fuzzed plaintext under the member's unicast key. The first byte picks the kind and the
// member (welcomed, or fresh); the header names the member's next epoch. All or nothing.
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_sealed_body({data, size});
  return 0;
}
