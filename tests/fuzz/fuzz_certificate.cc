// fuzz_certificate: certificate parsing and verification of untrusted bytes.
#include <cstdint>
#include <span>

#include "netkey/certificate.h"
#include "netkey/random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static netkey::DeterministicRng rng(1);
  static const netkey::SigningKey ca = netkey::SigningKey::generate(rng);
  std::span<const uint8_t> in(data, size);
  (void)netkey::parse_certificate(in);
  (void)netkey::verify_certificate(in, ca.public_key(), 1'800'000'000, netkey::Role::kParticipant);
  return 0;
}
