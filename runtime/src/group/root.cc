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
#include "src/group/admission.h"
#include "src/group/control_auth.h"
#include "src/group/messages.h"
#include "src/util/clock.h"
#include "src/util/queue.h"
#include "src/util/testing_access.h"
#include "src/wire/verify.h"

namespace netkey {

using detail::Bytes;

uint64_t RootStats::refusals_total() const {
  uint64_t t = 0;
  for (uint64_t v : refusals) t += v;
  return t;
}

struct Root::Impl final : detail::AdmissionHost {
  // A connection that finished its handshake: joining (until its Welcome) or a member.
  struct Peer {
    enum class Stage { kJoining, kMember };
    Stage stage = Stage::kJoining;
    MemberId member = 0;
    detail::ControlChannel control;
    uint64_t last_resync_ns = 0;
    bool resynced = false;
  };
  struct MemberRec {
    PeerId peer = 0;  // 0 once the transport lost it
    std::string subject;
    bool disconnect_on_leave = false;
  };

  Impl(RootConfig c, std::unique_ptr<Rng> r, CharterFields f, SigningKey k, TrafficSender s, TrafficRelay rl,
       const std::array<uint8_t, 32>& digest, const detail::BootNonce& boot)
      : config(std::move(c)),
        rng(std::move(r)),
        charter(std::move(f)),
        charter_digest(digest),
        group_id(detail::group_id_of(charter.session_id, boot)),
        key(std::move(k)),
        tree(group_id, TreePolicy{charter.degree, charter.hash_forward_joins, charter.member_cap}),
        planner(tree),
        sender(std::move(s)),
        relay(std::move(rl)),
        admission(*this, config, charter, charter_digest, key, *rng, boot, stats) {}

  RootConfig config;
  std::unique_ptr<Rng> rng;
  CharterFields charter;
  std::array<uint8_t, 32> charter_digest{};
  uint64_t group_id;
  SigningKey key;
  KeyTree tree;
  BatchPlanner planner;
  TrafficSender sender;
  TrafficRelay relay;
  RootStats stats;
  detail::Admission admission;

  std::unordered_set<std::string> acl;
  uint64_t acl_seq = 0;
  std::unordered_map<PeerId, Peer> peers;
  // Addresses with a live connection (bound or member): raw datagrams from them are
  // dropped, so a spoofed pre-connection message never reaches a member's state.
  std::unordered_map<PeerId, std::string> connected_address;
  std::unordered_set<std::string> connected;
  std::unordered_map<MemberId, MemberRec> members;  // in the tree or pending join
  std::unordered_map<std::string, MemberId> by_subject;
  std::vector<MemberId> free_ids;
  MemberId next_id = 1;
  std::optional<uint64_t> batch_started;

  std::deque<Transmit> out;
  std::deque<RootEvent> events;

  uint64_t unix_now(uint64_t now_ns) const { return detail::unix_seconds(config.unix_time_at_zero, now_ns); }

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
  // A Refusal sealed under the member's control key, then the connection closes.
  void refuse_member(PeerId peer, RefusalReason r, const std::string& subject) {
    count_refusal(r, subject);
    auto p = peers.find(peer);
    if (p == peers.end()) return;
    send(peer, Channel::kControl, true, p->second.control.seal(*detail::encode_refusal(r)), true);
  }
  void mark_batch(uint64_t now) {
    if (!batch_started) batch_started = now;
  }

  void forget_connection(PeerId peer) {
    auto a = connected_address.find(peer);
    if (a == connected_address.end()) return;
    connected.erase(a->second);
    connected_address.erase(a);
  }

  // --- AdmissionHost -----------------------------------------------------

