// The Root state machine. See netkey/root.h for the contract and
// docs/STATE-MACHINE.md "Root" for the transitions.
#include "netkey/root.h"

#include <deque>
#include <unordered_map>

#include "netkey/certificate.h"
#include "netkey/private_channel.h"
#include "src/group/admission.h"
#include "src/group/control_auth.h"
#include "src/group/membership.h"
#include "src/group/messages.h"
#include "src/group/rekey_dispatch.h"
#include "src/group/root_output.h"
#include "src/util/clock.h"
#include "src/util/testing_access.h"

namespace netkey {

using detail::Bytes;

uint64_t RootStats::refusals_total() const {
  uint64_t t = 0;
  for (uint64_t v : refusals) t += v;
  return t;
}

// The coordinator: Admission (before a connection), Membership (who is in, which peer
// is whose) and RekeyDispatch (the tree, the batch, what members receive) do the work;
// the Impl routes messages to them and sequences the steps that touch more than one
// (a finished handshake, a leave, a removal, a commit).
struct Root::Impl final : detail::AdmissionHost {
  using MemberPeer = detail::MemberPeer;

  Impl(RootConfig c, std::unique_ptr<Rng> r, CharterFields f, SigningKey k, TrafficSender s, TrafficRelay rl,
       TeamSender ts, const std::array<uint8_t, 32>& digest, const detail::BootNonce& boot)
      : config(std::move(c)),
        rng(std::move(r)),
        charter(std::move(f)),
        charter_digest(digest),
        group_id(detail::group_id_of(charter.session_id, boot)),
        key(std::move(k)),
        sender(std::move(s)),
        relay(std::move(rl)),
        team_sender(std::move(ts)),
        membership(config, charter, group_id, stats, out),
        dispatch(config, charter, group_id, key, *rng, stats, membership, out),
        admission(*this, config, charter, charter_digest, key, *rng, boot, stats) {}

  RootConfig config;
  std::unique_ptr<Rng> rng;
  CharterFields charter;
  std::array<uint8_t, 32> charter_digest{};
  uint64_t group_id;
  SigningKey key;
  TrafficSender sender;
  TrafficRelay relay;
  TeamSender team_sender;  // type 4: one seal per team broadcast, keys set per commit
  // A member's private channel (types 5, 6): created at admission (its member secret is
  // known), brought to every epoch since its join when it is next used (sync_private:
  // a commit costs nothing per member), destroyed with its membership (finish_leave),
  // so nothing is sealed for or opened from it afterwards.
  struct Private {
    PrivateChannel channel;
    SymmetricKey base;       // private_base_key(member secret)
    uint64_t first_epoch = 0;  // the epoch of its Welcome (0 while the join is pending)
  };
  std::unordered_map<MemberId, Private> privates;
  // The start (commit time) of the last epochs, oldest first: a channel catching up
  // enters each with the time it really started, so every retained epoch's grace runs
  // from its true end, as if the channel had been set at each commit.
  std::deque<std::pair<uint64_t, uint64_t>> epoch_starts;
  DropCounters private_drops;
  // Teams the game assigned by subject (assign_team): joins go there, and a joiner whose
  // assignment changed while its join was pending switches in the next batch.
  std::unordered_map<std::string, uint8_t> assigned;
  std::unordered_map<MemberId, uint8_t> pending_team;  // pending joins' teams
  RootStats stats;
  detail::RootOutput out;
  detail::Membership membership;
  detail::RekeyDispatch dispatch;
  detail::Admission admission;  // last: its constructor draws the cookie secret

  const KeyTree& tree() const { return dispatch.tree(); }

  // A Refusal sealed under the member's control key, then the connection closes.
  void refuse_member(PeerId peer, RefusalReason r, const std::string& subject) {
    count_refusal(r, subject);
    MemberPeer* p = membership.peer(peer);
    if (p == nullptr) return;
    out.to_peer(peer, Channel::kControl, true, p->control.seal(*detail::encode_refusal(r)), true);
  }

  // --- AdmissionHost -----------------------------------------------------

