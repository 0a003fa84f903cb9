// The Root state machine. See netkey/root.h for the contract and
// docs/STATE-MACHINE.md "Root" for the transitions.
#include "netkey/root.h"

#include <cstring>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "netkey/batch_planner.h"
#include "netkey/certificate.h"
#include "netkey/kdf.h"
#include "netkey/rekey_codec.h"
#include "netkey/x25519.h"
#include "src/group/messages.h"
#include "src/wire/verify.h"

namespace netkey {

using detail::Bytes;

uint64_t RootStats::refusals_total() const {
  uint64_t t = 0;
  for (uint64_t v : refusals) t += v;
  return t;
}

struct Root::Impl {
  struct Peer {
    enum class Stage { kHandshake, kJoining, kMember };
    Stage stage = Stage::kHandshake;
    std::string address;
    std::string subject;
    MemberId member = 0;
    Ed25519PublicKey identity;
    X25519PublicKey member_eph;
    std::array<uint8_t, 32> transcript{};
    SymmetricKey member_secret;
    Bytes response;
    uint64_t deadline_ns = 0;
    uint64_t last_resync_ns = 0;
    bool resynced = false;
  };
  struct MemberRec {
    PeerId peer = 0;  // 0 once the transport lost it
    std::string subject;
    bool disconnect_on_leave = false;
  };

  Impl(RootConfig c, std::unique_ptr<Rng> r, CharterFields f, SigningKey k, TrafficSender s, TrafficRelay rl)
      : config(std::move(c)),
        rng(std::move(r)),
        charter(std::move(f)),
        key(std::move(k)),
        tree(charter.session_id, TreePolicy{charter.degree, charter.hash_forward_joins, charter.member_cap}),
        planner(tree),
        sender(std::move(s)),
        relay(std::move(rl)) {}

  RootConfig config;
  std::unique_ptr<Rng> rng;
  CharterFields charter;
  std::array<uint8_t, 32> charter_digest{};
  SigningKey key;
  KeyTree tree;
  BatchPlanner planner;
  TrafficSender sender;
  TrafficRelay relay;
  SymmetricKey cookie_secret;

  std::unordered_set<std::string> acl;
  uint64_t acl_seq = 0;
  std::unordered_map<PeerId, Peer> peers;
  std::unordered_map<std::string, uint32_t> address_refs;  // peers per address (the ENet gate)
  void add_peer(PeerId id, Peer p) {
    ++address_refs[p.address];
    peers.emplace(id, std::move(p));
  }
  void erase_peer(std::unordered_map<PeerId, Peer>::iterator it) {
    auto a = address_refs.find(it->second.address);
    if (a != address_refs.end() && --a->second == 0) address_refs.erase(a);
    peers.erase(it);
  }
  std::unordered_map<MemberId, MemberRec> members;  // in the tree or pending join
  std::unordered_map<std::string, MemberId> by_subject;
  std::set<std::pair<uint64_t, PeerId>> handshake_deadlines;
  size_t handshakes_in_flight = 0;
  std::unordered_map<std::string, std::pair<uint64_t, uint32_t>> address_rate;  // second -> count
  std::vector<MemberId> free_ids;
  MemberId next_id = 1;
  std::optional<uint64_t> batch_started;

  std::deque<Transmit> out;
  std::deque<RootEvent> events;
  RootStats stats;

