#include "netkey/certificate.h"

#include <cstring>

#include "netkey/wire/certificate_generated.h"
#include "src/wire/verify.h"

namespace netkey {
namespace {

constexpr char kCertSigLabel[] = "netkey-cert-v1";  // signed as label || 0x00 || body
constexpr wire::VerifyLimits kCertLimits{kMaxCertificateBytes, 4, 8};
constexpr wire::VerifyLimits kBodyLimits{kMaxCertificateBytes, 4, 8};

std::vector<uint8_t> signed_message(std::span<const uint8_t> body) {
  std::vector<uint8_t> msg(sizeof(kCertSigLabel) + body.size());  // includes the NUL
  std::memcpy(msg.data(), kCertSigLabel, sizeof(kCertSigLabel));
  std::memcpy(msg.data() + sizeof(kCertSigLabel), body.data(), body.size());
  return msg;
}

wire::Role to_wire(Role r) { return static_cast<wire::Role>(static_cast<uint8_t>(r)); }

struct Parsed {
  CertificateFields fields;
  std::vector<uint8_t> body;  // exact signed bytes
  Ed25519Signature signature;
};

Result<Parsed> parse(std::span<const uint8_t> bytes) {
  // Copy to an aligned buffer: callers may hand us bytes at any address.
  std::vector<uint8_t> outer_copy(bytes.begin(), bytes.end());
  auto cert = wire::verify_flatbuffer<wire::Certificate>(outer_copy, "NKCT", kCertLimits,
                                                         "certificate");
  if (!cert) return cert.status();
  const auto* body_vec = (*cert)->body();
  const auto* sig_vec = (*cert)->signature();
  if (body_vec == nullptr || sig_vec == nullptr || sig_vec->size() != 64) {
    return Status(Errc::kMalformed, "certificate lacks a body or a 64-byte signature");
  }
  Parsed p;
  p.body.assign(body_vec->begin(), body_vec->end());
  std::memcpy(p.signature.bytes.data(), sig_vec->data(), 64);

  auto body = wire::verify_flatbuffer<wire::CertificateBody>(p.body, nullptr, kBodyLimits,
                                                             "certificate body");
  if (!body) return body.status();
  const wire::CertificateBody& b = **body;
  if (b.version() != 1) return Status(Errc::kMalformed, "unsupported certificate version");
  if (b.subject_id() == nullptr || b.subject_id()->size() == 0 ||
      b.subject_id()->size() > kMaxSubjectIdBytes) {
    return Status(Errc::kMalformed, "certificate subject id is missing or too long");
  }
  if (b.public_key() == nullptr || b.public_key()->size() != 32 ||
      b.issuer_key_id() == nullptr || b.issuer_key_id()->size() != 16) {
    return Status(Errc::kMalformed, "certificate key fields have the wrong size");
  }
  uint8_t role = static_cast<uint8_t>(b.role());
  if (role < 1 || role > 4) return Status(Errc::kMalformed, "certificate has an unknown role");
  CertificateFields& f = p.fields;
  f.serial = b.serial();
  f.subject_id = b.subject_id()->str();
  f.role = static_cast<Role>(role);
  std::memcpy(f.public_key.bytes.data(), b.public_key()->data(), 32);
  f.clearance = b.clearance();
  f.not_before = b.not_before();
  f.not_after = b.not_after();
  std::memcpy(f.issuer_key_id.bytes.data(), b.issuer_key_id()->data(), 16);
  return p;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kRoot: return "root";
    case Role::kListController: return "list-controller";
    case Role::kInitiator: return "initiator";
    case Role::kParticipant: return "participant";
  }
  return "unknown";
}

Result<Role> parse_role(std::string_view name) {
  for (Role r : {Role::kRoot, Role::kListController, Role::kInitiator, Role::kParticipant}) {
    if (role_name(r) == name) return r;
  }
  return Status(Errc::kInvalidArgument,
                "unknown role; use root, list-controller, initiator or participant");
}

Result<std::vector<uint8_t>> issue_certificate(const SigningKey& ca, CertificateFields fields) {
  if (fields.subject_id.empty() || fields.subject_id.size() > kMaxSubjectIdBytes) {
    return Status(Errc::kInvalidArgument, "subject id must be 1 to 64 bytes");
  }
  if (fields.not_before > fields.not_after) {
    return Status(Errc::kInvalidArgument, "not_before is after not_after");
  }
  fields.issuer_key_id = ca.key_id();

  flatbuffers::FlatBufferBuilder bb(256);
  auto subject = bb.CreateString(fields.subject_id);
  auto pk = bb.CreateVector(fields.public_key.bytes.data(), fields.public_key.bytes.size());
  auto issuer = bb.CreateVector(fields.issuer_key_id.bytes.data(), fields.issuer_key_id.bytes.size());
  auto body_off = wire::CreateCertificateBody(bb, 1, fields.serial, subject, to_wire(fields.role),
                                              pk, fields.clearance, fields.not_before,
                                              fields.not_after, issuer);
  bb.Finish(body_off);
  std::span<const uint8_t> body(bb.GetBufferPointer(), bb.GetSize());

  Ed25519Signature sig = ca.sign(signed_message(body));

  flatbuffers::FlatBufferBuilder cb(512);
  auto body_vec = cb.CreateVector(body.data(), body.size());
  auto sig_vec = cb.CreateVector(sig.bytes.data(), sig.bytes.size());
  cb.Finish(wire::CreateCertificate(cb, body_vec, sig_vec), "NKCT");
  return std::vector<uint8_t>(cb.GetBufferPointer(), cb.GetBufferPointer() + cb.GetSize());
}

Result<CertificateFields> parse_certificate(std::span<const uint8_t> bytes) {
  auto p = parse(bytes);
  if (!p) return p.status();
  return std::move(p->fields);
}

Result<CertificateFields> verify_certificate(std::span<const uint8_t> bytes,
                                             const Ed25519PublicKey& ca_public_key,
                                             uint64_t now_unix, std::optional<Role> required_role) {
  auto p = parse(bytes);
  if (!p) return p.status();
  const CertificateFields& f = p->fields;
  if (!(f.issuer_key_id == key_id_of(ca_public_key))) {
    return Status(Errc::kUnknownIssuer, "certificate for '" + f.subject_id +
                                            "' was issued by another CA");
  }
  Status sig = verify_signature(ca_public_key, signed_message(p->body), p->signature);
  if (!sig) {
    return Status(Errc::kBadSignature, "certificate for '" + f.subject_id +
                                           "' has an invalid CA signature (tampered or forged)");
  }
  if (now_unix < f.not_before) {
    return Status(Errc::kNotYetValid, "certificate for '" + f.subject_id + "' is valid from " +
                                          std::to_string(f.not_before) + " (now " +
                                          std::to_string(now_unix) + ")");
  }
  if (now_unix > f.not_after) {
    return Status(Errc::kExpired, "certificate for '" + f.subject_id + "' expired at " +
                                      std::to_string(f.not_after) + " (now " +
                                      std::to_string(now_unix) + ")");
  }
  if (required_role && *required_role != f.role) {
    return Status(Errc::kWrongRole, "certificate for '" + f.subject_id + "' has role " +
                                        std::string(role_name(f.role)) + ", expected " +
                                        std::string(role_name(*required_role)));
  }
  return std::move(p->fields);
}

}  // namespace netkey