  bool acl_allows(const std::string& subject) const override { return membership.acl_allows(subject); }
  bool has_room(const std::string& subject) const override {
    return membership.has_subject(subject) ||
           tree().member_count() + dispatch.planner().pending_joins() < charter.member_cap;
  }
  std::optional<MemberId> allocate_id() override { return membership.allocate_id(); }
  void release_id(MemberId id) override { membership.release_id(id); }
  void count_refusal(RefusalReason r, const std::string& subject) override {
    ++stats.refusals[static_cast<size_t>(r)];
    RootEvent e{RootEvent::Kind::kRefused};
    e.subject = subject;
    e.reason = r;
    out.event(std::move(e));
  }
  void send_to_address(std::string_view address, Bytes bytes) override { out.to_address(address, std::move(bytes)); }
  void close_peer(PeerId peer) override { out.close(peer); }

  // --- joining -------------------------------------------------------------

  void on_finish(PeerId peer, const wire::HandshakeFinish& m, uint64_t now) {
    auto h = admission.on_finish(peer, m);
    if (!h) return;
    membership.add_joining(peer, h->member,
                           detail::ControlChannel(group_id, h->member, h->member_secret,
                                                  detail::ControlChannel::kToMember));
    // Checked again now: the ACL or the room may have changed during the handshake.
    RefusalReason late = RefusalReason::kNone;
    if (!membership.acl_allows(h->subject)) late = RefusalReason::kNotOnAcl;
    else if (!has_room(h->subject)) late = RefusalReason::kGroupFull;
    if (late != RefusalReason::kNone) {
      refuse_member(peer, late, h->subject);
      membership.erase_peer(peer);
      membership.release_id(h->member);
      return;
    }
    // A reconnect: the subject's previous connection leaves in this batch.
    if (auto old = membership.member_of(h->subject)) request_leave(*old, true, now);
    membership.add_member(h->member, peer, h->subject);
    auto channel = PrivateChannel::create(config.traffic, static_cast<SenderId>(h->member), PrivateSide::kRoot);
    NETKEY_CHECK(channel.is_ok());  // the suite was checked at create(), member ids are >= 1
    privates.insert_or_assign(h->member, Private{std::move(channel).value(), private_base_key(h->member_secret)});
    const uint8_t team = choose_team(h->subject);
    pending_team[h->member] = team;
    dispatch.join(h->member, std::move(h->member_secret), team, now);
    if (dispatch.full()) commit(now);
  }

  // The subject's assigned team, else the smallest (members plus pending joins; ties:
  // the lowest index). 0 without teams.
  uint8_t choose_team(const std::string& subject) const {
    if (charter.teams == 0) return 0;
    if (auto it = assigned.find(subject); it != assigned.end()) return it->second;
    std::vector<size_t> size(charter.teams);
    for (uint8_t t = 0; t < charter.teams; ++t) size[t] = tree().team_size(t);
    for (const auto& [id, t] : pending_team) ++size[t];
    return static_cast<uint8_t>(std::min_element(size.begin(), size.end()) - size.begin());
  }

  // --- leaving -----------------------------------------------------------

  void request_leave(MemberId id, bool disconnect, uint64_t now) {
    detail::MemberRec* rec = membership.member(id);
    if (rec == nullptr) return;
    rec->disconnect_on_leave = rec->disconnect_on_leave || disconnect;
    if (dispatch.is_pending_join(id)) {
      // It never reached the tree: cancel the join and finish now.
      dispatch.cancel_join(id);
      finish_leave(id);
      return;
    }
    (void)dispatch.leave(id, now);
  }

  void finish_leave(MemberId id) {
    privates.erase(id);  // the private channel dies with the membership
    pending_team.erase(id);
    auto rec = membership.remove_member(id);
    if (!rec) return;
    RootEvent e{RootEvent::Kind::kLeft};
    e.member = id;
    e.subject = rec->subject;
    e.epoch = tree().epoch();
    out.event(std::move(e));
  }

