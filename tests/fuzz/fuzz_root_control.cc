// fuzz_root_control: the Root's doors, with a member (p1) already in the group: raw
// datagrams by address (Hello, HandshakeInit, anything else), a second client's
// connection (HandshakeFinish, then Authenticated only), the member's connection, and
// ACL updates through the trusted channel (submit_acl_update). The input is frames
// door || le16(n) || n bytes (fuzz_group.h RootDoors), so multi-step exchanges are
// reachable: the seeds run a second client's whole handshake. A rejected frame must
// change nothing (fuzz_invariants.h).
#include <cstdint>

#include "fuzz_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_root_control({data, size});
  return 0;
}
