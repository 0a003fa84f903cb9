#include "fuzz_group.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "fuzz_invariants.h"
#include "fuzz_world.h"
#include "netkey/kdf.h"
#include "netkey/x25519.h"
#include "src/group/messages.h"

namespace netkey::fuzz {

namespace {

const std::vector<std::string>& addresses() {
  static const std::vector<std::string> a = {kMemberAddress, kSecondAddress};
  return a;
}

std::unique_ptr<Participant> fresh_p1() {
  auto p = Participant::create(ids().participant_config(ids().get("p1"), charter(), demo::kSimUnixTime),
                               std::make_unique<DeterministicRng>(4), 0);
  NETKEY_CHECK(p.is_ok());
  return std::make_unique<Participant>(std::move(p).value());
}

// Moves every transmit (into `out`, if given) and event out of `r`; returns how many.
uint64_t drain(Root& r, std::vector<Transmit>* out) {
  uint64_t n = 0;
  while (auto t = r.poll_transmit()) {
    ++n;
    if (out != nullptr) out->push_back(std::move(*t));
  }
  while (r.poll_event()) ++n;
  return n;
}

uint64_t drain(Participant& p, std::vector<Transmit>* out) {
  uint64_t n = 0;
  while (auto t = p.poll_transmit()) {
    ++n;
    if (out != nullptr) out->push_back(std::move(*t));
  }
  while (p.poll_event()) ++n;
  return n;
}

bool is_response(std::span<const uint8_t> bytes) {
  auto c = detail::parse_control(bytes);
  return c && c->msg->body_as_HandshakeResponse() != nullptr;
}

// The seq of an Authenticated message (0 for anything else).
uint64_t seq_of(std::span<const uint8_t> bytes) {
  auto c = detail::parse_control(bytes);
  return c && c->msg->body_as_Authenticated() ? c->msg->body_as_Authenticated()->seq() : 0;
}

// The fields of a HandshakeResponse that enter the transcript.
struct ResponseFields {
  MemberId member = 0;
  std::vector<uint8_t> certificate;
  X25519PublicKey eph;
  detail::BootNonce boot{};
};

ResponseFields response_fields(std::span<const uint8_t> response) {
  auto c = detail::parse_control(response);
  NETKEY_CHECK(c.is_ok() && c->msg->body_as_HandshakeResponse() != nullptr);
  const wire::HandshakeResponse& r = *c->msg->body_as_HandshakeResponse();
  ResponseFields f;
  f.member = r.member_id();
  f.certificate.assign(r.certificate()->begin(), r.certificate()->end());
  std::memcpy(f.eph.bytes.data(), r.ephemeral()->data(), 32);
  std::memcpy(f.boot.data(), r.boot_nonce()->data(), f.boot.size());
  return f;
}

std::array<uint8_t, 32> transcript_of(const ResponseFields& f, std::span<const uint8_t> certificate,
                                      const X25519PublicKey& member_eph) {
  return detail::transcript_hash(kSession, charter_digest(), f.member, certificate, member_eph, f.certificate,
                                 f.eph, f.boot);
}

// The Participant's side of the member secret (docs/PROTOCOL.md "Admission").
SymmetricKey member_secret(const ResponseFields& f, std::span<const uint8_t> certificate, const X25519KeyPair& eph) {
  auto shared = eph.agree(f.eph);
  NETKEY_CHECK(shared.is_ok());
  return kdf_extract(shared->bytes(), kdf_ctx::kHandshake, transcript_of(f, certificate, eph.public_key()));
}

// What one input did to the object that took it.
struct Outcome {
  bool rejected = false;  // a rejection counter grew
  bool changed = false;   // the snapshot changed, or it answered
};

// Feeds `bytes` to `p` through `door` (0 datagram, 1 control, 2 rekey, 3 traffic) and
// checks all or nothing. Its transmits go to `out`.
Outcome feed_participant(Participant& p, uint8_t door, std::span<const uint8_t> bytes, uint64_t now,
                         std::vector<Transmit>& out) {
  const ParticipantSnapshot before = snapshot(p);
  const uint64_t rejected_before = rejections(p);
  switch (door % 4) {
    case 0: p.handle_datagram(bytes, now); break;
    case 1: p.handle_control(bytes, now); break;
    case 2: p.handle_rekey(bytes, now); break;
    default: p.handle_traffic(bytes, now); break;
  }
  const uint64_t outputs = drain(p, &out);
  const ParticipantSnapshot after = snapshot(p, outputs);
  Outcome o;
  o.rejected = rejections(p) != rejected_before;
  require_unchanged(o.rejected, before, after, "a message to the Participant");
  o.changed = !diff(before, after).empty();
  return o;
}

// Commits what is pending, lets every deadline pass, and delivers what follows.
void settle(Joined& w) {
  w.root->flush(w.now);
  w.pump();
  w.now += 20'000'000'000;
  w.root->handle_timeout(w.now);
  w.p->handle_timeout(w.now);
  w.pump();
}

}  // namespace

// --- Joined ----------------------------------------------------------------

Joined::Joined() : root(fresh_root()), p(fresh_p1()) {
  NETKEY_CHECK(root != nullptr);
  now = 1'000'000;
  p->start(now);
  for (int round = 0; round < 200 && p->state() != Participant::State::kWelcomed; ++round) {
    now += kFrameStepNs;
    pump();
    root->handle_timeout(now);
  }
  NETKEY_CHECK(p->state() == Participant::State::kWelcomed);
  NETKEY_CHECK(!response.empty() && !welcome.empty());
  const ResponseFields f = response_fields(response);
  DeterministicRng rng(4);  // p1's: its first draw is the ephemeral of its Init
  const X25519KeyPair eph = X25519KeyPair::generate(rng);
  secret = member_secret(f, ids().get("p1").certificate, eph);
  member = f.member;
  group = detail::group_id_of(kSession, f.boot);
  NETKEY_CHECK(group == root->group_id() && member == p->member_id());
  NETKEY_CHECK(!open_sealed(secret, welcome).empty());  // the secret is p1's: its Welcome opens
}

detail::Bytes Joined::seal_to_root(std::span<const uint8_t> inner, uint64_t after) {
  if (!to_root_) {
    to_root_ = std::make_unique<detail::ControlChannel>(group, member, secret, detail::ControlChannel::kToRoot);
  }
  for (; to_root_seq_ + 1 <= after; ++to_root_seq_) (void)to_root_->seal(inner);  // skipped seqs
  ++to_root_seq_;
  return to_root_->seal(inner);
}

detail::Bytes Joined::seal_to_member(std::span<const uint8_t> inner, uint64_t after) {
  if (!to_member_) {
    to_member_ = std::make_unique<detail::ControlChannel>(group, member, secret, detail::ControlChannel::kToMember);
  }
  for (; to_member_seq_ + 1 <= after; ++to_member_seq_) (void)to_member_->seal(inner);
  ++to_member_seq_;
  return to_member_->seal(inner);
}

bool Joined::for_member(const Transmit& t) const {
  switch (t.to) {
    case Transmit::To::kAddress: return t.address == kMemberAddress;
    case Transmit::To::kPeer: return t.peer == kMemberPeer;
    case Transmit::To::kAllMembers:
    case Transmit::To::kTeam: {
      const auto peers = root->member_peers();
      if (t.to == Transmit::To::kTeam && root->team_of(p->member_id()) != std::optional<TeamId>(t.team)) return false;
      return !t.excludes(kMemberPeer) && std::find(peers.begin(), peers.end(), kMemberPeer) != peers.end();
    }
  }
  return false;
}

void Joined::to_member(const Transmit& t) {
  if (t.bytes == nullptr || t.bytes->empty()) return;  // a disconnect
  if (t.to == Transmit::To::kAddress) {
    if (response.empty() && is_response(*t.bytes)) response = *t.bytes;
    p->handle_datagram(*t.bytes, now);
    return;
  }
  switch (t.channel) {
    case Channel::kControl:
      own_to_member_seq_ = std::max(own_to_member_seq_, seq_of(*t.bytes));
      p->handle_control(*t.bytes, now);
      break;
    case Channel::kRekey:
      if (welcome.empty()) welcome = *t.bytes;
      p->handle_rekey(*t.bytes, now);
      break;
    default: p->handle_traffic(*t.bytes, now, t.delivery); break;
  }
}

void Joined::to_root(const Transmit& t) {
  if (t.bytes == nullptr || t.bytes->empty()) return;
  if (t.channel == Channel::kMember || t.channel == Channel::kEvents) {
    root->handle_traffic(kMemberPeer, *t.bytes, now, t.delivery);
  } else if (!t.reliable) {
    root->handle_datagram(kMemberAddress, *t.bytes, now);  // Hello, Init: raw
  } else {
    if (!connected_) connected_ = root->peer_connected(kMemberPeer, kMemberAddress, now);
    own_to_root_seq_ = std::max(own_to_root_seq_, seq_of(*t.bytes));
    root->handle_control(kMemberPeer, *t.bytes, now);
  }
}

void Joined::route(std::vector<Transmit>& from_root, std::vector<Transmit>* others) {
  for (Transmit& t : from_root) {
    const bool mine = for_member(t);
    if (mine) to_member(t);
    if (others != nullptr && (!mine || t.to == Transmit::To::kAllMembers)) others->push_back(std::move(t));
  }
  from_root.clear();
}

uint64_t Joined::pump(std::vector<Transmit>* others) {
  uint64_t n = 0;
  for (bool busy = true; busy;) {
    std::vector<Transmit> out;
    n += drain(*p, &out);
    busy = !out.empty();
    for (const Transmit& t : out) to_root(t);
    out.clear();
    n += drain(*root, &out);
    busy = busy || !out.empty();
    route(out, others);
  }
  return n;
}

// --- fuzz_root_control --------------------------------------------------------

void append_frame(std::vector<uint8_t>& out, uint8_t door, std::span<const uint8_t> bytes) {
  NETKEY_CHECK(bytes.size() <= 0xffff);
  out.push_back(door);
  out.push_back(static_cast<uint8_t>(bytes.size()));
  out.push_back(static_cast<uint8_t>(bytes.size() >> 8));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

bool RootDoors::apply(uint8_t door, std::span<const uint8_t> bytes, std::vector<Transmit>* replies) {
  Root& r = *w_.root;
  w_.now += kFrameStepNs;
  const uint8_t kind = door & 3;
  // Binding the connection is the transport's doing, not the message's: before the
  // snapshot. It binds only to an answered handshake of that address.
  if (kind == kDoorSecond && !second_connected_) {
    second_connected_ = r.peer_connected(kSecondPeer, kSecondAddress, w_.now);
  }
  const RootSnapshot before = snapshot(r, addresses());
  const uint64_t rejected_before = rejections(r);
  switch (kind) {
    case kDoorDatagram: r.handle_datagram((door & 4) ? kMemberAddress : kSecondAddress, bytes, w_.now); break;
    case kDoorSecond: r.handle_control(kSecondPeer, bytes, w_.now); break;
    case kDoorMember: r.handle_control(kMemberPeer, bytes, w_.now); break;
    default: (void)r.submit_acl_update(bytes, w_.now); break;
  }
  std::vector<Transmit> out;
  const uint64_t outputs = drain(r, &out);
  const RootSnapshot after = snapshot(r, addresses(), outputs);
  const bool rejected = rejections(r) != rejected_before;
  require_unchanged(rejected, before, after, "a control message to the Root");
  changed_ = !diff(before, after).empty();
  if (kind == kDoorMember) {
    last_genuine_seq_ = std::max(last_genuine_seq_, genuine_seq(w_, bytes, detail::ControlChannel::kToRoot));
  }
  w_.route(out, replies);
  w_.pump(replies);
  return !rejected;
}

uint64_t genuine_seq(const Joined& w, std::span<const uint8_t> bytes, detail::ControlChannel::Direction direction) {
  auto c = detail::parse_control(bytes);
  if (!c || c->msg->body_as_Authenticated() == nullptr) return 0;
  // The receiving side's channel: it seals the other way.
  detail::ControlChannel receiver(w.group, w.member, w.secret,
                                  direction == detail::ControlChannel::kToRoot ? detail::ControlChannel::kToMember
                                                                               : detail::ControlChannel::kToRoot);
  const wire::Authenticated& m = *c->msg->body_as_Authenticated();
  return receiver.open(m).is_ok() ? m.seq() : 0;
}

bool root_still_opens_member(Joined& w, uint64_t last_genuine_seq) {
  const uint64_t before = w.root->stats().control_rejected;
  const uint64_t after = std::max(last_genuine_seq, w.own_to_root_seq_);
  w.root->handle_control(kMemberPeer, *w.seal_to_root(*detail::encode_resync_request(w.p->epoch()), after), w.now);
  const bool opened = w.root->stats().control_rejected == before;
  w.pump();
  return opened;
}

bool member_still_opens_root(Joined& w, uint64_t last_genuine_seq) {
  const uint64_t before = w.p->stats().control_rejected;
  const uint64_t after = std::max(last_genuine_seq, w.own_to_member_seq_);
  w.p->handle_control(*w.seal_to_member(*detail::encode_refusal(RefusalReason::kNotOnAcl), after), w.now);
  const bool opened = w.p->stats().control_rejected == before;
  w.pump();
  return opened;
}

bool run_root_control(std::span<const uint8_t> input) {
  Joined w;
  RootDoors doors(w);
  bool all_taken = true;
  size_t frames = 0;
  for (size_t at = 0; at + 3 <= input.size(); ++frames) {
    const uint8_t door = input[at];
    const size_t n = static_cast<size_t>(input[at + 1] | input[at + 2] << 8);
    at += 3;
    const size_t take = std::min(n, input.size() - at);
    all_taken = doors.apply(door, input.subspan(at, take)) && all_taken;
    at += take;
  }
  if (!root_still_opens_member(w, doors.last_genuine_seq())) {
    all_or_nothing_violated("a frame to the Root", "p1's control channel no longer opens its next message");
  }
  settle(w);
  return frames > 0 && all_taken;
}

std::vector<uint8_t> second_client_frames(Joined& w, const demo::Identity& who) {
  RootDoors doors(w);
  auto made = Participant::create(ids().participant_config(who, charter(), demo::kSimUnixTime),
                                  std::make_unique<DeterministicRng>(8), 0);
  NETKEY_CHECK(made.is_ok());
  Participant& client = made.value();
  client.start(w.now);
  std::vector<uint8_t> frames;
  for (int round = 0; round < 8; ++round) {
    std::vector<Transmit> out, replies;
    drain(client, &out);
    if (out.empty()) break;
    for (const Transmit& t : out) {
      const uint8_t door = t.channel == Channel::kControl && !t.reliable ? kDoorDatagram : kDoorSecond;
      append_frame(frames, door, *t.bytes);
      (void)doors.apply(door, *t.bytes, &replies);
    }
    for (const Transmit& t : replies) {
      if (t.bytes == nullptr || t.bytes->empty()) continue;
      if (t.to == Transmit::To::kAddress) {
        client.handle_datagram(*t.bytes, w.now);
      } else if (t.channel == Channel::kControl) {
        client.handle_control(*t.bytes, w.now);
      }
    }
  }
  return frames;
}

// --- fuzz_participant_control, fuzz_authenticated ---------------------------------

// Input: a byte that picks the participant (% 3: just started, with a cookie, welcomed
// in a Joined world) and the door (/ 3 % 4: datagram, control, rekey, traffic), then the
// message. Taken: not rejected, and it changed the participant or got an answer.
bool run_participant_control(std::span<const uint8_t> input) {
  if (input.empty()) return false;
  const uint8_t stage = input[0] % 3, door = input[0] / 3 % 4;
  std::vector<Transmit> out;
  if (stage == 2) {
    Joined w;
    w.now += kFrameStepNs;
    const Outcome o = feed_participant(*w.p, door, input.subspan(1), w.now, out);
    for (const Transmit& t : out) w.to_root(t);
    w.pump();
    const uint64_t genuine = door == 1 ? genuine_seq(w, input.subspan(1), detail::ControlChannel::kToMember) : 0;
    if (o.rejected && !member_still_opens_root(w, genuine)) {
      all_or_nothing_violated("a message to the Participant", "the Root's next control message no longer opens");
    }
    settle(w);
    return !o.rejected && o.changed;
  }
  auto p = fresh_p1();
  uint64_t now = 1'000'000;
  p->start(now);
  if (stage == 1) {
    p->handle_datagram(*detail::encode_cookie(std::vector<uint8_t>(detail::kCookieSize, 0x11)), now += kFrameStepNs);
  }
  drain(*p, nullptr);
  const Outcome o = feed_participant(*p, door, input.subspan(1), now += kFrameStepNs, out);
  p->handle_timeout(now + 20'000'000'000);
  drain(*p, nullptr);
  return !o.rejected && o.changed;
}

// Input: a byte (bit 0: from the member to the Root, or from the Root to the member),
// then an inner Control message, sealed under the member's control key. Taken: the
// inner message was acted on (not rejected, and it changed the state or got an answer).
bool run_authenticated(std::span<const uint8_t> input) {
  if (input.empty()) return false;
  Joined w;
  const auto inner = input.subspan(1);
  Outcome o;
  const bool to_root = (input[0] & 1) == 0;
  if (to_root) {
    RootDoors doors(w);
    o.rejected = !doors.apply(kDoorMember, *w.seal_to_root(inner));
    o.changed = doors.changed();
  } else {
    std::vector<Transmit> out;
    w.now += kFrameStepNs;
    o = feed_participant(*w.p, 1, *w.seal_to_member(inner), w.now, out);
    for (const Transmit& t : out) w.to_root(t);
    w.pump();
  }
  // The harness sealed the message itself (seq 1): the probe's seq is above it.
  if (o.rejected && !(to_root ? root_still_opens_member(w, 1) : member_still_opens_root(w, 1))) {
    all_or_nothing_violated("an Authenticated message", "the sender's next message no longer opens");
  }
  settle(w);
  return !o.rejected && o.changed;
}

// --- fuzz_handshake_init, fuzz_handshake_response ---------------------------------

namespace {

// The key of whichever fuzz identity holds the certificate's key (p2's when none does:
// then the proof of possession fails, as it should).
const SigningKey& signer_for(std::span<const uint8_t> certificate) {
  static const std::vector<SigningKey> keys = [] {
    std::vector<SigningKey> k;
    for (const demo::Identity* id : all_identities()) k.push_back(SigningKey::from_seed(id->seed));
    return k;
  }();
  auto cert = parse_certificate(certificate);
  if (cert) {
    for (const SigningKey& k : keys) {
      if (k.public_key() == cert->public_key) return k;
    }
  }
  return keys[4];  // p2
}

struct InitRun {
  std::unique_ptr<Root> root;
  uint64_t now = 1'000'000;
  std::vector<uint8_t> response;
};

// A fresh Root: a Hello from kSecondAddress, then a HandshakeInit with the Root's cookie,
// `certificate` and `eph`, with a real proof of possession (signer_for), checked all or
// nothing.
InitRun init_step(std::span<const uint8_t> certificate, const X25519PublicKey& eph) {
  InitRun run;
  run.root = fresh_root();
  NETKEY_CHECK(run.root != nullptr);
  Root& r = *run.root;
  r.handle_datagram(kSecondAddress, *detail::encode_hello(kSession), run.now);
  std::vector<uint8_t> cookie;
  while (auto t = r.poll_transmit()) {
    auto c = detail::parse_control(*t->bytes);
    if (c && c->msg->body_as_CookieChallenge() && c->msg->body_as_CookieChallenge()->cookie()) {
      const auto* v = c->msg->body_as_CookieChallenge()->cookie();
      cookie.assign(v->begin(), v->end());
    }
  }
  drain(r, nullptr);
  const Ed25519Signature proof =
      signer_for(certificate).sign(detail::init_message(cookie, kSession, charter_digest(), eph));
  const auto init = detail::encode_handshake_init(cookie, kSession, charter_digest(), certificate, eph, proof);
  const RootSnapshot before = snapshot(r, addresses());
  const uint64_t rejected_before = rejections(r);
  r.handle_datagram(kSecondAddress, *init, run.now += kFrameStepNs);
  std::vector<Transmit> out;
  const uint64_t outputs = drain(r, &out);
  require_unchanged(rejections(r) != rejected_before, before, snapshot(r, addresses(), outputs),
                    "a HandshakeInit");
  for (const Transmit& t : out) {
    if (t.to == Transmit::To::kAddress && is_response(*t.bytes)) run.response = *t.bytes;
  }
  return run;
}

}  // namespace

std::vector<uint8_t> handshake_init_response(std::span<const uint8_t> certificate, const X25519PublicKey& eph) {
  return init_step(certificate, eph).response;
}

std::vector<uint8_t> finish_for(std::span<const uint8_t> response, std::span<const uint8_t> certificate,
                                const SigningSeed& identity, const X25519Secret& eph) {
  const ResponseFields f = response_fields(response);
  const X25519PublicKey pub = X25519KeyPair::from_secret(eph.clone()).public_key();
  const auto transcript = transcript_of(f, certificate, pub);
  const Ed25519Signature sig =
      SigningKey::from_seed(identity).sign(detail::transcript_message(detail::kMemberHsLabel, transcript));
  return *detail::encode_handshake_finish(sig);
}

// Input: le16(n) || certificate (n bytes) || ephemeral (32) || the next control message
// on the connection that the transport then binds to the answered handshake.
bool run_handshake_init(std::span<const uint8_t> in) {
  if (in.size() < 2) return false;
  const size_t n = std::min<size_t>(static_cast<size_t>(in[0] | in[1] << 8), in.size() - 2);
  size_t at = 2 + n;
  X25519PublicKey eph;
  const size_t e = std::min<size_t>(32, in.size() - at);
  if (e) std::memcpy(eph.bytes.data(), in.data() + at, e);
  at += e;
  InitRun run = init_step(in.subspan(2, n), eph);
  Root& r = *run.root;
  bool finished = at == in.size();
  if (!finished) {
    run.now += kFrameStepNs;
    (void)r.peer_connected(kSecondPeer, kSecondAddress, run.now);
    const RootSnapshot before = snapshot(r, addresses());
    const uint64_t rejected_before = rejections(r);
    r.handle_control(kSecondPeer, in.subspan(at), run.now);
    const uint64_t outputs = drain(r, nullptr);
    require_unchanged(rejections(r) != rejected_before, before, snapshot(r, addresses(), outputs),
                      "the message after a HandshakeInit");
    finished = r.pending() == 1;  // the join entered the batch
  }
  r.flush(run.now);
  r.handle_timeout(run.now += 20'000'000'000);
  drain(r, nullptr);
  return !run.response.empty() && finished;
}

// p1 is seeded like the Joined world's (DeterministicRng(4)), so the Response a Joined
// world's Root sent verifies. The cookie is not in the transcript: any 40 bytes do.
bool run_handshake_response(std::span<const uint8_t> in) {
  auto p = fresh_p1();
  p->start(0);
  p->handle_datagram(*detail::encode_cookie(std::vector<uint8_t>(detail::kCookieSize, 0x11)), 1'000'000);
  drain(*p, nullptr);
  std::vector<Transmit> out;
  (void)feed_participant(*p, 0, in, 2'000'000, out);
  return p->state() == Participant::State::kHandshake;
}

}  // namespace netkey::fuzz