  // An Authenticated message on a member's connection: LeaveRequest or ResyncRequest.
  void on_authenticated(PeerId peer, const wire::Authenticated& m, uint64_t now) {
    MemberPeer* p = membership.peer(peer);
    if (p == nullptr) {
      ++stats.malformed_control;
      return;
    }
    auto inner = p->control.open(m);
    if (!inner) {
      ++stats.control_rejected;
      return;
    }
    const wire::Control& c = *inner->msg;
    switch (c.body_type()) {
      case wire::ControlBody::LeaveRequest:
        if (c.body_as_LeaveRequest()->member_id() != p->member) {
          ++stats.malformed_control;
          return;
        }
        request_leave(p->member, true, now);
        break;
      case wire::ControlBody::ResyncRequest: dispatch.resync(*p, peer, now); break;
      default: ++stats.malformed_control; break;
    }
  }

  // --- the List Controller ------------------------------------------------

  Status on_acl(std::span<const uint8_t> bytes, uint64_t now) {
    auto removed = membership.apply_acl_update(bytes, now);
    if (!removed) return removed.status();
    remove_subjects(*removed, now);
    return Status::ok();
  }

  // Each removed subject's member gets a sealed Refusal and leaves; a security removal
  // flushes the batch at once.
  void remove_subjects(const std::vector<std::string>& removed, uint64_t now) {
    bool security_removal = false;
    for (const std::string& subject : removed) {
      auto id = membership.member_of(subject);
      if (!id) continue;
      const detail::MemberRec* rec = membership.member(*id);
      MemberPeer* p = rec != nullptr && rec->peer != 0 ? membership.peer(rec->peer) : nullptr;
      if (p != nullptr) {
        ++stats.refusals[static_cast<size_t>(RefusalReason::kRemoved)];
        out.to_peer(rec->peer, Channel::kControl, true, p->control.seal(*detail::encode_refusal(RefusalReason::kRemoved)));
      }
      request_leave(*id, true, now);
      security_removal = true;
    }
    if (security_removal) commit(now);
  }

  // --- commit ------------------------------------------------------------

  // The batch into the tree; the leavers' membership ends before the rekey goes out (so
  // none of it is for them), then the joiners' Welcomes, then the Root's own traffic
  // switches to the new net key.
  void commit(uint64_t now) {
    auto plan = dispatch.commit_batch();
    if (!plan) return;
    pending_team.clear();  // every pending join is in this batch
    for (MemberId id : plan->left) finish_leave(id);
    announce_switches(*plan);
    dispatch.send_rekey(*plan);
    if (tree().has_net_key()) {
      sender.set_epoch(tree().epoch(), tree().net_key());
      relay.set_epoch(tree().epoch(), tree().net_key(), now);
      set_team_keys();
      epoch_starts.emplace_back(tree().epoch(), now);
      if (epoch_starts.size() > kRetainedEpochs + 1) epoch_starts.pop_front();
      for (MemberId id : plan->joined) {
        if (auto it = privates.find(id); it != privates.end()) it->second.first_epoch = tree().epoch();
      }
    }
    report_rekey(*plan);
    switch_reassigned(plan->joined, now);
  }

  void report_rekey(const RekeyPlan& plan) {
    RootEvent e{RootEvent::Kind::kRekeyed};
    e.epoch = plan.epoch;
    e.joined = plan.joined.size();
    e.left = plan.left.size();
    e.wrapped_keys = plan.wrapped_keys();
    out.event(std::move(e));
  }

  // Each switched member's connection changes team in the transport's books before the
  // rekey that gives it the new team's key (Transmit::MemberChange::kTeamChanged).
  void announce_switches(const RekeyPlan& plan) {
    for (MemberId id : plan.switched) {
      const TeamId team = detail::team_id_of(tree(), id);
      const detail::MemberRec* rec = membership.member(id);
      if (rec != nullptr && rec->peer != 0) {
        const MemberPeer* p = membership.peer(rec->peer);
        if (p != nullptr && p->stage == MemberPeer::Stage::kMember) {
          out.member_change(rec->peer, Transmit::MemberChange::kTeamChanged, team);
        }
      }
      RootEvent e{RootEvent::Kind::kTeamChanged};
      e.member = id;
      e.team = team;
      e.epoch = plan.epoch;
      if (rec != nullptr) e.subject = rec->subject;
      out.event(std::move(e));
    }
  }

