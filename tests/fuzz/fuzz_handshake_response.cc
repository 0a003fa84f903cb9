// fuzz_handshake_response: what a client parses on its raw path once it has sent its
// HandshakeInit: the HandshakeResponse (the Root's certificate, ephemeral, transcript
// signature and boot nonce).
#include <cstdint>

#include "fuzz_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_handshake_response({data, size});
  return 0;
}
