// The Root's Membership. See src/group/membership.h.
#include "src/group/membership.h"

#include <cstring>

#include "netkey/certificate.h"
#include "src/util/clock.h"
#include "src/wire/verify.h"

namespace netkey::detail {

Membership::Membership(const RootConfig& config, const CharterFields& charter, uint64_t group_id, RootStats& stats,
                       RootOutput& out)
    : config_(config), charter_(charter), group_id_(group_id), stats_(stats), out_(out) {}

Result<std::vector<std::string>> Membership::apply_acl_update(std::span<const uint8_t> bytes, uint64_t now_ns) {
  auto fail = [&](Errc code, const char* why) {
    ++stats_.acl_updates_rejected;
    return Status(code, std::string("ACL update refused: ") + why);
  };
  auto parsed = parse_control(bytes);
  if (!parsed || parsed->msg->body_type() != wire::ControlBody::AclUpdate) return fail(Errc::kMalformed, "not an AclUpdate");
  const wire::AclUpdate& m = *parsed->msg->body_as_AclUpdate();
  if (m.body() == nullptr || m.signature() == nullptr || m.signature()->size() != 64 || m.certificate() == nullptr) {
    return fail(Errc::kMalformed, "missing body, signature or certificate");
  }
  ++stats_.public_key_ops;
  auto cert = verify_certificate({m.certificate()->data(), m.certificate()->size()}, config_.ca_public_key,
                                 unix_seconds(config_.unix_time_at_zero, now_ns), Role::kListController);
  if (!cert) return fail(cert.code(), "the List Controller's certificate does not verify");
  if (!(key_id_of(cert->public_key) == charter_.list_controller_key_id)) {
    return fail(Errc::kWrongRole, "not the List Controller the charter names");
  }
  Ed25519Signature sig;
  std::memcpy(sig.bytes.data(), m.signature()->data(), 64);
  ++stats_.public_key_ops;
  if (!verify_signature(cert->public_key, acl_message({m.body()->data(), m.body()->size()}), sig)) {
    return fail(Errc::kBadSignature, "bad signature");
  }
  std::vector<uint8_t> body(m.body()->begin(), m.body()->end());
  auto b = wire::verify_flatbuffer<wire::AclUpdateBody>(body, nullptr, {kMaxControlBytes, 4, 8}, "acl");
  if (!b) return fail(Errc::kMalformed, "body does not verify");
  const wire::AclUpdateBody& u = **b;
  // The group id names this run of the Root: an update from an earlier run is refused.
  if (u.session_id() != charter_.session_id || u.group_id() != group_id_) {
    return fail(Errc::kWrongGroup, "for another session or another run of this Root");
  }
  if (u.seq() != acl_seq_ + 1) return fail(Errc::kStaleEpoch, "sequence is not the next one (replay or reorder)");
  acl_seq_ = u.seq();
  ++stats_.acl_updates_applied;
  if (u.adds()) {
    for (const auto* s : *u.adds()) acl_.insert(s->str());
  }
  std::vector<std::string> removed;
  if (u.removes()) {
    for (const auto* s : *u.removes()) {
      removed.push_back(s->str());
      acl_.erase(removed.back());
    }
  }
  return removed;
}

std::optional<MemberId> Membership::allocate_id() {
  if (!free_ids_.empty()) {
    MemberId id = free_ids_.back();
    free_ids_.pop_back();
    return id;
  }
  if (next_id_ > kMaxMemberCap) return std::nullopt;
  return next_id_++;
}

void Membership::bind_connection(PeerId peer, std::string_view address) {
  connected_address_[peer] = std::string(address);
  connected_.insert(std::string(address));
}

void Membership::forget_connection(PeerId peer) {
  auto a = connected_address_.find(peer);
  if (a == connected_address_.end()) return;
  connected_.erase(a->second);
  connected_address_.erase(a);
}

MemberPeer* Membership::peer(PeerId peer) {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

void Membership::add_joining(PeerId peer, MemberId id, ControlChannel control) {
  peers_.emplace(peer, MemberPeer{MemberPeer::Stage::kJoining, id, std::move(control)});
}

void Membership::promote(PeerId peer, TeamId team) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.stage == MemberPeer::Stage::kMember) return;
  it->second.stage = MemberPeer::Stage::kMember;
  out_.member_change(peer, Transmit::MemberChange::kAdded, team);
}

void Membership::erase_peer(PeerId peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (it->second.stage == MemberPeer::Stage::kMember) out_.member_change(peer, Transmit::MemberChange::kRemoved);
  peers_.erase(it);
}

MemberRec* Membership::member(MemberId id) {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

void Membership::add_member(MemberId id, PeerId peer, std::string subject) {
  by_subject_[subject] = id;
  members_[id] = MemberRec{peer, std::move(subject), false};
}

std::optional<MemberId> Membership::member_of(std::string_view subject) const {
  auto it = by_subject_.find(std::string(subject));
  if (it == by_subject_.end()) return std::nullopt;
  return it->second;
}

std::optional<MemberRec> Membership::remove_member(MemberId id) {
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  MemberRec rec = std::move(it->second);
  members_.erase(it);
  auto s = by_subject_.find(rec.subject);
  if (s != by_subject_.end() && s->second == id) by_subject_.erase(s);
  free_ids_.push_back(id);
  auto p = peers_.find(rec.peer);
  if (rec.peer != 0 && p != peers_.end() && p->second.member == id) {
    erase_peer(rec.peer);
    if (rec.disconnect_on_leave) out_.close(rec.peer);
  }
  return rec;
}

std::vector<PeerId> Membership::member_peers() const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : peers_) {
    if (p.stage == MemberPeer::Stage::kMember) out.push_back(id);
  }
  return out;
}

}  // namespace netkey::detail
