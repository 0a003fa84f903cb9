// fuzz_rekey: Whole, Slice, Welcome and Resync as a welcomed member applies them (the
// envelopes: identifiers, Verifier, signature and tag checks; fuzz_whole_body and
// fuzz_sealed_body fuzz what lies behind a valid signature or tag).
#include <cstdint>

#include "fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netkey;
  static const fuzz::FuzzMember m;
  MemberKeys keys = fuzz::welcomed(m);
  if (!keys.in_group()) return 0;
  (void)keys.apply({data, size});
  (void)keys.apply_whole({data, size});
  (void)keys.apply_sealed({data, size});
  return 0;
}