  bool acl_allows(const std::string& subject) const override { return acl.count(subject) != 0; }
  bool has_room(const std::string& subject) const override {
    return by_subject.count(subject) != 0 || tree.member_count() + planner.pending_joins() < charter.member_cap;
  }
  std::optional<MemberId> allocate_id() override {
    if (!free_ids.empty()) {
      MemberId id = free_ids.back();
      free_ids.pop_back();
      return id;
    }
    if (next_id > kMaxMemberCap) return std::nullopt;
    return next_id++;
  }
  void release_id(MemberId id) override { free_ids.push_back(id); }
  void count_refusal(RefusalReason r, const std::string& subject) override {
    ++stats.refusals[static_cast<size_t>(r)];
    RootEvent e{RootEvent::Kind::kRefused};
    e.subject = subject;
    e.reason = r;
    events.push_back(std::move(e));
  }
  void send_to_address(std::string_view address, Bytes bytes) override {
    Transmit t;
    t.to = Transmit::To::kAddress;
    t.address = std::string(address);
    t.channel = Channel::kControl;
    t.reliable = false;
    t.bytes = std::move(bytes);
    out.push_back(std::move(t));
  }
  void close_peer(PeerId peer) override {
    send(peer, Channel::kControl, true, std::make_shared<const std::vector<uint8_t>>(), true);
  }

  // --- joining -------------------------------------------------------------

  void on_finish(PeerId peer, const wire::HandshakeFinish& m, uint64_t now) {
    auto h = admission.on_finish(peer, m);
    if (!h) return;
    peers.emplace(peer, Peer{Peer::Stage::kJoining, h->member,
                             detail::ControlChannel(group_id, h->member, h->member_secret,
                                                    detail::ControlChannel::kToMember)});
    // Checked again now: the ACL or the room may have changed during the handshake.
    RefusalReason late = RefusalReason::kNone;
    if (!acl.count(h->subject)) late = RefusalReason::kNotOnAcl;
    else if (!has_room(h->subject)) late = RefusalReason::kGroupFull;
    if (late != RefusalReason::kNone) {
      refuse_member(peer, late, h->subject);
      peers.erase(peer);
      release_id(h->member);
      return;
    }
    // A reconnect: the subject's previous connection leaves in this batch.
    auto old = by_subject.find(h->subject);
    if (old != by_subject.end()) request_leave(old->second, true, now);
    members[h->member] = MemberRec{peer, h->subject, false};
    by_subject[h->subject] = h->member;
    Status s = planner.join({h->member, std::move(h->member_secret)});
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
      if (rec.disconnect_on_leave) close_peer(rec.peer);
      peers.erase(p);
    }
    RootEvent e{RootEvent::Kind::kLeft};
    e.member = id;
    e.subject = rec.subject;
    e.epoch = tree.epoch();
    events.push_back(std::move(e));
  }

  // An Authenticated message on a member's connection: LeaveRequest or ResyncRequest.
  void on_authenticated(PeerId peer, const wire::Authenticated& m, uint64_t now) {
    auto it = peers.find(peer);
    if (it == peers.end()) {
      ++stats.malformed_control;
      return;
    }
    auto inner = it->second.control.open(m);
    if (!inner) {
      ++stats.control_rejected;
      return;
    }
    const wire::Control& c = *inner->msg;
    switch (c.body_type()) {
      case wire::ControlBody::LeaveRequest:
        if (c.body_as_LeaveRequest()->member_id() != it->second.member) {
          ++stats.malformed_control;
          return;
        }
        request_leave(it->second.member, true, now);
        break;
      case wire::ControlBody::ResyncRequest: on_resync(it->second, peer, now); break;
      default: ++stats.malformed_control; break;
    }
  }

