// fuzz_handshake_response: what a client parses once it has sent its HandshakeInit: the
// HandshakeResponse (the Root's certificate, ephemeral and transcript signature).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_handshake_response({data, size});
  return 0;
}
