#include "netkey/list_controller.h"

#include "netkey/certificate.h"
#include "src/group/messages.h"

namespace netkey {

ListController::ListController(uint64_t session_id, uint64_t group_id, const SigningSeed& signing_seed,
                               std::vector<uint8_t> certificate, uint64_t next_seq)
    : session_id_(session_id),
      group_id_(group_id),
      key_(SigningKey::from_seed(signing_seed)),
      certificate_(std::move(certificate)),
      next_seq_(next_seq) {}

Result<std::shared_ptr<const std::vector<uint8_t>>> ListController::update(const std::vector<std::string>& adds,
                                                                           const std::vector<std::string>& removes) {
  if (adds.empty() && removes.empty()) return Status(Errc::kInvalidArgument, "empty ACL update");
  for (const auto* list : {&adds, &removes}) {
    for (const auto& s : *list) {
      if (s.empty() || s.size() > kMaxSubjectIdBytes) return Status(Errc::kInvalidArgument, "subject ids must be 1..64 bytes");
    }
  }
  flatbuffers::FlatBufferBuilder b(256 + (adds.size() + removes.size()) * 24);
  std::vector<flatbuffers::Offset<flatbuffers::String>> a, r;
  for (const auto& s : adds) a.push_back(b.CreateString(s));
  for (const auto& s : removes) r.push_back(b.CreateString(s));
  auto av = b.CreateVector(a);
  auto rv = b.CreateVector(r);
  b.Finish(wire::CreateAclUpdateBody(b, session_id_, next_seq_, av, rv, group_id_));
  std::span<const uint8_t> body(b.GetBufferPointer(), b.GetSize());
  if (body.size() + certificate_.size() + 256 > detail::kMaxControlBytes) {
    return Status(Errc::kInvalidArgument, "ACL update too large: split it");
  }
  Ed25519Signature sig = key_.sign(detail::acl_message(body));
  ++next_seq_;
  return detail::encode_acl_update(body, sig, certificate_);
}

}  // namespace netkey
