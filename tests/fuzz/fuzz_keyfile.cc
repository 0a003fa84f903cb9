// fuzz_keyfile: the key file and CA file text formats that netkey-ca and libnetkey read.
#include <cstdint>
#include <string_view>

#include "netkey/keyfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)netkey::parse_secret_key_file(text);
  (void)netkey::parse_ca_public_file(text);
  (void)netkey::from_hex(text);
  return 0;
}
