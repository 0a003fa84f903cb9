// The Participant state machine. See netkey/participant.h.
#include "netkey/participant.h"

#include <cstring>
#include <algorithm>
#include <deque>

#include "netkey/certificate.h"
#include "netkey/kdf.h"
#include "netkey/member_keys.h"
#include "netkey/private_channel.h"
#include "netkey/x25519.h"
#include "src/group/control_auth.h"
#include "src/group/messages.h"
#include "src/util/clock.h"
#include "src/util/queue.h"
#include "src/util/testing_access.h"

namespace netkey {

using detail::Bytes;

std::string_view participant_state_name(Participant::State s) {
  switch (s) {
    case Participant::State::kIdle: return "idle";
    case Participant::State::kConnecting: return "connecting";
    case Participant::State::kCookie: return "cookie";
    case Participant::State::kHandshake: return "handshake";
    case Participant::State::kWelcomed: return "welcomed";
    case Participant::State::kInGroup: return "in_group";
    case Participant::State::kRefused: return "refused";
    case Participant::State::kRemoved: return "removed";
    case Participant::State::kLeft: return "left";
  }
  return "unknown";
}

struct Participant::Impl {
  Impl(ParticipantConfig c, std::unique_ptr<Rng> r, CharterFields f, SigningKey k, TrafficReceiver rx)
      : config(std::move(c)), rng(std::move(r)), charter(std::move(f)), key(std::move(k)), receiver(std::move(rx)) {}

  ParticipantConfig config;
  std::unique_ptr<Rng> rng;
  CharterFields charter;
  std::array<uint8_t, 32> charter_digest{};
  SigningKey key;
  State state = State::kIdle;
  std::unique_ptr<X25519KeyPair> eph;
  Bytes init;  // the HandshakeInit, for retransmission
  uint64_t next_retransmit = 0;
  uint32_t retransmits = 0;
  RefusalReason soft_refusal = RefusalReason::kNone;  // a raw Refusal: believed only at give-up
  std::array<uint8_t, detail::kCookieSize> current_cookie{};
  uint32_t cookies_this_interval = 0;
  uint32_t connect_tag = 0;
  uint64_t welcome_deadline = 0;                      // kHandshake: give up without a Welcome
  MemberId member = 0;
  uint64_t group_id = 0;
  std::unique_ptr<detail::ControlChannel> control;
  std::unique_ptr<MemberKeys> keys;
  std::unique_ptr<TrafficSender> sender;
  TrafficReceiver receiver;
  // Our private channel with the Root (types 5, 6): made at the Response (the member
  // secret is known), set to each epoch we apply. Ready from the Welcome on.
  std::unique_ptr<PrivateChannel> private_channel;
  SymmetricKey private_base;
  DropCounters private_drops;
  TeamId team = kNoTeam;
  uint64_t last_resync_request = 0;
  bool resync_requested = false;
  std::deque<Transmit> out;
  std::deque<ParticipantEvent> events;
  ParticipantStats stats;

  uint64_t unix_now(uint64_t now) const { return detail::unix_seconds(config.unix_time_at_zero, now); }

  void send(Channel ch, bool reliable, Bytes bytes) {
    Transmit t;
    t.channel = ch;
    t.reliable = reliable;
    t.bytes = std::move(bytes);
    out.push_back(std::move(t));
  }
  void fail(State s, RefusalReason r) {
    state = s;
    ParticipantEvent e{ParticipantEvent::Kind::kRefused};
    e.reason = r;
    events.push_back(std::move(e));
  }
  bool terminal() const { return state == State::kRefused || state == State::kRemoved || state == State::kLeft; }

