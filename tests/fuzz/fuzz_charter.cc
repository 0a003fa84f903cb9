// fuzz_charter: the signed charter.
#include <cstdint>

#include "common/pki.h"
#include "netkey/charter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static netkey::demo::Identities ids(3);
  (void)netkey::verify_charter({data, size}, ids.ca().public_key(), netkey::demo::kSimUnixTime);
  return 0;
}
