// fuzz_handshake_init: a HandshakeInit that echoes a real cookie, so a fresh Root goes past the
// cookie to the charter, certificate, ACL, clearance, cap and X25519 checks; then one
// more fuzzed control message from the same peer (say, a HandshakeFinish).
// Input: le16(n) || certificate (n bytes) || ephemeral (32) || the next message.
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_handshake_init({data, size});
  return 0;
}