  // A CookieChallenge is unauthenticated: a spoofer can send one first. So in kCookie a
  // different cookie is taken too (at most kMaxCookiesPerInterval per retransmission
  // interval, each answered by one Init with the same ephemeral): the Root's real cookie
  // still gets through after a forged one, and a flood of forged ones costs the Root one
  // BLAKE2b each.
  static constexpr uint32_t kMaxCookiesPerInterval = 4;
  void on_cookie(const wire::CookieChallenge& c, uint64_t now) {
    if ((state != State::kConnecting && state != State::kCookie) || c.cookie() == nullptr ||
        c.cookie()->size() != detail::kCookieSize) {
      ++stats.control_malformed;
      return;
    }
    std::span<const uint8_t> cookie(c.cookie()->data(), c.cookie()->size());
    if (state == State::kCookie) {
      if (std::equal(cookie.begin(), cookie.end(), current_cookie.begin())) return;  // a duplicate
      if (cookies_this_interval >= kMaxCookiesPerInterval) {
        ++stats.control_malformed;
        return;
      }
    } else {
      eph = std::make_unique<X25519KeyPair>(X25519KeyPair::generate(*rng));
      retransmits = 0;
      next_retransmit = now + config.retransmit_ns;
    }
    ++cookies_this_interval;
    std::copy(cookie.begin(), cookie.end(), current_cookie.begin());
    // The proof of possession: we hold our certificate's key (the Root checks it before
    // it spends a signature or a member id on us).
    Ed25519Signature proof =
        key.sign(detail::init_message(cookie, charter.session_id, charter_digest, eph->public_key()));
    init = detail::encode_handshake_init(cookie, charter.session_id, charter_digest, config.certificate,
                                         eph->public_key(), proof);
    state = State::kCookie;
    send(Channel::kControl, false, init);
  }

  // A Response that does not verify is dropped, not fatal: anyone can spoof one (the
  // Root's certificate is public). It colours the give-up like a raw Refusal.
  void reject_response() {
    ++stats.responses_rejected;
    soft_refusal = RefusalReason::kHandshakeFailed;
  }

  void on_response(const wire::HandshakeResponse& r, uint64_t now) {
    if (state != State::kCookie || r.certificate() == nullptr || r.ephemeral() == nullptr ||
        r.ephemeral()->size() != 32 || r.signature() == nullptr || r.signature()->size() != 64 ||
        r.boot_nonce() == nullptr || r.boot_nonce()->size() != detail::kBootNonceSize || r.member_id() == 0 ||
        r.member_id() > kMaxMemberCap) {
      ++stats.control_malformed;
      return;
    }
    // The Root must be the one the charter elected, certified by our CA.
    std::span<const uint8_t> root_cert(r.certificate()->data(), r.certificate()->size());
    auto cert = verify_certificate(root_cert, config.ca_public_key, unix_now(now), Role::kRoot);
    if (!cert || !(key_id_of(cert->public_key) == charter.root_key_id)) return reject_response();
    X25519PublicKey root_eph;
    std::memcpy(root_eph.bytes.data(), r.ephemeral()->data(), 32);
    detail::BootNonce boot{};
    std::memcpy(boot.data(), r.boot_nonce()->data(), boot.size());
    auto transcript = detail::transcript_hash(charter.session_id, charter_digest, r.member_id(), config.certificate,
                                              eph->public_key(), root_cert, root_eph, boot);
    Ed25519Signature sig;
    std::memcpy(sig.bytes.data(), r.signature()->data(), 64);
    if (!verify_signature(cert->public_key, detail::transcript_message(detail::kRootHsLabel, transcript), sig)) {
      return reject_response();
    }
    auto shared = eph->agree(root_eph);
    if (!shared) return reject_response();
    SymmetricKey secret = kdf_extract(shared->bytes(), kdf_ctx::kHandshake, transcript);
    eph.reset();
    member = r.member_id();
    group_id = detail::group_id_of(charter.session_id, boot);
    keys = std::make_unique<MemberKeys>(group_id, member, secret, cert->public_key, charter.teams);
    private_base = private_base_key(secret);
    control = std::make_unique<detail::ControlChannel>(group_id, member, secret, detail::ControlChannel::kToRoot);
    connect_tag = detail::connect_tag_of(secret);
    TrafficConfig tc = config.traffic;
    tc.group_id = group_id;
    tc.root_public_key = cert->public_key;  // verifies signed broadcasts from here on
    sender = std::make_unique<TrafficSender>(TrafficSender::create(tc, static_cast<SenderId>(member)).value());
    receiver = TrafficReceiver::create(tc).value();
    private_channel = std::make_unique<PrivateChannel>(
        PrivateChannel::create(tc, static_cast<SenderId>(member), PrivateSide::kMember).value());
    Ed25519Signature mine = key.sign(detail::transcript_message(detail::kMemberHsLabel, transcript));
    state = State::kHandshake;
    // The Welcome comes when the batch commits: within the charter's window, normally.
    welcome_deadline = now + config.handshake_timeout_ns + uint64_t{charter.batch_window_ms} * 1'000'000;
    send(Channel::kControl, true, detail::encode_handshake_finish(mine));
  }