  void set_team_keys() {
    team_sender.set_epoch(tree().epoch());
    for (uint8_t t = 0; t < charter.teams; ++t) {
      if (const SymmetricKey* k = tree().team_key(t)) team_sender.set_team_key(t, *k);
    }
  }

  // Brings a member's channel through every epoch since it was last used (from its
  // Welcome's on), each entered at its own start time, so a reliable private packet of
  // any retained epoch still opens (the reliable grace) and no other does.
  void sync_private(Private& p) {
    if (p.first_epoch == 0) return;  // its join has not committed
    for (const auto& [epoch, start] : epoch_starts) {
      if (epoch >= p.first_epoch && (!p.channel.ready() || epoch > p.channel.epoch())) {
        p.channel.set_epoch(epoch, p.base, start);
      }
    }
  }

  // A joiner whose assigned team changed while its join was pending switches now.
  void switch_reassigned(const std::vector<MemberId>& joined, uint64_t now) {
    if (charter.teams == 0 || assigned.empty()) return;
    for (MemberId id : joined) {
      const detail::MemberRec* rec = membership.member(id);
      if (rec == nullptr) continue;
      auto it = assigned.find(rec->subject);
      if (it != assigned.end() && tree().team_of(id) != it->second) (void)dispatch.switch_team(id, it->second, now);
    }
  }

  Status check_team(TeamId team) const {
    if (charter.teams == 0) return Status(Errc::kInvalidArgument, "the charter has no teams (tree_teams = 0)");
    if (team >= charter.teams) {
      return Status(Errc::kInvalidArgument, "team " + std::to_string(team) + " out of range (the charter has " +
                                                std::to_string(charter.teams) + " teams)");
    }
    return Status::ok();
  }

