// A demo PKI: a CA, certificates for every role and a signed charter, all derived
// deterministically from a seed, so that separate processes (the arena server and its
// load bots) agree on them without sharing files. For tests, samples and load tools
// only: real deployments issue identities with netkey-ca.
#ifndef NETKEY_SAMPLES_COMMON_PKI_H_
#define NETKEY_SAMPLES_COMMON_PKI_H_

#include <map>
#include <string>
#include <vector>

#include "netkey/certificate.h"
#include "netkey/charter.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/random.h"
#include "netkey/sign.h"

namespace netkey::demo {

inline constexpr uint64_t kSimUnixTime = 1'800'000'000;  // "now" for simulated tests

struct Identity {
  std::string subject;
  SigningSeed seed;
  std::vector<uint8_t> certificate;
};

class Identities {
 public:
  // Certificates and charters are valid from base_unix - 1 h to base_unix + valid_s.
  explicit Identities(uint64_t seed, uint64_t base_unix = kSimUnixTime, uint64_t valid_s = 30 * 86400);
  // Issues (once) a certificate for `subject` with `role` and `clearance`, valid in the
  // window unless `expired` (then it ended before base_unix).
  const Identity& get(const std::string& subject, Role role = Role::kParticipant, uint8_t clearance = 1,
                      bool expired = false);
  // A certificate from another CA.
  Identity foreign(const std::string& subject);
  const SigningKey& ca() const { return ca_; }
  // A charter electing "root" and "lc", listing `participants`.
  std::vector<uint8_t> charter(CharterFields fields, const std::vector<std::string>& participants);
  static CharterFields default_fields(uint64_t session_id, uint64_t base_unix = kSimUnixTime,
                                      uint64_t valid_s = 86400);
  // The config of the elected Root ("root") for `charter`; Unix time = unix_zero + now/1e9.
  RootConfig root_config(const std::vector<uint8_t>& charter, uint64_t unix_zero);
  // The config of participant `id` for `charter`.
  ParticipantConfig participant_config(const Identity& id, const std::vector<uint8_t>& charter, uint64_t unix_zero);

 private:
  DeterministicRng rng_;
  uint64_t base_, valid_;
  SigningKey ca_;
  std::map<std::string, Identity> ids_;
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_PKI_H_
