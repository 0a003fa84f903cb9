#include "common/pki.h"

namespace netkey::demo {

Identities::Identities(uint64_t seed, uint64_t base_unix, uint64_t valid_s)
    : rng_(seed), base_(base_unix), valid_(valid_s), ca_(SigningKey::generate(rng_)) {}

const Identity& Identities::get(const std::string& subject, Role role, uint8_t clearance, bool expired) {
  const std::string key = subject + "/" + std::string(role_name(role)) + "/" + std::to_string(clearance) +
                          (expired ? "/x" : "");
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  Identity id;
  id.subject = subject;
  rng_.fill(id.seed.mutable_bytes());
  SigningKey k = SigningKey::from_seed(id.seed);
  CertificateFields f;
  f.serial = rng_.next_u64();
  f.subject_id = subject;
  f.role = role;
  f.public_key = k.public_key();
  f.clearance = clearance;
  f.not_before = expired ? base_ - 20000 : base_ - 3600;
  f.not_after = expired ? base_ - 10000 : base_ + valid_;
  id.certificate = issue_certificate(ca_, f).value();
  return ids_.emplace(key, std::move(id)).first->second;
}

Identity Identities::foreign(const std::string& subject) {
  SigningKey other = SigningKey::generate(rng_);
  Identity id;
  id.subject = subject;
  rng_.fill(id.seed.mutable_bytes());
  CertificateFields f;
  f.subject_id = subject;
  f.role = Role::kParticipant;
  f.public_key = SigningKey::from_seed(id.seed).public_key();
  f.clearance = 9;
  f.not_before = base_ - 3600;
  f.not_after = base_ + valid_;
  id.certificate = issue_certificate(other, f).value();
  return id;
}

CharterFields Identities::default_fields(uint64_t session_id, uint64_t base_unix, uint64_t valid_s) {
  CharterFields f;
  f.session_id = session_id;
  f.classification = 1;
  f.degree = 4;
  f.batch_window_ms = 50;
  f.max_batch = 256;
  f.member_cap = 2000;
  f.not_before = base_unix - 3600;
  f.not_after = base_unix + valid_s;
  return f;
}

RootConfig Identities::root_config(const std::vector<uint8_t>& charter, uint64_t unix_zero) {
  const Identity& r = get("root", Role::kRoot, 9);
  RootConfig rc;
  rc.charter = charter;
  rc.ca_public_key = ca_.public_key();
  rc.certificate = r.certificate;
  rc.signing_seed = r.seed.clone();
  rc.unix_time_at_zero = unix_zero;
  // Demo and test bots all share one IP (loopback): per-IP limits would throttle them.
  rc.max_handshakes_per_ip_per_s = 1u << 20;
  return rc;
}

ParticipantConfig Identities::participant_config(const Identity& id, const std::vector<uint8_t>& charter,
                                                 uint64_t unix_zero) {
  ParticipantConfig pc;
  pc.charter = charter;
  pc.ca_public_key = ca_.public_key();
  pc.certificate = id.certificate;
  pc.signing_seed = id.seed.clone();
  pc.unix_time_at_zero = unix_zero;
  return pc;
}

std::vector<uint8_t> Identities::charter(CharterFields f, const std::vector<std::string>& participants) {
  const Identity& root = get("root", Role::kRoot, 9);
  const Identity& lc = get("lc", Role::kListController, 9);
  const Identity& init = get("lobby", Role::kInitiator, 9);
  f.root_key_id = SigningKey::from_seed(root.seed).key_id();
  f.list_controller_key_id = SigningKey::from_seed(lc.seed).key_id();
  f.participants = participants;
  return sign_charter(f, SigningKey::from_seed(init.seed), init.certificate).value();
}

}  // namespace netkey::demo
