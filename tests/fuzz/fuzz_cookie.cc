// fuzz_cookie: the stateless cookie check on untrusted bytes (and address text).
#include <cstdint>
#include <string_view>

#include "netkey/random.h"
#include "src/group/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netkey;
  static DeterministicRng rng(7);
  static const SymmetricKey secret = rng.symmetric_key();
  const size_t split = size / 2;
  std::string_view addr(reinterpret_cast<const char*>(data), split);
  (void)detail::check_cookie(secret, addr, {data + split, size - split}, 5'000'000'000, 10'000'000'000);
  (void)detail::parse_control({data, size});
  return 0;
}
