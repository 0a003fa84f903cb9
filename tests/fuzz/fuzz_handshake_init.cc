// fuzz_handshake_init: a HandshakeInit that echoes a real cookie and carries a real proof
// of possession (signed by whichever fuzz identity holds the certificate's key), so a
// fresh Root goes past the cookie and the proof to the charter, certificate, ACL,
// clearance, rate, room and X25519 checks; then one more control message on the
// connection bound to that handshake (say, a HandshakeFinish).
// Input: le16(n) || certificate (n bytes) || ephemeral (32) || the next message.
#include <cstdint>

#include "fuzz_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_handshake_init({data, size});
  return 0;
}