  // A raw Refusal cannot be authenticated (anyone can spoof the Root's address), so it
  // only colours the give-up: the participant keeps retransmitting until its retries
  // run out, and then reports the last reason it heard.
  // It does shorten the wait: at most two more retransmissions unless a real answer
  // comes (an off-path spoofer cannot stop the Root's answer from arriving meanwhile).
  void on_raw_refusal(const wire::Refusal& r) {
    soft_refusal = static_cast<RefusalReason>(r.reason());
    ++stats.refusals_heard;
    if (config.max_retransmits >= 2) retransmits = std::max(retransmits, config.max_retransmits - 2);
  }

  // An Authenticated message from the Root on the connection: only a Refusal today.
  void on_authenticated(const wire::Authenticated& m) {
    if (!control) {
      ++stats.control_malformed;
      return;
    }
    auto inner = control->open(m);
    if (!inner) {
      ++stats.control_rejected;
      return;
    }
    if (inner->msg->body_type() != wire::ControlBody::Refusal) {
      ++stats.control_malformed;
      return;
    }
    const auto reason = static_cast<RefusalReason>(inner->msg->body_as_Refusal()->reason());
    fail(reason == RefusalReason::kRemoved ? State::kRemoved : State::kRefused, reason);
  }

  // Turns every opened packet into a kMessage event. Returns true if there was one.
  bool drain_receiver() {
    bool any = false;
    while (auto p = receiver.poll()) {
      any = true;
      ParticipantEvent m{ParticipantEvent::Kind::kMessage};
      m.epoch = p->epoch;
      m.sender = p->sender;
      m.type = p->type;
      m.delivery = p->delivery;
      m.payload = std::move(p->payload);
      m.buffered_ns = p->buffered_ns;
      events.push_back(std::move(m));
    }
    return any;
  }

  // The keys of the epoch just applied into the receiver (with our team's key when the
  // charter has teams), the sender and the private channel; kTeamChanged when our team
  // is new (the Welcome, or a switch).
  void install_epoch(uint64_t now) {
    const uint64_t e = keys->epoch();
    if (auto t = keys->team()) {
      receiver.set_epoch(e, keys->net_key(), *t, keys->team_key(), now);
      if (*t != team) {
        team = *t;
        ParticipantEvent ev{ParticipantEvent::Kind::kTeamChanged};
        ev.team = team;
        ev.epoch = e;
        events.push_back(std::move(ev));
      }
    } else {
      receiver.set_epoch(e, keys->net_key(), now);
    }
    sender->set_epoch(e, keys->net_key());
    private_channel->set_epoch(e, private_base, now);
  }

  // A type-5/6 packet: our private channel only (a type 6 is kWrongDirection there).
  void on_private(std::span<const uint8_t> bytes, uint64_t now, Delivery delivery) {
    if (!private_channel) {
      private_drops.add(DropReason::kUnknownEpoch);  // before the Response: no channel yet
      return;
    }
    std::vector<uint8_t> payload(bytes.size());
    DropReason why = DropReason::kMalformed;
    auto n = private_channel->open(bytes, now, payload, delivery, &why);
    if (!n) {
      private_drops.add(why);
      return;
    }
    payload.resize(*n);
    ParticipantEvent m{ParticipantEvent::Kind::kMessage};
    m.epoch = private_channel->epoch();
    m.sender = kRootSender;
    m.type = PacketType::kPrivateToMember;
    m.delivery = delivery;
    m.payload = std::move(payload);
    events.push_back(std::move(m));
  }

