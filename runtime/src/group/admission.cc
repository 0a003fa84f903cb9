// The Root's Admission room. See src/group/admission.h and docs/STATE-MACHINE.md.
#include "src/group/admission.h"

#include <cstring>

#include "netkey/certificate.h"
#include "netkey/kdf.h"
#include "src/util/clock.h"

namespace netkey::detail {

bool RateTable::allow(const std::string& key, uint64_t now_ns) {
  const uint64_t second = now_ns / kNanosPerSecond;
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    if (counts_.size() >= max_entries_) {
      std::erase_if(counts_, [&](const auto& kv) { return kv.second.first != second; });
      if (counts_.size() >= max_entries_) return false;
    }
    it = counts_.emplace(key, std::make_pair(second, 0u)).first;
  }
  if (it->second.first != second) it->second = {second, 0};
  return ++it->second.second <= per_second_;
}

std::string_view ip_of(std::string_view address) {
  const size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

Admission::Admission(AdmissionHost& host, const RootConfig& config, const CharterFields& charter,
                     const std::array<uint8_t, 32>& charter_digest, const SigningKey& key, Rng& rng,
                     const BootNonce& boot_nonce, RootStats& stats)
    : host_(host),
      config_(config),
      charter_(charter),
      charter_digest_(charter_digest),
      key_(key),
      rng_(rng),
      boot_nonce_(boot_nonce),
      stats_(stats),
      cookie_secret_(rng.symmetric_key()),
      per_ip_(config.max_handshakes_per_ip_per_s, config.max_rate_entries),
      per_subject_(config.max_handshakes_per_subject_per_s, config.max_rate_entries),
      per_address_(config.max_handshakes_per_address_per_s, config.max_rate_entries) {}

void Admission::on_datagram(std::string_view address, std::span<const uint8_t> bytes, uint64_t now_ns) {
  auto parsed = parse_control(bytes);
  if (!parsed) {
    ++stats_.malformed_control;
    return;
  }
  const wire::Control& m = *parsed->msg;
  switch (m.body_type()) {
    case wire::ControlBody::Hello: on_hello(address, *m.body_as_Hello(), bytes.size(), now_ns); break;
    case wire::ControlBody::HandshakeInit: on_init(address, *m.body_as_HandshakeInit(), now_ns); break;
    default: ++stats_.raw_unexpected; break;  // nothing else is taken before a connection
  }
}

void Admission::on_hello(std::string_view address, const wire::Hello& h, size_t size, uint64_t now) {
  if (size < kMinHelloBytes) {  // would amplify: the answer is larger than the question
    ++stats_.malformed_control;
    return;
  }
  if (h.session_id() != charter_.session_id) {
    refuse(address, RefusalReason::kCharterMismatch, "");
    return;
  }
  auto cookie = make_cookie(cookie_secret_, address, now);
  ++stats_.cookies_issued;
  host_.send_to_address(address, encode_cookie(cookie));
}

bool Admission::init_shape_ok(const wire::HandshakeInit& m) const {
  return m.ephemeral() != nullptr && m.ephemeral()->size() == 32 && m.certificate() != nullptr &&
         m.cookie() != nullptr && m.charter_hash() != nullptr && m.signature() != nullptr &&
         m.signature()->size() == 64;
}

void Admission::on_init(std::string_view address, const wire::HandshakeInit& m, uint64_t now) {
  if (!init_shape_ok(m)) {
    ++stats_.malformed_control;
    return;
  }
  X25519PublicKey member_eph;
  std::memcpy(member_eph.bytes.data(), m.ephemeral()->data(), 32);
  if (answered_before(address, member_eph)) return;
  // 1. The cookie, before any state or public-key work.
  if (!check_cookie(cookie_secret_, address, {m.cookie()->data(), m.cookie()->size()}, now,
                    config_.cookie_lifetime_ns)) {
    refuse(address, RefusalReason::kBadCookie, "");
    return;
  }
  // 2. Same charter (a memcmp): a mismatch costs nothing and is charged to nobody.
  if (m.session_id() != charter_.session_id || m.charter_hash()->size() != 32 ||
      std::memcmp(m.charter_hash()->data(), charter_digest_.data(), 32) != 0) {
    refuse(address, RefusalReason::kCharterMismatch, "");
    return;
  }
  // 3. Rate, before any public-key work: per address (so one port cannot spend its
  // IP's share), per IP (any port), and handshakes in flight.
  if (!per_address_.allow(std::string(address), now) || !per_ip_.allow(std::string(ip_of(address)), now) ||
      pending_.size() >= config_.max_handshakes_in_flight) {
    refuse(address, RefusalReason::kRateLimited, "");
    return;
  }
  auto cert = authenticate(address, m, now);
  if (!cert) return;
  // 6. Per subject: a rate, and one handshake in flight (a newer one replaces it).
  if (!per_subject_.allow(cert->subject_id, now)) {
    refuse(address, RefusalReason::kRateLimited, cert->subject_id);
    return;
  }
  replace_handshake_of(cert->subject_id);
  // 7. Room: members and pending joins only; unfinished handshakes hold no place.
  if (!host_.has_room(cert->subject_id)) {
    refuse(address, RefusalReason::kGroupFull, cert->subject_id);
    return;
  }
  auto id = host_.allocate_id();
  if (!id) {
    refuse(address, RefusalReason::kGroupFull, cert->subject_id);
    return;
  }
  answer(address, *cert, {m.certificate()->data(), m.certificate()->size()}, member_eph, *id, now);
}

bool Admission::answered_before(std::string_view address, const X25519PublicKey& member_eph) {
  auto existing = pending_.find(std::string(address));
  if (existing == pending_.end()) return false;
  // A retransmitted Init (its Response was lost): the same answer again, no new work.
  if (existing->second.peer == 0 && existing->second.member_eph == member_eph) {
    host_.send_to_address(address, existing->second.response);
  } else {
    ++stats_.malformed_control;
  }
  return true;
}

void Admission::replace_handshake_of(const std::string& subject) {
  auto old = by_subject_.find(subject);
  if (old == by_subject_.end()) return;
  const std::string old_address = old->second;
  auto o = pending_.find(old_address);
  if (o != pending_.end() && o->second.peer != 0) host_.close_peer(o->second.peer);
  drop(old_address);
}

std::optional<CertificateFields> Admission::authenticate(std::string_view address, const wire::HandshakeInit& m,
                                                         uint64_t now) {
  // 4. The certificate: CA, role, validity.
  ++stats_.public_key_ops;
  auto cert = verify_certificate({m.certificate()->data(), m.certificate()->size()}, config_.ca_public_key,
                                 unix_seconds(config_.unix_time_at_zero, now), Role::kParticipant);
  if (!cert) {
    RefusalReason r = RefusalReason::kCertificateInvalid;
    if (cert.code() == Errc::kExpired || cert.code() == Errc::kNotYetValid) r = RefusalReason::kCertificateExpired;
    if (cert.code() == Errc::kUnknownIssuer) r = RefusalReason::kWrongCa;
    refuse(address, r, "");
    return std::nullopt;
  }
  // 5. Proof of possession: the sender holds the certificate's key. A certificate is
  // public; before this the sender could be anyone who has seen one.
  Ed25519Signature proof;
  std::memcpy(proof.bytes.data(), m.signature()->data(), 64);
  X25519PublicKey eph;
  std::memcpy(eph.bytes.data(), m.ephemeral()->data(), 32);
  ++stats_.public_key_ops;
  if (!verify_signature(cert->public_key,
                        init_message({m.cookie()->data(), m.cookie()->size()}, m.session_id(), charter_digest_, eph),
                        proof)) {
    refuse(address, RefusalReason::kHandshakeFailed, "");
    return std::nullopt;
  }
  if (!host_.acl_allows(cert->subject_id)) {
    refuse(address, RefusalReason::kNotOnAcl, cert->subject_id);
    return std::nullopt;
  }
  if (cert->clearance < charter_.classification) {
    refuse(address, RefusalReason::kClearanceTooLow, cert->subject_id);
    return std::nullopt;
  }
  return std::move(cert).value();
}

void Admission::answer(std::string_view address, const CertificateFields& cert, std::span<const uint8_t> cert_bytes,
                       const X25519PublicKey& member_eph, MemberId id, uint64_t now) {
  X25519KeyPair eph = X25519KeyPair::generate(rng_);
  ++stats_.public_key_ops;
  auto shared = eph.agree(member_eph);
  if (!shared) {
    host_.release_id(id);
    refuse(address, RefusalReason::kHandshakeFailed, cert.subject_id);
    return;
  }
  Handshake h;
  h.address = std::string(address);
  h.subject = cert.subject_id;
  h.member = id;
  h.identity = cert.public_key;
  h.member_eph = member_eph;
  h.transcript = transcript_hash(charter_.session_id, charter_digest_, id, cert_bytes, member_eph,
                                 config_.certificate, eph.public_key(), boot_nonce_);
  h.member_secret = kdf_extract(shared->bytes(), kdf_ctx::kHandshake, h.transcript);
  h.connect_tag = connect_tag_of(h.member_secret);
  ++stats_.public_key_ops;
  Ed25519Signature sig = key_.sign(transcript_message(kRootHsLabel, h.transcript));
  h.response = encode_handshake_response(id, config_.certificate, eph.public_key(), sig, boot_nonce_);
  h.deadline_ns = now + config_.handshake_timeout_ns;
  deadlines_.insert({h.deadline_ns, h.address});
  by_subject_[h.subject] = h.address;
  host_.send_to_address(address, h.response);
  pending_.emplace(h.address, std::move(h));
}

bool Admission::peer_connected(PeerId peer, std::string_view address) {
  auto it = pending_.find(std::string(address));
  if (it == pending_.end() || it->second.peer != 0 || by_peer_.count(peer)) {
    ++stats_.connections_refused;
    return false;
  }
  it->second.peer = peer;
  by_peer_[peer] = it->first;
  return true;
}

std::optional<Handshake> Admission::on_finish(PeerId peer, const wire::HandshakeFinish& m) {
  auto a = by_peer_.find(peer);
  if (a == by_peer_.end() || m.signature() == nullptr || m.signature()->size() != 64) {
    ++stats_.malformed_control;
    return std::nullopt;
  }
  auto it = pending_.find(a->second);
  Ed25519Signature sig;
  std::memcpy(sig.bytes.data(), m.signature()->data(), 64);
  ++stats_.public_key_ops;
  if (!verify_signature(it->second.identity, transcript_message(kMemberHsLabel, it->second.transcript), sig)) {
    // The proof of possession passed, so this is the key holder misbehaving: close it.
    host_.count_refusal(RefusalReason::kHandshakeFailed, it->second.subject);
    drop(it->first);
    host_.close_peer(peer);
    return std::nullopt;
  }
  Handshake h = std::move(it->second);
  deadlines_.erase({h.deadline_ns, h.address});
  by_subject_.erase(h.subject);
  by_peer_.erase(a);
  pending_.erase(it);
  return h;  // the member id now belongs to the Root's membership
}

void Admission::peer_disconnected(PeerId peer) {
  auto a = by_peer_.find(peer);
  if (a != by_peer_.end()) drop(std::string(a->second));
}

void Admission::drop(const std::string& address) {
  auto it = pending_.find(address);
  if (it == pending_.end()) return;
  deadlines_.erase({it->second.deadline_ns, address});
  auto s = by_subject_.find(it->second.subject);
  if (s != by_subject_.end() && s->second == address) by_subject_.erase(s);
  if (it->second.peer != 0) by_peer_.erase(it->second.peer);
  host_.release_id(it->second.member);
  pending_.erase(it);
}

void Admission::handle_timeout(uint64_t now_ns) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ns) {
    const std::string address = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(address);
    if (it != pending_.end() && it->second.peer != 0) host_.close_peer(it->second.peer);
    drop(address);
  }
}

std::optional<uint64_t> Admission::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

bool Admission::accepts_connection_from(std::string_view address) const {
  auto it = pending_.find(std::string(address));
  return it != pending_.end() && it->second.peer == 0;
}

std::optional<uint32_t> Admission::connect_tag(std::string_view address) const {
  auto it = pending_.find(std::string(address));
  if (it == pending_.end() || it->second.peer != 0) return std::nullopt;
  return it->second.connect_tag;
}

void Admission::refuse(std::string_view address, RefusalReason r, const std::string& subject) {
  host_.count_refusal(r, subject);
  host_.send_to_address(address, encode_refusal(r));
}

}  // namespace netkey::detail
