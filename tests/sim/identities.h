// Test support: a CA, certificates for every role, and a signed charter.
#ifndef NETKEY_TESTS_SIM_IDENTITIES_H_
#define NETKEY_TESTS_SIM_IDENTITIES_H_

#include <map>
#include <string>
#include <vector>

#include "netkey/certificate.h"
#include "netkey/charter.h"
#include "netkey/random.h"
#include "netkey/sign.h"

namespace netkey::testing {

inline constexpr uint64_t kSimUnixTime = 1'800'000'000;  // "now" for certificates

struct Identity {
  std::string subject;
  SigningSeed seed;
  std::vector<uint8_t> certificate;
};

class Identities {
 public:
  explicit Identities(uint64_t seed);
  // Issues (once) a certificate for `subject` with `role` and `clearance`, valid around
  // kSimUnixTime unless `expired`.
  const Identity& get(const std::string& subject, Role role = Role::kParticipant, uint8_t clearance = 1,
                      bool expired = false);
  // A certificate from another CA.
  Identity foreign(const std::string& subject);
  const SigningKey& ca() const { return ca_; }
  // A charter electing "root" and "lc", listing `participants`.
  std::vector<uint8_t> charter(CharterFields fields, const std::vector<std::string>& participants);
  static CharterFields default_fields(uint64_t session_id);

 private:
  DeterministicRng rng_;
  SigningKey ca_;
  std::map<std::string, Identity> ids_;
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SIM_IDENTITIES_H_