  // Before the Welcome nothing is sent, whatever the class: a reliable send is not
  // queued for later (the caller retries after kWelcomed).
  Status check_sendable(Delivery d) const {
    if (!sender || !sender->ready() || terminal()) {
      return Status(Errc::kInvalidArgument, d == Delivery::kReliableOrdered
                                                ? "reliable send before the Welcome: not in the group yet"
                                                : "not in the group yet (no Welcome)");
    }
    return Status::ok();
  }
  void send_traffic(Delivery d, std::vector<uint8_t> bytes) {
    Transmit t;
    t.delivery = d;
    t.reliable = d == Delivery::kReliableOrdered;
    t.channel = t.reliable ? Channel::kEvents : Channel::kMember;
    t.bytes = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    out.push_back(std::move(t));
  }
  // check_sendable, then seal() (the group sender's or the private channel's) and
  // send_traffic: the one path of send and send_private. seal runs only once sendable.
  template <class Seal>
  Status send_sealed(Delivery d, Seal&& seal) {
    NETKEY_RETURN_IF_ERROR(check_sendable(d));
    auto pkt = seal();
    if (!pkt) return pkt.status();
    send_traffic(d, std::move(pkt).value());
    return Status::ok();
  }

  void request_resync(uint64_t now) {
    if (resync_requested && now - last_resync_request < config.resync_interval_ns) return;
    resync_requested = true;
    last_resync_request = now;
    ++stats.resyncs_requested;
    send(Channel::kControl, true, control->seal(*detail::encode_resync_request(keys->epoch())));
    ParticipantEvent e{ParticipantEvent::Kind::kResyncRequested};
    e.epoch = keys->epoch();
    events.push_back(std::move(e));
  }
};

Participant::Participant(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Participant::Participant(Participant&&) noexcept = default;
Participant& Participant::operator=(Participant&&) noexcept = default;
Participant::~Participant() = default;

Result<Participant> Participant::create(ParticipantConfig config, std::unique_ptr<Rng> rng, uint64_t now_ns) {
  NETKEY_CHECK(rng != nullptr);
  const uint64_t unix_now = detail::unix_seconds(config.unix_time_at_zero, now_ns);
  auto charter = verify_charter(config.charter, config.ca_public_key, unix_now);
  if (!charter) return Status(charter.code(), "charter invalid: " + charter.status().message());
  auto cert = parse_certificate(config.certificate);
  if (!cert) return Status(cert.code(), "own certificate: " + cert.status().message());
  SigningKey key = SigningKey::from_seed(config.signing_seed);
  if (!(cert->public_key == key.public_key())) {
    return Status(Errc::kInvalidArgument, "the signing key does not match the certificate");
  }
  if (Status st = detail::check_charter_traffic(config.traffic, *charter, "ParticipantConfig"); !st) return st;
  TrafficConfig tc = config.traffic;
  tc.group_id = charter->session_id;  // until the Response names this run's group id
  tc.suite = charter->suite;
  tc.signed_broadcasts = charter->signed_broadcasts;
  config.traffic = tc;
  auto rx = TrafficReceiver::create(tc);
  if (!rx) return Status(rx.code(), "charter's AEAD suite: " + rx.status().message());
  auto digest = charter_hash(config.charter);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(rng), std::move(charter).value(), std::move(key),
                                     std::move(rx).value());
  impl->charter_digest = digest;
  return Participant(std::move(impl));
}

void Participant::start(uint64_t now_ns) {
  Impl& s = *impl_;
  NETKEY_CHECK(s.state == State::kIdle);
  s.state = State::kConnecting;
  s.retransmits = 0;
  s.next_retransmit = now_ns + s.config.retransmit_ns;
  s.send(Channel::kControl, false, detail::encode_hello(s.charter.session_id));
}

void Participant::handle_datagram(std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  // After the Response, raw datagrams are ignored: from then on the Root speaks only on
  // the connection, authenticated. A spoofed datagram cannot touch a member.
  if (s.state != State::kConnecting && s.state != State::kCookie) {
    ++s.stats.raw_ignored;
    return;
  }
  auto parsed = detail::parse_control(bytes);
  if (!parsed) {
    ++s.stats.control_malformed;
    return;
  }
  const wire::Control& m = *parsed->msg;
  switch (m.body_type()) {
    case wire::ControlBody::CookieChallenge: s.on_cookie(*m.body_as_CookieChallenge(), now_ns); break;
    case wire::ControlBody::HandshakeResponse: s.on_response(*m.body_as_HandshakeResponse(), now_ns); break;
    case wire::ControlBody::Refusal: s.on_raw_refusal(*m.body_as_Refusal()); break;
    default: ++s.stats.control_malformed; break;
  }
}

void Participant::handle_control(std::span<const uint8_t> bytes, uint64_t now_ns) {
  (void)now_ns;
  Impl& s = *impl_;
  if (s.terminal()) return;
  auto parsed = detail::parse_control(bytes);
  if (!parsed || parsed->msg->body_type() != wire::ControlBody::Authenticated) {
    ++s.stats.control_malformed;  // nothing unauthenticated is taken on the connection
    return;
  }
  s.on_authenticated(*parsed->msg->body_as_Authenticated());
}

void Participant::handle_rekey(std::span<const uint8_t> bytes, uint64_t now_ns) {
  Impl& s = *impl_;
  if (!s.keys || s.terminal()) return;
  s.stats.rekey_bytes += bytes.size();
  const bool was_welcomed = s.keys->in_group();
  Status st = s.keys->apply(bytes);
  switch (st.code()) {
    case Errc::kOk: {
      ++s.stats.rekeys_applied;
      s.resync_requested = false;
      s.install_epoch(now_ns);
      ParticipantEvent e{was_welcomed ? ParticipantEvent::Kind::kRekeyed : ParticipantEvent::Kind::kWelcomed};
      e.epoch = s.keys->epoch();
      s.events.push_back(std::move(e));
      if (!was_welcomed) {
        s.state = State::kWelcomed;
      } else {
        s.state = State::kInGroup;
      }
      s.drain_receiver();  // packets that arrived before the key may now open
      break;
    }
    case Errc::kStaleEpoch: ++s.stats.rekeys_stale; break;
    case Errc::kNeedsResync:
      // Before the Welcome there is nothing to resync: the Welcome is on its way.
      if (was_welcomed) {
        s.request_resync(now_ns);
      } else {
        ++s.stats.rekeys_early;
      }
      break;
    case Errc::kUnknownKey:
      // Either we were removed, or the rekey assumed a key we do not hold (security
      // finding 1 left a member split twice in one LKH+ batch here, reading nothing for
      // a whole epoch). We cannot always tell which, so we ask for a Resync either way:
      // the Root answers members only, so a removed member gets nothing (and its
      // Refusal or disconnect follows), while a member still in the group recovers now.
      ++s.stats.rekeys_rejected;
      if (was_welcomed) s.request_resync(now_ns);
      break;
    default: ++s.stats.rekeys_rejected; break;
  }
}

void Participant::handle_traffic(std::span<const uint8_t> bytes, uint64_t now_ns, Delivery delivery) {
  Impl& s = *impl_;
  if (s.terminal()) return;
  s.stats.state_bytes += bytes.size();
  const uint8_t type = bytes.empty() ? 0 : (bytes[0] & 0x0f);
  if (type == static_cast<uint8_t>(PacketType::kPrivateToMember) ||
      type == static_cast<uint8_t>(PacketType::kPrivateToRoot)) {
    s.on_private(bytes, now_ns, delivery);
    return;
  }
  s.receiver.handle(bytes, now_ns, delivery);
  if (s.drain_receiver() && s.state == State::kWelcomed) s.state = State::kInGroup;
}

void Participant::handle_timeout(uint64_t now_ns) {
  Impl& s = *impl_;
  if (s.state == State::kHandshake && now_ns >= s.welcome_deadline) {
    s.fail(State::kRefused, RefusalReason::kNone);  // no Welcome: the handshake was lost
    return;
  }
  if ((s.state != State::kConnecting && s.state != State::kCookie) || now_ns < s.next_retransmit) return;
  if (++s.retransmits > s.config.max_retransmits) {
    s.fail(State::kRefused, s.soft_refusal);  // the Root never answered (kNone), or refused
    return;
  }
  s.next_retransmit = now_ns + s.config.retransmit_ns;
  s.cookies_this_interval = 0;
  if (s.state == State::kConnecting) {
    s.send(Channel::kControl, false, detail::encode_hello(s.charter.session_id));
  } else {
    // Our cookie was refused (forged, or stale): ask for a fresh one as well.
    if (s.soft_refusal == RefusalReason::kBadCookie) s.send(Channel::kControl, false, detail::encode_hello(s.charter.session_id));
    s.send(Channel::kControl, false, s.init);
  }
}

Status Participant::send(std::span<const uint8_t> payload, uint64_t now_ns, Delivery delivery) {
  (void)now_ns;
  Impl& s = *impl_;
  return s.send_sealed(delivery, [&] { return s.sender->seal(payload); });
}

Status Participant::send_private(std::span<const uint8_t> payload, uint64_t now_ns, Delivery delivery) {
  (void)now_ns;
  Impl& s = *impl_;
  return s.send_sealed(delivery, [&] { return s.private_channel->seal(payload); });
}

void Participant::leave(uint64_t now_ns) {
  (void)now_ns;
  Impl& s = *impl_;
  if (s.member == 0 || !s.control || s.terminal()) return;
  // Sealed under this handshake's control key: it cannot be replayed later, nor onto a
  // member that reuses this id.
  s.send(Channel::kControl, true, s.control->seal(*detail::encode_leave(s.member)));
  s.state = State::kLeft;
}

std::optional<Transmit> Participant::poll_transmit() { return detail::pop_front(impl_->out); }

std::optional<ParticipantEvent> Participant::poll_event() { return detail::pop_front(impl_->events); }

std::optional<uint64_t> Participant::poll_timeout() const {
  if (impl_->state == State::kConnecting || impl_->state == State::kCookie) return impl_->next_retransmit;
  if (impl_->state == State::kHandshake) return impl_->welcome_deadline;
  return std::nullopt;
}

Participant::State Participant::state() const { return impl_->state; }
MemberId Participant::member_id() const { return impl_->member; }
uint64_t Participant::group_id() const { return impl_->group_id; }
uint32_t Participant::connect_tag() const { return impl_->connect_tag; }
uint64_t Participant::epoch() const { return impl_->keys ? impl_->keys->epoch() : 0; }
bool Participant::has_net_key() const { return impl_->keys && impl_->keys->in_group(); }
const SymmetricKey& Participant::net_key() const { return impl_->keys->net_key(); }
const CharterFields& Participant::charter() const { return impl_->charter; }
const ParticipantStats& Participant::stats() const { return impl_->stats; }
const DropCounters& Participant::traffic_drops() const { return impl_->receiver.drops(); }
const DropCounters& Participant::private_drops() const { return impl_->private_drops; }
std::optional<TeamId> Participant::team() const {
  if (impl_->team == kNoTeam || !impl_->keys || !impl_->keys->in_group()) return std::nullopt;
  return impl_->team;
}

std::vector<std::pair<NodeId, const SymmetricKey*>> TestingAccess::held_keys(const Participant& p) {
  if (!p.impl_->keys) return {};
  return p.impl_->keys->held_keys();
}
const MemberKeys* TestingAccess::member_keys(const Participant& p) { return p.impl_->keys.get(); }
std::vector<std::pair<NodeId, const SymmetricKey*>> testing::held_keys(const Participant& p) {
  return TestingAccess::held_keys(p);
}
const MemberKeys* testing::member_keys(const Participant& p) { return TestingAccess::member_keys(p); }

}  // namespace netkey