  // A type-5/6 packet on `p`'s connection: only that member's channel opens it.
  void on_private(const MemberPeer& p, std::span<const uint8_t> bytes, uint64_t now, Delivery delivery) {
    auto it = privates.find(p.member);
    if (it == privates.end()) {
      private_drops.add(DropReason::kUnknownEpoch);  // no channel (cannot happen for a member)
      return;
    }
    sync_private(it->second);
    std::vector<uint8_t> payload(bytes.size());
    DropReason why = DropReason::kMalformed;
    auto n = it->second.channel.open(bytes, now, payload, delivery, &why);
    if (!n) {
      private_drops.add(why);
      return;
    }
    payload.resize(*n);
    ++stats.private_received;
    RootEvent e{RootEvent::Kind::kMessage};
    e.member = p.member;
    e.type = PacketType::kPrivateToRoot;
    e.delivery = delivery;
    e.epoch = it->second.channel.epoch();
    e.payload = std::move(payload);
    out.event(std::move(e));
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
  auto team_sender = TeamSender::create(tc);
  if (!team_sender) return team_sender.status();
  config.traffic = tc;
  const auto digest = charter_hash(config.charter);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(rng), std::move(charter).value(), std::move(key),
                                     std::move(sender).value(), std::move(relay).value(),
                                     std::move(team_sender).value(), digest, boot);
  for (const std::string& subject : impl->charter.participants) impl->membership.acl_add(subject);
  return Root(std::move(impl));
}

void Root::handle_datagram(std::string_view address, std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  if (s.membership.address_connected(address)) {
    ++s.stats.raw_unexpected;
    return;
  }
  s.admission.on_datagram(address, bytes, now_ns);
}

bool Root::peer_connected(PeerId peer, std::string_view address, uint64_t now_ns) {
  (void)now_ns;
  Impl& s = *impl_;
  if (s.membership.knows_peer(peer)) {
    ++s.stats.connections_refused;
    return false;
  }
  if (!s.admission.peer_connected(peer, address)) return false;
  s.membership.bind_connection(peer, address);
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

void Root::handle_traffic(PeerId peer, std::span<const uint8_t> bytes, uint64_t now_ns, Delivery delivery) {
  Impl& s = *impl_;
  const detail::MemberPeer* p = s.membership.peer(peer);
  if (p == nullptr || p->stage != detail::MemberPeer::Stage::kMember) {
    ++s.stats.malformed_control;
    return;
  }
  // Private packets (types 5, 6) go to this connection's member's channel only, and are
  // never relayed; everything else to the relay, which passes member data (type 1) only.
  const uint8_t type = bytes.empty() ? 0 : (bytes[0] & 0x0f);
  if (type == static_cast<uint8_t>(PacketType::kPrivateToMember) ||
      type == static_cast<uint8_t>(PacketType::kPrivateToRoot)) {
    s.on_private(*p, bytes, now_ns, delivery);
    return;
  }
  RootEvent e{RootEvent::Kind::kMessage};
  // A drop is counted by the relay (traffic_drops()); nothing more to do with it here.
  if (!s.relay.check(bytes, static_cast<SenderId>(p->member), now_ns, &e.payload, delivery)) return;
  if (s.config.relay_member_traffic) {
    s.out.traffic(Transmit::To::kAllMembers, Channel::kMember, delivery,
                  std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end()), 0, peer);
  }
  e.member = p->member;
  e.type = PacketType::kMemberData;
  e.delivery = delivery;
  e.epoch = s.tree().epoch();
  s.out.event(std::move(e));
}

void Root::peer_disconnected(PeerId peer, uint64_t now_ns) {
  Impl& s = *impl_;
  s.membership.forget_connection(peer);
  if (s.admission.owns(peer)) {
    s.admission.peer_disconnected(peer);
    return;
  }
  const detail::MemberPeer* p = s.membership.peer(peer);
  if (p == nullptr) return;
  const MemberId id = p->member;
  detail::MemberRec* rec = s.membership.member(id);
  if (rec != nullptr && rec->peer == peer) rec->peer = 0;
  s.membership.erase_peer(peer);
  s.request_leave(id, false, now_ns);
}

void Root::handle_timeout(uint64_t now_ns) {
  Impl& s = *impl_;
  s.admission.handle_timeout(now_ns);
  if (auto due = s.dispatch.deadline(); due && now_ns >= *due) s.commit(now_ns);
}

Status Root::broadcast(std::span<const uint8_t> payload, uint64_t now_ns, Delivery delivery) {
  (void)now_ns;
  Impl& s = *impl_;
  if (!s.sender.ready() || !s.tree().has_net_key()) return Status(Errc::kInvalidArgument, "no members yet");
  std::vector<uint8_t> out(payload.size() + kTrafficOverhead + kTrafficSignatureSize);
  auto n = s.charter.signed_broadcasts ? s.sender.seal_signed(payload, out, s.key) : s.sender.seal(payload, out);
  if (!n) return n.status();
  ++s.stats.seals;
  out.resize(*n);
  s.dispatch.send_copies();  // issue 13: the last rekeys again, in the snapshot's flush
  s.out.traffic(Transmit::To::kAllMembers, Channel::kState, delivery,
                std::make_shared<const std::vector<uint8_t>>(std::move(out)));
  return Status::ok();
}

Status Root::broadcast_to_team(TeamId team, std::span<const uint8_t> payload, uint64_t now_ns, Delivery delivery) {
  (void)now_ns;
  Impl& s = *impl_;
  NETKEY_RETURN_IF_ERROR(s.check_team(team));
  if (s.charter.signed_broadcasts) {
    return Status(Errc::kUnsupported, "team broadcasts are not signed, and the charter requires signed broadcasts");
  }
  if (!s.tree().has_net_key() || s.tree().team_key(static_cast<uint8_t>(team)) == nullptr) {
    return Status(Errc::kInvalidArgument, "team " + std::to_string(team) + " has no members");
  }
  std::vector<uint8_t> out(payload.size() + kTrafficOverhead);
  auto n = s.team_sender.seal(team, payload, out);
  if (!n) return n.status();
  ++s.stats.seals;
  out.resize(*n);
  s.out.traffic(Transmit::To::kTeam, Channel::kState, delivery,
                std::make_shared<const std::vector<uint8_t>>(std::move(out)), 0, 0, team);
  return Status::ok();
}

Status Root::send_private(MemberId member, std::span<const uint8_t> payload, uint64_t now_ns, Delivery delivery) {
  (void)now_ns;
  Impl& s = *impl_;
  auto it = s.privates.find(member);
  if (it != s.privates.end()) s.sync_private(it->second);
  const detail::MemberRec* rec = s.membership.member(member);
  const detail::MemberPeer* p = rec != nullptr && rec->peer != 0 ? s.membership.peer(rec->peer) : nullptr;
  if (it == s.privates.end() || !it->second.channel.ready() || p == nullptr ||
      p->stage != detail::MemberPeer::Stage::kMember) {
    return Status(Errc::kInvalidArgument, "member " + std::to_string(member) +
                                              " is not a member holding the current epoch (unknown, not yet "
                                              "welcomed, or removed)");
  }
  std::vector<uint8_t> out(payload.size() + kTrafficOverhead);
  auto n = it->second.channel.seal(payload, out);
  if (!n) return n.status();
  ++s.stats.seals;
  ++s.stats.private_sent;
  out.resize(*n);
  s.out.traffic(Transmit::To::kPeer, Channel::kState, delivery,
                std::make_shared<const std::vector<uint8_t>>(std::move(out)), rec->peer);
  return Status::ok();
}

Status Root::assign_team(std::string_view subject, TeamId team, uint64_t now_ns) {
  Impl& s = *impl_;
  NETKEY_RETURN_IF_ERROR(s.check_team(team));
  const std::string subj(subject);
  const auto t = static_cast<uint8_t>(team);
  auto id = s.membership.member_of(subj);
  if (id && s.tree().contains(*id)) {
    // A member: a switch in the next batch (or, back to its team, a cancelled one).
    Status st = s.dispatch.switch_team(*id, t, now_ns);
    if (!st && s.tree().team_of(*id) != t) return st;
    s.assigned[subj] = t;
    if (s.dispatch.full()) s.commit(now_ns);
    return Status::ok();
  }
  // Not yet a member (or its join is pending: it switches right after that commit).
  s.assigned[subj] = t;
  return Status::ok();
}

void Root::flush(uint64_t now_ns) { impl_->commit(now_ns); }

std::optional<Transmit> Root::poll_transmit() { return impl_->out.poll_transmit(); }

std::optional<RootEvent> Root::poll_event() { return impl_->out.poll_event(); }

std::optional<uint64_t> Root::poll_timeout() const {
  const Impl& s = *impl_;
  std::optional<uint64_t> t = s.dispatch.deadline();
  if (auto h = s.admission.next_deadline()) t = t ? std::min(*t, *h) : *h;
  return t;
}

std::vector<PeerId> Root::member_peers() const { return impl_->membership.member_peers(); }

bool Root::has_connection(std::string_view address) const { return impl_->membership.address_connected(address); }

bool Root::accepts_connection_from(std::string_view address) const {
  return impl_->admission.accepts_connection_from(address);
}
uint64_t Root::group_id() const { return impl_->group_id; }
std::optional<uint32_t> Root::connect_tag(std::string_view address) const {
  return impl_->admission.connect_tag(address);
}

const CharterFields& Root::charter() const { return impl_->charter; }
uint64_t Root::epoch() const { return impl_->tree().epoch(); }
size_t Root::member_count() const { return impl_->tree().member_count(); }
size_t Root::pending() const { return impl_->dispatch.planner().size(); }
bool Root::has_net_key() const { return impl_->tree().has_net_key(); }
const RootStats& Root::stats() const { return impl_->stats; }
const DropCounters& Root::traffic_drops() const { return impl_->relay.drops(); }
const DropCounters& Root::private_drops() const { return impl_->private_drops; }
uint8_t Root::team_count() const { return impl_->charter.teams; }
std::optional<TeamId> Root::team_of(MemberId member) const {
  const TeamId t = detail::team_id_of(impl_->tree(), member);
  return t == kNoTeam ? std::nullopt : std::optional<TeamId>(t);
}
size_t Root::team_size(TeamId team) const {
  return team < impl_->charter.teams ? impl_->tree().team_size(static_cast<uint8_t>(team)) : 0;
}
std::optional<MemberId> Root::member_of(std::string_view subject) const {
  return impl_->membership.member_of(subject);
}

const SymmetricKey& TestingAccess::root_net_key(const Root& root) { return root.impl_->tree().net_key(); }
const SymmetricKey& testing::root_net_key(const Root& root) { return TestingAccess::root_net_key(root); }

}  // namespace netkey
