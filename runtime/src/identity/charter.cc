#include "netkey/charter.h"

#include <cstring>

#include "netkey/certificate.h"
#include "netkey/kdf.h"
#include "netkey/wire/charter_generated.h"
#include "src/wire/verify.h"

namespace netkey {
namespace {

constexpr char kCharterSigLabel[] = "netkey-charter-v1";
constexpr wire::VerifyLimits kCharterLimits{kMaxCharterBytes, 4, 8};
constexpr wire::VerifyLimits kBodyLimits{kMaxCharterBytes, 6, 16};

std::vector<uint8_t> signed_message(std::span<const uint8_t> body) {
  std::vector<uint8_t> m(sizeof(kCharterSigLabel) + body.size());
  std::memcpy(m.data(), kCharterSigLabel, sizeof(kCharterSigLabel));
  std::memcpy(m.data() + sizeof(kCharterSigLabel), body.data(), body.size());
  return m;
}

Status check_fields(const CharterFields& f) {
  auto bad = [](const char* m) { return Status(Errc::kInvalidArgument, m); };
  if (!aead_suite_available(f.suite) && f.suite != AeadSuite::kAes256Gcm) return bad("charter: unknown AEAD suite");
  if (f.degree < 2 || f.degree > 16) return bad("charter: tree degree must be 2..16");
  if (f.teams > f.degree) return bad("charter: teams must be 0..tree degree");
  if (f.batch_window_ms > 60000) return bad("charter: batch window must be at most 60000 ms");
  if (f.max_batch == 0) return bad("charter: max batch must be at least 1");
  if (f.member_cap == 0 || f.member_cap > kMaxMemberCap) return bad("charter: member cap must be 1..65535");
  if (f.participants.size() > kMaxMemberCap) return bad("charter: too many participants");
  for (const auto& p : f.participants) {
    if (p.empty() || p.size() > kMaxSubjectIdBytes) return bad("charter: participant ids must be 1..64 bytes");
  }
  if (f.not_before > f.not_after) return bad("charter: not_before is after not_after");
  return Status::ok();
}

}  // namespace

std::array<uint8_t, 32> charter_hash(std::span<const uint8_t> bytes) {
  static constexpr char kLabel[] = "netkey-charter-hash-v1";
  return hash256({std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kLabel), sizeof(kLabel) - 1), bytes});
}

Result<std::vector<uint8_t>> sign_charter(const CharterFields& f, const SigningKey& initiator,
                                          std::span<const uint8_t> initiator_certificate) {
  NETKEY_RETURN_IF_ERROR(check_fields(f));
  flatbuffers::FlatBufferBuilder b(1024 + f.participants.size() * 24);
  std::vector<flatbuffers::Offset<flatbuffers::String>> names;
  for (const auto& p : f.participants) names.push_back(b.CreateString(p));
  auto nv = b.CreateVector(names);
  auto root = b.CreateVector(f.root_key_id.bytes.data(), 16);
  auto lc = b.CreateVector(f.list_controller_key_id.bytes.data(), 16);
  auto attrs = wire::CreateSecurityAttributes(
      b, static_cast<uint8_t>(f.suite), 256, f.classification, f.degree, f.batch_window_ms, f.max_batch,
      f.hash_forward_joins ? wire::JoinPolicy::HashForward : wire::JoinPolicy::RekeyOnJoin,
      f.signed_broadcasts ? wire::BroadcastAuth::RootSigned : wire::BroadcastAuth::GroupOnly, f.member_cap,
      f.teams);
  b.Finish(wire::CreateCharterBody(b, 1, f.session_id, attrs, root, lc, nv, f.not_before, f.not_after));
  std::span<const uint8_t> body(b.GetBufferPointer(), b.GetSize());
  Ed25519Signature sig = initiator.sign(signed_message(body));
  flatbuffers::FlatBufferBuilder c(body.size() + initiator_certificate.size() + 256);
  auto bv = c.CreateVector(body.data(), body.size());
  auto sv = c.CreateVector(sig.bytes.data(), sig.bytes.size());
  auto cv = c.CreateVector(initiator_certificate.data(), initiator_certificate.size());
  c.Finish(wire::CreateCharter(c, bv, sv, cv), "NKCH");
  return std::vector<uint8_t>(c.GetBufferPointer(), c.GetBufferPointer() + c.GetSize());
}

Result<CharterFields> verify_charter(std::span<const uint8_t> bytes, const Ed25519PublicKey& ca_public_key,
                                     uint64_t now_unix) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  auto ch = wire::verify_flatbuffer<wire::Charter>(copy, "NKCH", kCharterLimits, "charter");
  if (!ch) return ch.status();
  const auto* body = (*ch)->body();
  const auto* sig = (*ch)->signature();
  const auto* cert = (*ch)->initiator_certificate();
  if (body == nullptr || sig == nullptr || sig->size() != 64 || cert == nullptr) {
    return Status(Errc::kMalformed, "charter lacks body, signature or initiator certificate");
  }
  auto init = verify_certificate({cert->data(), cert->size()}, ca_public_key, now_unix, Role::kInitiator);
  if (!init) return Status(init.code(), "charter's initiator certificate: " + init.status().message());
  Ed25519Signature s;
  std::memcpy(s.bytes.data(), sig->data(), 64);
  if (!verify_signature(init->public_key, signed_message({body->data(), body->size()}), s)) {
    return Status(Errc::kBadSignature, "charter signature does not verify against its initiator");
  }
  std::vector<uint8_t> body_copy(body->begin(), body->end());
  auto cb = wire::verify_flatbuffer<wire::CharterBody>(body_copy, nullptr, kBodyLimits, "charter body");
  if (!cb) return cb.status();
  const wire::CharterBody& b = **cb;
  if (b.version() != 1 || b.attributes() == nullptr || b.root_key_id() == nullptr ||
      b.root_key_id()->size() != 16 || b.list_controller_key_id() == nullptr ||
      b.list_controller_key_id()->size() != 16) {
    return Status(Errc::kMalformed, "charter body lacks attributes or key ids");
  }
  const wire::SecurityAttributes& a = *b.attributes();
  if (a.key_bits() != 256) return Status(Errc::kInvalidArgument, "charter: only 256-bit keys are supported");
  if (a.aead_suite() < 1 || a.aead_suite() > 3) return Status(Errc::kInvalidArgument, "charter: unknown AEAD suite");
  CharterFields f;
  f.session_id = b.session_id();
  f.suite = static_cast<AeadSuite>(a.aead_suite());
  f.classification = a.classification();
  f.degree = a.tree_degree();
  f.teams = a.tree_teams();
  f.batch_window_ms = a.batch_window_ms();
  f.max_batch = a.max_batch();
  f.hash_forward_joins = a.join_policy() == wire::JoinPolicy::HashForward;
  f.signed_broadcasts = a.broadcast_auth() == wire::BroadcastAuth::RootSigned;
  f.member_cap = a.member_cap();
  std::memcpy(f.root_key_id.bytes.data(), b.root_key_id()->data(), 16);
  std::memcpy(f.list_controller_key_id.bytes.data(), b.list_controller_key_id()->data(), 16);
  if (b.participants() != nullptr) {
    for (const auto* p : *b.participants()) f.participants.push_back(p->str());
  }
  f.not_before = b.not_before();
  f.not_after = b.not_after();
  NETKEY_RETURN_IF_ERROR(check_fields(f));
  if (now_unix < f.not_before) return Status(Errc::kNotYetValid, "charter is not valid yet");
  if (now_unix > f.not_after) return Status(Errc::kExpired, "charter has expired");
  return f;
}

}  // namespace netkey