  uint64_t unix_now(uint64_t now_ns) const { return config.unix_time_at_zero + now_ns / 1'000'000'000; }

  void send(PeerId peer, Channel ch, bool reliable, Bytes bytes, bool then_disconnect = false) {
    Transmit t;
    t.to = Transmit::To::kPeer;
    t.peer = peer;
    t.channel = ch;
    t.reliable = reliable;
    t.bytes = std::move(bytes);
    t.then_disconnect = then_disconnect;
    out.push_back(std::move(t));
  }
  void send_all(Channel ch, bool reliable, Bytes bytes, PeerId except = 0,
                std::shared_ptr<const std::vector<PeerId>> skip = nullptr) {
    Transmit t;
    t.to = Transmit::To::kAllMembers;
    t.except = except;
    t.skip = std::move(skip);
    t.channel = ch;
    t.reliable = reliable;
    t.bytes = std::move(bytes);
    out.push_back(std::move(t));
  }
  void refuse(PeerId peer, RefusalReason r, std::string subject, bool then_disconnect = true) {
    ++stats.refusals[static_cast<size_t>(r)];
    send(peer, Channel::kControl, false, detail::encode_refusal(r), then_disconnect);
    RootEvent e{RootEvent::Kind::kRefused};
    e.subject = std::move(subject);
    e.reason = r;
    events.push_back(std::move(e));
  }
  std::optional<MemberId> allocate_id() {
    if (!free_ids.empty()) {
      MemberId id = free_ids.back();
      free_ids.pop_back();
      return id;
    }
    if (next_id > kMaxMemberCap) return std::nullopt;
    return next_id++;
  }
  void drop_handshake(PeerId peer) {
    auto it = peers.find(peer);
    if (it == peers.end() || it->second.stage != Peer::Stage::kHandshake) return;
    handshake_deadlines.erase({it->second.deadline_ns, peer});
    free_ids.push_back(it->second.member);
    --handshakes_in_flight;
    erase_peer(it);
  }
  void mark_batch(uint64_t now) {
    if (!batch_started) batch_started = now;
  }

  // --- admission ---------------------------------------------------------

  void on_hello(PeerId peer, std::string_view address, const wire::Hello& h, uint64_t now) {
    if (h.session_id() != charter.session_id) {
      refuse(peer, RefusalReason::kCharterMismatch, "");
      return;
    }
    auto cookie = detail::make_cookie(cookie_secret, address, now);
    ++stats.cookies_issued;
    send(peer, Channel::kControl, false, detail::encode_cookie(cookie));
  }

  void on_init(PeerId peer, std::string_view address, const wire::HandshakeInit& m, uint64_t now) {
    if (m.ephemeral() == nullptr || m.ephemeral()->size() != 32 || m.certificate() == nullptr ||
        m.cookie() == nullptr || m.charter_hash() == nullptr) {
      ++stats.malformed_control;
      return;
    }
    X25519PublicKey member_eph;
    std::memcpy(member_eph.bytes.data(), m.ephemeral()->data(), 32);
    auto existing = peers.find(peer);
    if (existing != peers.end()) {
      // A retransmitted Init (its Response was lost): answer the same again.
      if (existing->second.stage == Peer::Stage::kHandshake && existing->second.member_eph == member_eph) {
        send(peer, Channel::kControl, false, existing->second.response);
      } else {
        ++stats.malformed_control;
      }
      return;
    }
    // 1. The cookie, before any state or public-key work.
    if (!detail::check_cookie(cookie_secret, address, {m.cookie()->data(), m.cookie()->size()}, now,
                              config.cookie_lifetime_ns)) {
      refuse(peer, RefusalReason::kBadCookie, "");
      return;
    }
    // 2. Rate limits.
    auto& rate = address_rate[std::string(address)];
    const uint64_t second = now / 1'000'000'000;
    if (rate.first != second) rate = {second, 0};
    if (++rate.second > config.max_handshakes_per_address_per_s ||
        handshakes_in_flight >= config.max_handshakes_in_flight) {
      refuse(peer, RefusalReason::kRateLimited, "");
      return;
    }
    if (address_rate.size() > 65536) address_rate.clear();  // bounded
    // 3. Same charter.
    if (m.session_id() != charter.session_id || m.charter_hash()->size() != 32 ||
        std::memcmp(m.charter_hash()->data(), charter_digest.data(), 32) != 0) {
      refuse(peer, RefusalReason::kCharterMismatch, "");
      return;
    }
    // 4. The certificate: CA, role, validity.
    std::span<const uint8_t> cert_bytes(m.certificate()->data(), m.certificate()->size());
    ++stats.public_key_ops;
    auto cert = verify_certificate(cert_bytes, config.ca_public_key, unix_now(now), Role::kParticipant);
    if (!cert) {
      RefusalReason r = RefusalReason::kCertificateInvalid;
      if (cert.code() == Errc::kExpired || cert.code() == Errc::kNotYetValid) r = RefusalReason::kCertificateExpired;
      if (cert.code() == Errc::kUnknownIssuer) r = RefusalReason::kWrongCa;
      refuse(peer, r, "");
      return;
    }
    // 5. ACL, clearance, cap.
    if (!acl.count(cert->subject_id)) {
      refuse(peer, RefusalReason::kNotOnAcl, cert->subject_id);
      return;
    }
    if (cert->clearance < charter.classification) {
      refuse(peer, RefusalReason::kClearanceTooLow, cert->subject_id);
      return;
    }
    const bool reconnect = by_subject.count(cert->subject_id) != 0;
    if (!reconnect && tree.member_count() + planner.pending_joins() + handshakes_in_flight >= charter.member_cap) {
      refuse(peer, RefusalReason::kGroupFull, cert->subject_id);
      return;
    }
    auto id = allocate_id();
    if (!id) {
      refuse(peer, RefusalReason::kGroupFull, cert->subject_id);
      return;
    }
    // 6. The Root's half of the handshake.
    X25519KeyPair eph = X25519KeyPair::generate(*rng);
    ++stats.public_key_ops;
    auto shared = eph.agree(member_eph);
    if (!shared) {
      free_ids.push_back(*id);
      refuse(peer, RefusalReason::kHandshakeFailed, cert->subject_id);
      return;
    }
    Peer p;
    p.address = std::string(address);
    p.subject = cert->subject_id;
    p.member = *id;
    p.identity = cert->public_key;
    p.member_eph = member_eph;
    p.transcript = detail::transcript_hash(charter.session_id, charter_digest, *id, cert_bytes, member_eph,
                                           config.certificate, eph.public_key());
    p.member_secret = kdf_extract(shared->bytes(), kdf_ctx::kHandshake, p.transcript);
    ++stats.public_key_ops;
    Ed25519Signature sig = key.sign(detail::transcript_message(detail::kRootHsLabel, p.transcript));
    p.response = detail::encode_handshake_response(*id, config.certificate, eph.public_key(), sig);
    p.deadline_ns = now + config.handshake_timeout_ns;
    handshake_deadlines.insert({p.deadline_ns, peer});
    ++handshakes_in_flight;
    send(peer, Channel::kControl, false, p.response);
    add_peer(peer, std::move(p));
  }

  void on_finish(PeerId peer, const wire::HandshakeFinish& m, uint64_t now) {
    auto it = peers.find(peer);
    if (it == peers.end() || it->second.stage != Peer::Stage::kHandshake || m.signature() == nullptr ||
        m.signature()->size() != 64) {
      ++stats.malformed_control;
      return;
    }
    Peer& p = it->second;
    Ed25519Signature sig;
    std::memcpy(sig.bytes.data(), m.signature()->data(), 64);
    ++stats.public_key_ops;
    if (!verify_signature(p.identity, detail::transcript_message(detail::kMemberHsLabel, p.transcript), sig)) {
      std::string subject = p.subject;
      drop_handshake(peer);
      refuse(peer, RefusalReason::kHandshakeFailed, subject);
      return;
    }
    if (!acl.count(p.subject)) {  // removed while its handshake was in flight
      std::string subject = p.subject;
      drop_handshake(peer);
      refuse(peer, RefusalReason::kNotOnAcl, subject);
      return;
    }
    handshake_deadlines.erase({p.deadline_ns, peer});
    --handshakes_in_flight;
    // A reconnect: the subject's previous connection leaves in this batch.
    auto old = by_subject.find(p.subject);
    if (old != by_subject.end()) request_leave(old->second, true, now);
    p.stage = Peer::Stage::kJoining;
    members[p.member] = MemberRec{peer, p.subject, false};
    by_subject[p.subject] = p.member;
    Status s = planner.join({p.member, std::move(p.member_secret)});
    NETKEY_CHECK(s.is_ok());
    mark_batch(now);
    if (planner.size() >= charter.max_batch) commit(now);
  }

  // --- leaving -----------------------------------------------------------

  void request_leave(MemberId id, bool disconnect, uint64_t now) {
    auto it = members.find(id);
    if (it == members.end()) return;
    it->second.disconnect_on_leave = it->second.disconnect_on_leave || disconnect;
    if (planner.is_pending_join(id)) {
      // It never reached the tree: cancel the join and finish now.
      (void)planner.leave(id);
      finish_leave(id);
      return;
    }
    if (!tree.contains(id)) return;
    if (planner.leave(id).is_ok()) mark_batch(now);
  }

  void finish_leave(MemberId id) {
    auto it = members.find(id);
    if (it == members.end()) return;
    MemberRec rec = std::move(it->second);
    members.erase(it);
    auto s = by_subject.find(rec.subject);
    if (s != by_subject.end() && s->second == id) by_subject.erase(s);
    free_ids.push_back(id);
    auto p = peers.find(rec.peer);
    if (rec.peer != 0 && p != peers.end() && p->second.member == id) {
      if (rec.disconnect_on_leave) send(rec.peer, Channel::kControl, true, std::make_shared<const std::vector<uint8_t>>(), true);
      erase_peer(p);
    }
    RootEvent e{RootEvent::Kind::kLeft};
    e.member = id;
    e.subject = rec.subject;
    e.epoch = tree.epoch();
    events.push_back(std::move(e));
  }

  void on_leave(PeerId peer, const wire::LeaveRequest& m, uint64_t now) {
    auto it = peers.find(peer);
    if (it == peers.end() || it->second.stage == Peer::Stage::kHandshake || m.signature() == nullptr ||
        m.signature()->size() != 64 || m.member_id() != it->second.member) {
      ++stats.malformed_control;
      return;
    }
    Ed25519Signature sig;
    std::memcpy(sig.bytes.data(), m.signature()->data(), 64);
    ++stats.public_key_ops;
    if (!verify_signature(it->second.identity, detail::leave_message(charter.session_id, m.member_id(), m.nonce()), sig)) {
      ++stats.malformed_control;
      return;
    }
    request_leave(it->second.member, true, now);
  }

  void on_resync(PeerId peer, uint64_t now) {
    auto it = peers.find(peer);
    if (it == peers.end() || it->second.stage != Peer::Stage::kMember) {
      ++stats.malformed_control;
      return;
    }
    Peer& p = it->second;
    if (p.resynced && now - p.last_resync_ns < config.resync_min_interval_ns) {
      ++stats.resyncs_rate_limited;
      return;
    }
    auto r = encode_resync(tree, p.member);
    if (!r) return;
    p.resynced = true;
    p.last_resync_ns = now;
    ++stats.resyncs_sent;
    stats.rekey_bytes_sent += r->size();
    send(peer, Channel::kRekey, true, std::make_shared<const std::vector<uint8_t>>(std::move(r).value()));
  }

  // --- the List Controller ------------------------------------------------

  void on_acl(const wire::AclUpdate& m, uint64_t now) {
    auto reject = [&] { ++stats.acl_updates_rejected; };
    if (m.body() == nullptr || m.signature() == nullptr || m.signature()->size() != 64 || m.certificate() == nullptr) {
      return reject();
    }
    ++stats.public_key_ops;
    auto cert = verify_certificate({m.certificate()->data(), m.certificate()->size()}, config.ca_public_key,
                                   unix_now(now), Role::kListController);
    if (!cert) return reject();
    if (!(key_id_of(cert->public_key) == charter.list_controller_key_id)) return reject();
    Ed25519Signature sig;
    std::memcpy(sig.bytes.data(), m.signature()->data(), 64);
    ++stats.public_key_ops;
    if (!verify_signature(cert->public_key, detail::acl_message({m.body()->data(), m.body()->size()}), sig)) {
      return reject();
    }
    std::vector<uint8_t> body(m.body()->begin(), m.body()->end());
    auto b = wire::verify_flatbuffer<wire::AclUpdateBody>(body, nullptr, {detail::kMaxControlBytes, 4, 8}, "acl");
    if (!b) return reject();
    const wire::AclUpdateBody& u = **b;
    if (u.session_id() != charter.session_id || u.seq() != acl_seq + 1) return reject();  // replay, reorder
    acl_seq = u.seq();
    ++stats.acl_updates_applied;
    if (u.adds()) {
      for (const auto* s : *u.adds()) acl.insert(s->str());
    }
    bool security_removal = false;
    if (u.removes()) {
      for (const auto* s : *u.removes()) {
        std::string subject = s->str();
        acl.erase(subject);
        auto m2 = by_subject.find(subject);
        if (m2 == by_subject.end()) continue;
        MemberId id = m2->second;
        auto rec = members.find(id);
        if (rec != members.end() && rec->second.peer != 0) {
          ++stats.refusals[static_cast<size_t>(RefusalReason::kRemoved)];
          send(rec->second.peer, Channel::kControl, true, detail::encode_refusal(RefusalReason::kRemoved));
        }
        request_leave(id, true, now);
        security_removal = true;
      }
    }
    if (security_removal) commit(now);  // a security removal flushes the batch at once
  }

  // --- commit ------------------------------------------------------------

  void commit(uint64_t now) {
    batch_started.reset();
    if (planner.empty()) return;
    auto plan = tree.commit(planner.take(), *rng);
    NETKEY_CHECK(plan.is_ok());  // the planner validated every request
    ++stats.commits;
    for (MemberId id : plan->left) finish_leave(id);
    std::unordered_set<MemberId> joined(plan->joined.begin(), plan->joined.end());
    // The Whole's size is known before encoding: entries, moves, and ~200 bytes of
    // header and signature.
    const size_t whole_estimate = plan->entries.size() * 56 + plan->moves.size() * 8 + 200;
    const bool slices = config.rekey_encoding == RootConfig::RekeyEncoding::kSlices ||
                        (config.rekey_encoding == RootConfig::RekeyEncoding::kAuto &&
                         whole_estimate > config.auto_whole_max_bytes);
    if (slices) {
      SliceEncoder slicer(*plan);
      for (auto& [id, rec] : members) {
        if (joined.count(id) || rec.peer == 0 || !tree.contains(id)) continue;
        auto sl = slicer.encode(tree, id);
        if (!sl) continue;
        stats.rekey_bytes_sent += sl->size();
        send(rec.peer, Channel::kRekey, true, std::make_shared<const std::vector<uint8_t>>(std::move(sl).value()));
      }
    } else if (tree.has_net_key() && tree.member_count() > joined.size()) {  // someone to send it to
      auto whole = std::make_shared<const std::vector<uint8_t>>(encode_whole(*plan, key));
      stats.rekey_bytes_sent += whole->size() * (tree.member_count() - joined.size());
      // Not to this batch's joiners: their Welcome follows, and a Whole before it is
      // bytes they cannot use.
      auto skip = std::make_shared<std::vector<PeerId>>();
      for (MemberId id : plan->joined) {
        if (members.at(id).peer != 0) skip->push_back(members.at(id).peer);
      }
      std::sort(skip->begin(), skip->end());
      send_all(Channel::kRekey, true, whole, 0, std::move(skip));
    }
    for (MemberId id : plan->joined) {
      auto& rec = members.at(id);
      auto w = encode_welcome(tree, id);
      NETKEY_CHECK(w.is_ok());
      stats.rekey_bytes_sent += w->size();
      auto p = peers.find(rec.peer);
      if (rec.peer != 0 && p != peers.end()) {
        p->second.stage = Peer::Stage::kMember;
        send(rec.peer, Channel::kRekey, true, std::make_shared<const std::vector<uint8_t>>(std::move(w).value()));
      }
      RootEvent e{RootEvent::Kind::kJoined};
      e.member = id;
      e.subject = rec.subject;
      e.epoch = plan->epoch;
      events.push_back(std::move(e));
    }
    if (tree.has_net_key()) {
      sender.set_epoch(tree.epoch(), tree.net_key());
      relay.set_epoch(tree.epoch(), tree.net_key(), now);
    }
    RootEvent e{RootEvent::Kind::kRekeyed};
    e.epoch = plan->epoch;
    e.joined = plan->joined.size();
    e.left = plan->left.size();
    e.wrapped_keys = plan->wrapped_keys();
    events.push_back(std::move(e));
  }
};

// ---------------------------------------------------------------- public API

Root::Root(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Root::Root(Root&&) noexcept = default;
Root& Root::operator=(Root&&) noexcept = default;
Root::~Root() = default;

Result<Root> Root::create(RootConfig config, std::unique_ptr<Rng> rng, uint64_t now_ns) {
  NETKEY_CHECK(rng != nullptr);
  const uint64_t unix_now = config.unix_time_at_zero + now_ns / 1'000'000'000;
  auto charter = verify_charter(config.charter, config.ca_public_key, unix_now);
  if (!charter) return Status(charter.code(), "the Root refuses to run: charter invalid: " + charter.status().message());
  auto cert = verify_certificate(config.certificate, config.ca_public_key, unix_now, Role::kRoot);
  if (!cert) return Status(cert.code(), "the Root's own certificate: " + cert.status().message());
  SigningKey key = SigningKey::from_seed(config.signing_seed);
  if (!(cert->public_key == key.public_key())) {
    return Status(Errc::kInvalidArgument, "the Root's signing key does not match its certificate");
  }
  if (!(key.key_id() == charter->root_key_id)) {
    return Status(Errc::kWrongRole, "this Root is not the one the charter elected (root key id differs)");
  }
  TrafficConfig tc = config.traffic;
  tc.group_id = charter->session_id;
  tc.suite = charter->suite;
  tc.signed_broadcasts = charter->signed_broadcasts;
  tc.root_public_key = key.public_key();
  auto sender = TrafficSender::create(tc, kRootSender);
  if (!sender) return Status(sender.code(), "charter's AEAD suite: " + sender.status().message());
  auto relay = TrafficRelay::create(tc);
  if (!relay) return relay.status();
  config.traffic = tc;
  auto digest = charter_hash(config.charter);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(rng), std::move(charter).value(), std::move(key),
                                     std::move(sender).value(), std::move(relay).value());
  impl->charter_digest = digest;
  impl->cookie_secret = impl->rng->symmetric_key();
  impl->acl.insert(impl->charter.participants.begin(), impl->charter.participants.end());
  return Root(std::move(impl));
}

void Root::handle_control(PeerId peer, std::string_view address, std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  auto parsed = detail::parse_control(bytes);
  if (!parsed) {
    ++s.stats.malformed_control;
    return;
  }
  const wire::Control& m = *parsed->msg;
  switch (m.body_type()) {
    case wire::ControlBody::Hello: s.on_hello(peer, address, *m.body_as_Hello(), now_ns); break;
    case wire::ControlBody::HandshakeInit: s.on_init(peer, address, *m.body_as_HandshakeInit(), now_ns); break;
    case wire::ControlBody::HandshakeFinish: s.on_finish(peer, *m.body_as_HandshakeFinish(), now_ns); break;
    case wire::ControlBody::LeaveRequest: s.on_leave(peer, *m.body_as_LeaveRequest(), now_ns); break;
    case wire::ControlBody::ResyncRequest: s.on_resync(peer, now_ns); break;
    case wire::ControlBody::AclUpdate: s.on_acl(*m.body_as_AclUpdate(), now_ns); break;
    default: ++s.stats.malformed_control; break;
  }
}

void Root::handle_traffic(PeerId peer, std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  auto it = s.peers.find(peer);
  if (it == s.peers.end() || it->second.stage != Impl::Peer::Stage::kMember) {
    ++s.stats.malformed_control;
    return;
  }
  RootEvent e{RootEvent::Kind::kMessage};
  if (s.relay.check(bytes, static_cast<SenderId>(it->second.member), now_ns, &e.payload)) return;
  if (s.config.relay_member_traffic) {
    s.send_all(Channel::kMember, false, std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end()), peer);
  }
  e.member = it->second.member;
  s.events.push_back(std::move(e));
}

void Root::peer_disconnected(PeerId peer, uint64_t now_ns) {
  Impl& s = *impl_;
  auto it = s.peers.find(peer);
  if (it == s.peers.end()) return;
  if (it->second.stage == Impl::Peer::Stage::kHandshake) {
    s.drop_handshake(peer);
    return;
  }
  MemberId id = it->second.member;
  auto rec = s.members.find(id);
  if (rec != s.members.end() && rec->second.peer == peer) rec->second.peer = 0;
  s.erase_peer(it);
  s.request_leave(id, false, now_ns);
}

void Root::handle_timeout(uint64_t now_ns) {
  Impl& s = *impl_;
  while (!s.handshake_deadlines.empty() && s.handshake_deadlines.begin()->first <= now_ns) {
    const size_t before = s.handshake_deadlines.size();
    s.drop_handshake(s.handshake_deadlines.begin()->second);  // erases its deadline
    if (s.handshake_deadlines.size() == before) s.handshake_deadlines.erase(s.handshake_deadlines.begin());
  }
  if (s.batch_started && now_ns >= *s.batch_started + uint64_t{s.charter.batch_window_ms} * 1'000'000) {
    s.commit(now_ns);
  }
}

Status Root::broadcast(std::span<const uint8_t> payload, uint64_t now_ns) {
  (void)now_ns;
  Impl& s = *impl_;
  if (!s.sender.ready() || !s.tree.has_net_key()) return Status(Errc::kInvalidArgument, "no members yet");
  std::vector<uint8_t> out(payload.size() + kTrafficOverhead + kTrafficSignatureSize);
  auto n = s.charter.signed_broadcasts ? s.sender.seal_signed(payload, out, s.key) : s.sender.seal(payload, out);
  if (!n) return n.status();
  out.resize(*n);
  s.send_all(Channel::kState, false, std::make_shared<const std::vector<uint8_t>>(std::move(out)));
  return Status::ok();
}

void Root::flush(uint64_t now_ns) { impl_->commit(now_ns); }

std::optional<Transmit> Root::poll_transmit() {
  if (impl_->out.empty()) return std::nullopt;
  Transmit t = std::move(impl_->out.front());
  impl_->out.pop_front();
  return t;
}

std::optional<RootEvent> Root::poll_event() {
  if (impl_->events.empty()) return std::nullopt;
  RootEvent e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

std::optional<uint64_t> Root::poll_timeout() const {
  const Impl& s = *impl_;
  std::optional<uint64_t> t;
  if (s.batch_started) t = *s.batch_started + uint64_t{s.charter.batch_window_ms} * 1'000'000;
  if (!s.handshake_deadlines.empty()) {
    uint64_t h = s.handshake_deadlines.begin()->first;
    t = t ? std::min(*t, h) : h;
  }
  return t;
}

std::vector<PeerId> Root::member_peers() const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : impl_->peers) {
    if (p.stage == Impl::Peer::Stage::kMember) out.push_back(id);
  }
  return out;
}

bool Root::accepts_connection_from(std::string_view address) const {
  return impl_->address_refs.count(std::string(address)) != 0;
}

const CharterFields& Root::charter() const { return impl_->charter; }
uint64_t Root::epoch() const { return impl_->tree.epoch(); }
size_t Root::member_count() const { return impl_->tree.member_count(); }
size_t Root::pending() const { return impl_->planner.size(); }
bool Root::has_net_key() const { return impl_->tree.has_net_key(); }
const SymmetricKey& Root::net_key() const { return impl_->tree.net_key(); }
const RootStats& Root::stats() const { return impl_->stats; }
const DropCounters& Root::traffic_drops() const { return impl_->relay.drops(); }
std::optional<MemberId> Root::member_of(std::string_view subject) const {
  auto it = impl_->by_subject.find(std::string(subject));
  if (it == impl_->by_subject.end()) return std::nullopt;
  return it->second;
}

}  // namespace netkey