  void on_resync(Peer& p, PeerId peer, uint64_t now) {
    if (p.stage != Peer::Stage::kMember) {
      ++stats.malformed_control;
      return;
    }
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

  Status on_acl(std::span<const uint8_t> bytes, uint64_t now) {
    auto fail = [&](Errc code, const char* why) {
      ++stats.acl_updates_rejected;
      return Status(code, std::string("ACL update refused: ") + why);
    };
    auto parsed = detail::parse_control(bytes);
    if (!parsed || parsed->msg->body_type() != wire::ControlBody::AclUpdate) return fail(Errc::kMalformed, "not an AclUpdate");
    const wire::AclUpdate& m = *parsed->msg->body_as_AclUpdate();
    if (m.body() == nullptr || m.signature() == nullptr || m.signature()->size() != 64 || m.certificate() == nullptr) {
      return fail(Errc::kMalformed, "missing body, signature or certificate");
    }
    ++stats.public_key_ops;
    auto cert = verify_certificate({m.certificate()->data(), m.certificate()->size()}, config.ca_public_key,
                                   unix_now(now), Role::kListController);
    if (!cert) return fail(cert.code(), "the List Controller's certificate does not verify");
    if (!(key_id_of(cert->public_key) == charter.list_controller_key_id)) {
      return fail(Errc::kWrongRole, "not the List Controller the charter names");
    }
    Ed25519Signature sig;
    std::memcpy(sig.bytes.data(), m.signature()->data(), 64);
    ++stats.public_key_ops;
    if (!verify_signature(cert->public_key, detail::acl_message({m.body()->data(), m.body()->size()}), sig)) {
      return fail(Errc::kBadSignature, "bad signature");
    }
    std::vector<uint8_t> body(m.body()->begin(), m.body()->end());
    auto b = wire::verify_flatbuffer<wire::AclUpdateBody>(body, nullptr, {detail::kMaxControlBytes, 4, 8}, "acl");
    if (!b) return fail(Errc::kMalformed, "body does not verify");
    const wire::AclUpdateBody& u = **b;
    // The group id names this run of the Root: an update from an earlier run is refused.
    if (u.session_id() != charter.session_id || u.group_id() != group_id) {
      return fail(Errc::kWrongGroup, "for another session or another run of this Root");
    }
    if (u.seq() != acl_seq + 1) return fail(Errc::kStaleEpoch, "sequence is not the next one (replay or reorder)");
    acl_seq = u.seq();
    ++stats.acl_updates_applied;
    if (u.adds()) {
      for (const auto* s : *u.adds()) acl.insert(s->str());
    }
    if (u.removes()) remove_subjects(*u.removes(), now);
    return Status::ok();
  }

  void remove_subjects(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>& removes, uint64_t now) {
    bool security_removal = false;
    {
      for (const auto* s : removes) {
        std::string subject = s->str();
        acl.erase(subject);
        auto m2 = by_subject.find(subject);
        if (m2 == by_subject.end()) continue;
        MemberId id = m2->second;
        auto rec = members.find(id);
        if (rec != members.end() && rec->second.peer != 0 && peers.count(rec->second.peer)) {
          ++stats.refusals[static_cast<size_t>(RefusalReason::kRemoved)];
          send(rec->second.peer, Channel::kControl, true,
               peers.at(rec->second.peer).control.seal(*detail::encode_refusal(RefusalReason::kRemoved)));
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
  const uint64_t unix_now = detail::unix_seconds(config.unix_time_at_zero, now_ns);
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
  // This run's boot nonce: a fresh group id, so nothing signed or sealed in an earlier
  // run of this charter (ACL updates, Wholes, traffic) is accepted in this one.
  if (Status st = detail::check_charter_traffic(config.traffic, *charter, "RootConfig"); !st) return st;
  detail::BootNonce boot{};
  rng->fill(boot);
  TrafficConfig tc = config.traffic;
  tc.group_id = detail::group_id_of(charter->session_id, boot);
  tc.suite = charter->suite;
  tc.signed_broadcasts = charter->signed_broadcasts;
  tc.root_public_key = key.public_key();
  auto sender = TrafficSender::create(tc, kRootSender);
  if (!sender) return Status(sender.code(), "charter's AEAD suite: " + sender.status().message());
  auto relay = TrafficRelay::create(tc);
  if (!relay) return relay.status();
  config.traffic = tc;
  const auto digest = charter_hash(config.charter);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(rng), std::move(charter).value(), std::move(key),
                                     std::move(sender).value(), std::move(relay).value(), digest, boot);
  impl->acl.insert(impl->charter.participants.begin(), impl->charter.participants.end());
  return Root(std::move(impl));
}

void Root::handle_datagram(std::string_view address, std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  if (s.connected.count(std::string(address))) {
    ++s.stats.raw_unexpected;
    return;
  }
  s.admission.on_datagram(address, bytes, now_ns);
}

bool Root::peer_connected(PeerId peer, std::string_view address, uint64_t now_ns) {
  (void)now_ns;
  Impl& s = *impl_;
  if (s.peers.count(peer) || s.connected_address.count(peer)) {
    ++s.stats.connections_refused;
    return false;
  }
  if (!s.admission.peer_connected(peer, address)) return false;
  s.connected_address[peer] = std::string(address);
  s.connected.insert(std::string(address));
  return true;
}

void Root::handle_control(PeerId peer, std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  auto parsed = detail::parse_control(bytes);
  if (!parsed) {
    ++s.stats.malformed_control;
    return;
  }
  const wire::Control& m = *parsed->msg;
  switch (m.body_type()) {
    case wire::ControlBody::HandshakeFinish: s.on_finish(peer, *m.body_as_HandshakeFinish(), now_ns); break;
    case wire::ControlBody::Authenticated: s.on_authenticated(peer, *m.body_as_Authenticated(), now_ns); break;
    default: ++s.stats.malformed_control; break;  // AclUpdate included: never from a connection
  }
}

Status Root::submit_acl_update(std::span<const uint8_t> bytes, uint64_t now_ns) {
  return impl_->on_acl(bytes, now_ns);
}

void Root::handle_traffic(PeerId peer, std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  auto it = s.peers.find(peer);
  if (it == s.peers.end() || it->second.stage != Impl::Peer::Stage::kMember) {
    ++s.stats.malformed_control;
    return;
  }
  RootEvent e{RootEvent::Kind::kMessage};
  // A drop is counted by the relay (traffic_drops()); nothing more to do with it here.
  if (!s.relay.check(bytes, static_cast<SenderId>(it->second.member), now_ns, &e.payload)) return;
  if (s.config.relay_member_traffic) {
    s.send_all(Channel::kMember, false, std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end()), peer);
  }
  e.member = it->second.member;
  s.events.push_back(std::move(e));
}

void Root::peer_disconnected(PeerId peer, uint64_t now_ns) {
  Impl& s = *impl_;
  s.forget_connection(peer);
  if (s.admission.owns(peer)) {
    s.admission.peer_disconnected(peer);
    return;
  }
  auto it = s.peers.find(peer);
  if (it == s.peers.end()) return;
  MemberId id = it->second.member;
  auto rec = s.members.find(id);
  if (rec != s.members.end() && rec->second.peer == peer) rec->second.peer = 0;
  s.peers.erase(it);
  s.request_leave(id, false, now_ns);
}

void Root::handle_timeout(uint64_t now_ns) {
  Impl& s = *impl_;
  s.admission.handle_timeout(now_ns);
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

std::optional<Transmit> Root::poll_transmit() { return detail::pop_front(impl_->out); }

std::optional<RootEvent> Root::poll_event() { return detail::pop_front(impl_->events); }

std::optional<uint64_t> Root::poll_timeout() const {
  const Impl& s = *impl_;
  std::optional<uint64_t> t;
  if (s.batch_started) t = *s.batch_started + uint64_t{s.charter.batch_window_ms} * 1'000'000;
  if (auto h = s.admission.next_deadline()) t = t ? std::min(*t, *h) : *h;
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
  return impl_->admission.accepts_connection_from(address);
}
uint64_t Root::group_id() const { return impl_->group_id; }
std::optional<uint32_t> Root::connect_tag(std::string_view address) const {
  return impl_->admission.connect_tag(address);
}

const CharterFields& Root::charter() const { return impl_->charter; }
uint64_t Root::epoch() const { return impl_->tree.epoch(); }
size_t Root::member_count() const { return impl_->tree.member_count(); }
size_t Root::pending() const { return impl_->planner.size(); }
bool Root::has_net_key() const { return impl_->tree.has_net_key(); }
const RootStats& Root::stats() const { return impl_->stats; }
const DropCounters& Root::traffic_drops() const { return impl_->relay.drops(); }
std::optional<MemberId> Root::member_of(std::string_view subject) const {
  auto it = impl_->by_subject.find(std::string(subject));
  if (it == impl_->by_subject.end()) return std::nullopt;
  return it->second;
}

const SymmetricKey& TestingAccess::root_net_key(const Root& root) { return root.impl_->tree.net_key(); }
const SymmetricKey& testing::root_net_key(const Root& root) { return TestingAccess::root_net_key(root); }

}  // namespace netkey
