// fuzz_acl_update: the AclUpdateBody. The Root parses it only after the List Controller's
// certificate and signature verify, so the harness signs the fuzzed body with the LC's
// key and submits it to a fresh Root through the trusted channel, all or nothing.
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)netkey::fuzz::run_acl_update({data, size});
  return 0;
}
