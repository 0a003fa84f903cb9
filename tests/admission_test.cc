// Admission and the authenticated control plane, driven by hand (no network): the
// regressions for the security review's findings 2, 3, 5, 6 and 9, and the security
// paths no other test covers (handshake failure, timeouts, rate limits, resync limit).
#include <gtest/gtest.h>

#include <map>

#include "netkey/list_controller.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/x25519.h"
#include "sim/identities.h"
#include "src/group/messages.h"

namespace netkey::testing {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

// A Root and hand-driven participants. Every datagram is delivered at once; a test can
// capture what a participant sent, mute a participant, or inject bytes of its own.
struct Direct {
  struct Client {
    std::unique_ptr<Participant> p;
    std::string address;
    PeerId peer = 0;
    bool connected = false;
    bool muted = false;  // receives nothing on the connection (rekeys are kept in `held`)
    std::vector<std::vector<uint8_t>> held;
    std::vector<std::vector<uint8_t>> sent_control;  // connection control, as sent
  };

  Identities ids{7};
  std::vector<uint8_t> charter;
  std::unique_ptr<Root> root;
  std::map<PeerId, Client> clients;
  std::vector<Transmit> to_address;  // every raw reply, for inspection
  uint64_t now = 1 * kMs;

  explicit Direct(CharterFields f = Identities::default_fields(0x5151), const RootConfig& limits = RootConfig{},
                  uint64_t rng_seed = 11) {
    std::vector<std::string> acl;
    for (int i = 1; i <= 20; ++i) acl.push_back("p" + std::to_string(i));
    charter = ids.charter(f, acl);
    RootConfig rc = ids.root_config(charter, kSimUnixTime);
    rc.max_handshakes_per_ip_per_s = limits.max_handshakes_per_ip_per_s;
    rc.max_handshakes_per_subject_per_s = limits.max_handshakes_per_subject_per_s;
    rc.max_rate_entries = limits.max_rate_entries;
    rc.handshake_timeout_ns = limits.handshake_timeout_ns;
    root = std::make_unique<Root>(Root::create(std::move(rc), std::make_unique<DeterministicRng>(rng_seed), 0).value());
  }
  ParticipantConfig config(const std::string& subject) {
    return ids.participant_config(ids.get(subject), charter, kSimUnixTime);
  }
  Client& start(PeerId peer, ParticipantConfig pc) {
    Client& c = clients[peer];
    c.p = std::make_unique<Participant>(
        Participant::create(std::move(pc), std::make_unique<DeterministicRng>(1000 + peer), now).value());
    c.address = "10.0.0." + std::to_string(peer) + ":4000";
    c.peer = peer;
    c.p->start(now);
    pump();
    return c;
  }
  Client& start(const std::string& subject, PeerId peer) { return start(peer, config(subject)); }
  // Joins and commits: the participant holds the Welcome.
  Client& join(const std::string& subject, PeerId peer) {
    Client& c = start(subject, peer);
    commit();
    EXPECT_TRUE(c.p->has_net_key()) << subject;
    return c;
  }
  void commit() {
    root->flush(now);
    pump();
  }
  void advance(uint64_t dt) {
    now += dt;
    root->handle_timeout(now);
    for (auto& [peer, c] : clients) c.p->handle_timeout(now);
    pump();
  }
  // Delivers everything queued, both ways, until quiet.
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& [peer, c] : clients) {
        while (auto t = c.p->poll_transmit()) {
          moved = true;
          if (t->channel == Channel::kMember) {
            root->handle_traffic(peer, *t->bytes, now);
          } else if (!t->reliable) {
            root->handle_datagram(c.address, *t->bytes, now);
          } else {
            if (!c.connected) c.connected = root->peer_connected(peer, c.address, now);
            c.sent_control.push_back(*t->bytes);
            if (c.connected) root->handle_control(peer, *t->bytes, now);
          }
        }
      }
      while (auto t = root->poll_transmit()) {
        moved = true;
        deliver(*t);
      }
    }
  }
  void deliver(const Transmit& t) {
    if (t.to == Transmit::To::kAddress) {
      to_address.push_back(t);
      for (auto& [peer, c] : clients) {
        if (c.address == t.address) c.p->handle_datagram(*t.bytes, now);
      }
      return;
    }
    for (auto& [peer, c] : clients) {
      const bool to_it = t.to == Transmit::To::kPeer ? t.peer == peer : (c.connected && !t.excludes(peer));
      if (!to_it || t.bytes->empty()) continue;
      if (c.muted) {
        if (t.channel == Channel::kRekey) c.held.push_back(*t.bytes);
        continue;
      }
      if (t.channel == Channel::kControl) c.p->handle_control(*t.bytes, now);
      else if (t.channel == Channel::kRekey) c.p->handle_rekey(*t.bytes, now);
      else c.p->handle_traffic(*t.bytes, now);
    }
  }
  // A raw Hello from `address` and the cookie it earned.
  std::vector<uint8_t> cookie_for(const std::string& address) {
    root->handle_datagram(address, *detail::encode_hello(root->charter().session_id), now);
    std::vector<uint8_t> cookie;
    while (auto t = root->poll_transmit()) {
      auto c = detail::parse_control(*t->bytes);
      if (t->address == address && c && c->msg->body_as_CookieChallenge()) {
        const auto* v = c->msg->body_as_CookieChallenge()->cookie();
        cookie.assign(v->begin(), v->end());
      } else {
        to_address.push_back(*t);  // kept for responses_to()
      }
    }
    return cookie;
  }
  // A HandshakeInit from `address` with `subject`'s certificate; signed by its key when
  // `prove`, else with a junk signature (a stolen public certificate).
  std::vector<uint8_t> init(const std::string& address, const std::string& subject, bool prove) {
    auto cookie = cookie_for(address);
    DeterministicRng rng(address.size() * 31 + now);
    X25519PublicKey eph = X25519KeyPair::generate(rng).public_key();
    const auto digest = charter_hash(charter);
    const Identity& id = ids.get(subject);
    Ed25519Signature proof;
    if (prove) {
      proof = SigningKey::from_seed(id.seed).sign(
          detail::init_message(cookie, root->charter().session_id, digest, eph));
    } else {
      rng.fill(proof.bytes);
    }
    return *detail::encode_handshake_init(cookie, root->charter().session_id, digest, id.certificate, eph, proof);
  }
  size_t responses_to(const std::string& address) {
    size_t n = 0;
    while (auto t = root->poll_transmit()) to_address.push_back(*t);
    for (const auto& t : to_address) {
      auto c = detail::parse_control(*t.bytes);
      n += t.address == address && c && c->msg->body_as_HandshakeResponse() != nullptr;
    }
    return n;
  }
  uint64_t refusals(RefusalReason r) const { return root->stats().refusals[static_cast<size_t>(r)]; }
};

// Finding 2: a spoofed Hello from a member's address used to earn that member a Refusal
// and a disconnect. Now a connected address's raw datagrams are dropped unread.
TEST(Admission, ARawDatagramFromAMembersAddressIsDroppedUnread) {
  Direct d;
  auto& a = d.join("p1", 1);
  d.join("p2", 2);
  const uint64_t epoch = d.root->epoch();
  const auto cookies = d.root->stats().cookies_issued;
  d.root->handle_datagram(a.address, *detail::encode_hello(0xbad), d.now);                       // wrong session
  d.root->handle_datagram(a.address, *detail::encode_hello(d.root->charter().session_id), d.now);  // right one
  d.root->handle_datagram(a.address, d.init(a.address, "p1", true), d.now);
  d.pump();
  EXPECT_EQ(d.root->stats().raw_unexpected, 4u);  // and init()'s own Hello
  EXPECT_EQ(d.root->stats().cookies_issued, cookies);
  EXPECT_EQ(d.root->stats().refusals_total(), 0u);
  d.commit();
  EXPECT_EQ(d.root->member_count(), 2u);
  EXPECT_EQ(d.root->epoch(), epoch);
  EXPECT_TRUE(a.p->has_net_key());
  EXPECT_EQ(a.p->epoch(), epoch);
}

// Finding 5: a forged Refusal ended a member in any state. Raw datagrams after the
// Response and unauthenticated control on the connection are ignored and counted.
TEST(Admission, AForgedRefusalCannotEndAMember) {
  Direct d;
  auto& a = d.join("p1", 1);
  a.p->handle_datagram(*detail::encode_refusal(RefusalReason::kRemoved), d.now);  // spoofed raw
  a.p->handle_control(*detail::encode_refusal(RefusalReason::kRemoved), d.now);   // injected on the connection
  std::vector<uint8_t> forged = *detail::encode_authenticated(a.p->member_id(), 1, 1, std::vector<uint8_t>(40, 7));
  a.p->handle_control(forged, d.now);  // Authenticated, but not under its key
  EXPECT_EQ(a.p->state(), Participant::State::kWelcomed);
  EXPECT_EQ(a.p->stats().raw_ignored, 1u);
  EXPECT_EQ(a.p->stats().control_malformed, 1u);
  EXPECT_EQ(a.p->stats().control_rejected, 1u);
  // The real removal, sealed by the Root, does end it.
  ListController lc(d.root->charter().session_id, d.root->group_id(), d.ids.get("lc", Role::kListController, 9).seed,
                    d.ids.get("lc", Role::kListController, 9).certificate);
  ASSERT_TRUE(d.root->submit_acl_update(*lc.remove({"p1"}).value(), d.now).is_ok());
  d.pump();
  EXPECT_EQ(a.p->state(), Participant::State::kRemoved);
}

// Finding 5: a refusal before the handshake is soft: a real answer still wins.
TEST(Admission, ARawRefusalBeforeTheHandshakeIsSoft) {
  Direct d;
  auto& a = d.start(1, d.config("p1"));
  ASSERT_EQ(a.p->state(), Participant::State::kHandshake);  // everything was answered at once
  auto& b = d.clients[2];
  b.p = std::make_unique<Participant>(
      Participant::create(d.config("p2"), std::make_unique<DeterministicRng>(5), d.now).value());
  b.address = "10.0.0.2:4000";
  b.p->start(d.now);
  (void)b.p->poll_transmit();  // the Hello is lost
  b.p->handle_datagram(*detail::encode_refusal(RefusalReason::kNotOnAcl), d.now);  // a spoofer's
  EXPECT_EQ(b.p->state(), Participant::State::kConnecting);
  EXPECT_EQ(b.p->stats().refusals_heard, 1u);
  d.advance(600 * kMs);  // the retransmitted Hello gets through
  d.commit();
  EXPECT_EQ(b.p->state(), Participant::State::kWelcomed);
  // With no real answer, the refusal is the reason it gives up with, soon.
  Direct e;
  auto& c = e.clients[3];
  c.p = std::make_unique<Participant>(
      Participant::create(e.config("p3"), std::make_unique<DeterministicRng>(6), e.now).value());
  c.address = "10.0.0.3:4000";
  c.p->start(e.now);
  c.p->handle_datagram(*detail::encode_refusal(RefusalReason::kNotOnAcl), e.now);
  for (int i = 0; i < 4; ++i) {
    e.now += 500 * kMs;
    c.p->handle_timeout(e.now);
    while (c.p->poll_transmit()) {
    }
  }
  EXPECT_EQ(c.p->state(), Participant::State::kRefused);
  bool saw = false;
  while (auto ev = c.p->poll_event()) saw = saw || ev->reason == RefusalReason::kNotOnAcl;
  EXPECT_TRUE(saw);
}

// Finding 5: a dropped handshake used to hang forever; without a Welcome it gives up.
TEST(Admission, AParticipantGivesUpWithoutAWelcome) {
  Direct d;
  auto& a = d.start("p1", 1);
  ASSERT_EQ(a.p->state(), Participant::State::kHandshake);
  d.root.reset();  // the Root is gone: no Welcome will come
  const auto deadline = a.p->poll_timeout();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_GE(*deadline, d.now + 10 * kSec);
  a.p->handle_timeout(*deadline - 1);
  EXPECT_EQ(a.p->state(), Participant::State::kHandshake);
  a.p->handle_timeout(*deadline);
  EXPECT_EQ(a.p->state(), Participant::State::kRefused);
}

// Finding 2: an AclUpdate from the network (raw, without a cookie, or on a member's
// connection) cost one or two Ed25519 verifies. Now it costs none and is not applied.
TEST(Admission, AnAclUpdateFromTheNetworkCostsNothingAndIsNotApplied) {
  Direct d;
  auto& a = d.join("p1", 1);
  const Identity& lc_id = d.ids.get("lc", Role::kListController, 9);
  ListController lc(d.root->charter().session_id, d.root->group_id(), lc_id.seed, lc_id.certificate);
  auto update = lc.add({"outsider"}).value();
  const uint64_t ops = d.root->stats().public_key_ops;
  for (int i = 0; i < 100; ++i) d.root->handle_datagram("10.9.9." + std::to_string(i) + ":1", *update, d.now);
  d.root->handle_control(a.peer, *update, d.now);
  EXPECT_EQ(d.root->stats().public_key_ops, ops);
  EXPECT_EQ(d.root->stats().acl_updates_applied, 0u);
  EXPECT_EQ(d.root->stats().raw_unexpected, 100u);
  // Through the trusted door it is verified and applied.
  EXPECT_TRUE(d.root->submit_acl_update(*update, d.now).is_ok());
  EXPECT_EQ(d.root->stats().acl_updates_applied, 1u);
}

// Finding 2: a LeaveRequest was signed over (session, member id, nonce) only, and ids
// are reused: an observed one replayed later removed the id's next holder. Now it is
// sealed under the handshake's control key.
TEST(Admission, ALeaveRequestIsBoundToItsHandshake) {
  Direct d;
  auto& a = d.join("p1", 1);
  auto& b = d.join("p2", 2);
  d.commit();
  const MemberId a_id = a.p->member_id();
  a.p->leave(d.now);
  d.pump();
  ASSERT_FALSE(a.sent_control.empty());
  const std::vector<uint8_t> observed = a.sent_control.back();  // an eavesdropper's copy
  d.commit();
  ASSERT_EQ(d.root->member_count(), 1u);
  // p1 comes back and is given the same member id.
  auto& again = d.join("p1", 3);
  ASSERT_EQ(again.p->member_id(), a_id);
  const uint64_t epoch = d.root->epoch();
  const uint64_t rejected = d.root->stats().control_rejected;
  d.root->handle_control(again.peer, observed, d.now);  // replayed onto the new holder
  d.root->handle_control(b.peer, observed, d.now);      // onto another member
  d.root->handle_control(b.peer, *detail::encode_leave(a_id), d.now);  // unauthenticated
  d.commit();
  EXPECT_EQ(d.root->stats().control_rejected, rejected + 2);
  EXPECT_EQ(d.root->member_count(), 2u);
  EXPECT_EQ(d.root->epoch(), epoch);
  // A replay of a member's own earlier message on its own connection is refused too.
  b.p->leave(d.now);
  d.pump();
  const uint64_t before = d.root->stats().control_rejected;
  d.root->handle_control(b.peer, b.sent_control.back(), d.now);
  EXPECT_EQ(d.root->stats().control_rejected, before + 1);
}

// Finding 3: a stolen public certificate bought a certificate verify, an X25519, a Root
// signature, a member id and a place under the cap. Now the proof of possession fails
// first: no id, no X25519, no signature, no slot.
TEST(Admission, AStolenCertificateGetsNoSignatureNoIdAndNoPlace) {
  auto f = Identities::default_fields(0x5151);
  f.member_cap = 8;
  Direct d(f);
  for (int i = 0; i < 12; ++i) {
    const std::string addr = "10.7.0." + std::to_string(i) + ":5000";
    d.root->handle_datagram(addr, d.init(addr, "p1", /*prove=*/false), d.now);
    EXPECT_EQ(d.responses_to(addr), 0u);
    EXPECT_FALSE(d.root->accepts_connection_from(addr));
  }
  EXPECT_EQ(d.refusals(RefusalReason::kHandshakeFailed), 12u);
  EXPECT_EQ(d.root->stats().public_key_ops, 12u * 2);  // a certificate verify and the proof
  // Eight honest players join: the attempts held no place.
  for (PeerId p = 1; p <= 8; ++p) d.join("p" + std::to_string(p + 1), p);
  EXPECT_EQ(d.root->member_count(), 8u);
  EXPECT_EQ(d.refusals(RefusalReason::kGroupFull), 0u);
}

// Finding 3: unfinished handshakes held places under the cap (eight unfinished Inits made
// a real join fail with group_full). Now only members and pending joins count.
TEST(Admission, UnfinishedHandshakesHoldNoPlaceUnderTheCap) {
  auto f = Identities::default_fields(0x5151);
  f.member_cap = 4;
  Direct d(f);
  for (int i = 0; i < 4; ++i) {  // four key holders that never finish
    const std::string addr = "10.8.0." + std::to_string(i) + ":5000";
    d.root->handle_datagram(addr, d.init(addr, "p" + std::to_string(10 + i), true), d.now);
    EXPECT_EQ(d.responses_to(addr), 1u);
  }
  for (PeerId p = 1; p <= 4; ++p) d.join("p" + std::to_string(p), p);
  EXPECT_EQ(d.root->member_count(), 4u);
  // Full now: a fifth is refused.
  d.start("p5", 5);
  d.advance(2 * kSec);
  EXPECT_GE(d.refusals(RefusalReason::kGroupFull), 1u);
  EXPECT_EQ(d.root->member_count(), 4u);
}

// Finding 3: the rate limit was per IP:port (a new port reset it) and an attacker could
// clear every limit by filling the table. Now it is per IP, and per subject, and a full
// table refuses newcomers instead of forgetting everyone.
TEST(Admission, RateLimitsArePerIpAndPerSubjectAndNeverReset) {
  RootConfig lim;
  lim.max_handshakes_per_ip_per_s = 3;
  lim.max_handshakes_per_subject_per_s = 2;
  Direct d(Identities::default_fields(0x5151), lim);
  // One IP, eight ports, junk proofs: three get as far as the certificate, five are
  // rate limited before any public-key work.
  for (int port = 1; port <= 8; ++port) {
    const std::string addr = "10.5.5.5:" + std::to_string(port);
    d.root->handle_datagram(addr, d.init(addr, "p1", false), d.now);
  }
  EXPECT_EQ(d.refusals(RefusalReason::kRateLimited), 5u);
  EXPECT_EQ(d.root->stats().public_key_ops, 3u * 2);
  // Per subject: p2's key holder from three fresh IPs in one second; the third is limited.
  for (int ip = 1; ip <= 3; ++ip) {
    const std::string addr = "10.6.0." + std::to_string(ip) + ":1";
    d.root->handle_datagram(addr, d.init(addr, "p2", true), d.now);
  }
  EXPECT_EQ(d.refusals(RefusalReason::kRateLimited), 6u);
  EXPECT_EQ(d.responses_to("10.6.0.1:1") + d.responses_to("10.6.0.2:1"), 2u);
}

TEST(Admission, AFullRateTableRefusesNewcomersAndResetsNobody) {
  RootConfig lim;
  lim.max_handshakes_per_ip_per_s = 1;
  lim.max_rate_entries = 4;
  Direct d(Identities::default_fields(0x5151), lim);
  for (int ip = 1; ip <= 4; ++ip) {  // fills the tables in this second
    const std::string addr = "10.4.0." + std::to_string(ip) + ":1";
    d.root->handle_datagram(addr, d.init(addr, "p" + std::to_string(ip), true), d.now);
    EXPECT_EQ(d.responses_to(addr), 1u);
  }
  d.root->handle_datagram("10.4.0.5:1", d.init("10.4.0.5:1", "p5", true), d.now);  // a newcomer
  d.root->handle_datagram("10.4.0.1:2", d.init("10.4.0.1:2", "p6", true), d.now);  // 10.4.0.1 again
  EXPECT_EQ(d.refusals(RefusalReason::kRateLimited), 2u);  // (the old table cleared itself here)
  EXPECT_EQ(d.responses_to("10.4.0.5:1"), 0u);
  // A second later the old entries are pruned and the newcomer gets in.
  d.now += kSec;
  d.root->handle_datagram("10.4.0.5:1", d.init("10.4.0.5:1", "p5", true), d.now);
  EXPECT_EQ(d.responses_to("10.4.0.5:1"), 1u);
}

// The handshake timeout drops an unfinished handshake and frees its member id.
TEST(Admission, AnUnfinishedHandshakeTimesOutAndFreesItsId) {
  RootConfig lim;
  lim.handshake_timeout_ns = 2 * kSec;
  Direct d(Identities::default_fields(0x5151), lim);
  const std::string addr = "10.3.0.1:7";
  d.root->handle_datagram(addr, d.init(addr, "p1", true), d.now);
  ASSERT_TRUE(d.root->accepts_connection_from(addr));
  const auto deadline = d.root->poll_timeout();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(*deadline, d.now + 2 * kSec);
  d.now = *deadline;
  d.root->handle_timeout(d.now);
  EXPECT_FALSE(d.root->accepts_connection_from(addr));
  EXPECT_FALSE(d.root->peer_connected(9, addr, d.now));
  EXPECT_FALSE(d.root->poll_timeout().has_value());
  auto& a = d.join("p2", 1);
  EXPECT_EQ(a.p->member_id(), 1u);  // the dropped handshake's id, free again
}

// kHandshakeFailed: a Finish whose signature does not verify closes the connection.
TEST(Admission, ABadHandshakeFinishClosesTheConnection) {
  Direct d;
  const std::string addr = "10.2.0.1:7";
  d.root->handle_datagram(addr, d.init(addr, "p1", true), d.now);
  ASSERT_TRUE(d.root->peer_connected(5, addr, d.now));
  EXPECT_FALSE(d.root->peer_connected(6, addr, d.now));  // one connection per handshake
  Ed25519Signature junk;
  junk.bytes.fill(3);
  while (d.root->poll_transmit()) {
  }
  d.root->handle_control(5, *detail::encode_handshake_finish(junk), d.now);
  EXPECT_EQ(d.refusals(RefusalReason::kHandshakeFailed), 1u);
  bool closed = false;
  while (auto t = d.root->poll_transmit()) closed = closed || (t->peer == 5 && t->then_disconnect);
  EXPECT_TRUE(closed);
  d.commit();
  EXPECT_EQ(d.root->member_count(), 0u);
}

// Resyncs are answered at most once per interval per member.
TEST(Admission, ResyncRequestsAreRateLimited) {
  Direct d;
  auto pc = d.config("p1");
  pc.resync_interval_ns = 0;  // the participant asks at every gap
  auto& a = d.start(1, std::move(pc));
  d.commit();
  d.join("p2", 2);
  a.muted = true;
  d.join("p3", 3);  // a misses this epoch
  d.join("p4", 4);
  d.join("p5", 5);
  ASSERT_EQ(a.held.size(), 3u);
  a.p->handle_rekey(a.held[1], d.now);  // a gap: needs_resync, asks
  a.p->handle_rekey(a.held[2], d.now);  // another gap at once: asks again
  a.muted = false;
  d.pump();
  EXPECT_EQ(a.p->stats().resyncs_requested, 2u);
  EXPECT_EQ(d.root->stats().resyncs_sent, 1u);
  EXPECT_EQ(d.root->stats().resyncs_rate_limited, 1u);
}

// Finding 6: ACL updates (and Wholes) replayed across a Root restart on the same charter.
// The boot nonce gives each run its own group id.
TEST(Admission, NothingFromAnEarlierRunOfTheRootIsAccepted) {
  Direct first;
  const Identity& lc_id = first.ids.get("lc", Role::kListController, 9);
  ListController lc1(first.root->charter().session_id, first.root->group_id(), lc_id.seed, lc_id.certificate);
  auto add = lc1.add({"guest"}).value();
  auto remove = lc1.remove({"guest"}).value();
  ASSERT_TRUE(first.root->submit_acl_update(*add, first.now).is_ok());
  ASSERT_TRUE(first.root->submit_acl_update(*remove, first.now).is_ok());
  // Capture a Whole of the first run.
  first.join("p1", 1);
  first.join("p2", 2);
  std::vector<uint8_t> old_whole;
  first.start("p3", 3);
  first.root->flush(first.now);
  while (auto t = first.root->poll_transmit()) {
    if (t->channel == Channel::kRekey && t->to == Transmit::To::kAllMembers) old_whole = *t->bytes;
  }
  ASSERT_FALSE(old_whole.empty());

  Direct second(Identities::default_fields(0x5151), RootConfig{}, /*rng_seed=*/12);  // restart
  EXPECT_NE(second.root->group_id(), first.root->group_id());
  Status s = second.root->submit_acl_update(*add, second.now);
  EXPECT_EQ(s.code(), Errc::kWrongGroup);
  EXPECT_EQ(second.root->stats().acl_updates_applied, 0u);
  // The List Controller of this run starts again at 1, naming the new group.
  ListController lc2(second.root->charter().session_id, second.root->group_id(), lc_id.seed, lc_id.certificate);
  EXPECT_TRUE(second.root->submit_acl_update(*lc2.add({"guest"}).value(), second.now).is_ok());
  // A member of the new run refuses the old run's Whole.
  auto& m = second.join("p1", 1);
  second.join("p2", 2);
  const uint64_t epoch = m.p->epoch();
  const uint64_t rejected = m.p->stats().rekeys_rejected + m.p->stats().rekeys_stale;
  m.p->handle_rekey(old_whole, second.now);
  EXPECT_EQ(m.p->epoch(), epoch);
  EXPECT_GT(m.p->stats().rekeys_rejected + m.p->stats().rekeys_stale, rejected);
}

// Finding 9: a Hello is padded so that its CookieChallenge is no larger; a short one is
// dropped without an answer.
TEST(Admission, AHelloIsPaddedAndAShortOneIsDropped) {
  Direct d;
  const auto hello = detail::encode_hello(d.root->charter().session_id);
  const auto challenge = detail::encode_cookie(std::vector<uint8_t>(detail::kCookieSize, 1));
  EXPECT_GE(hello->size(), detail::kMinHelloBytes);
  EXPECT_LE(challenge->size(), hello->size());
  flatbuffers::FlatBufferBuilder b(64);
  b.Finish(wire::CreateControl(b, wire::ControlBody::Hello, wire::CreateHello(b, 1, d.root->charter().session_id).Union()),
           "NKCP");
  d.root->handle_datagram("10.1.1.1:1", {b.GetBufferPointer(), b.GetSize()}, d.now);
  EXPECT_EQ(d.root->stats().cookies_issued, 0u);
  EXPECT_FALSE(d.root->poll_transmit().has_value());
  d.root->handle_datagram("10.1.1.1:1", *hello, d.now);
  EXPECT_EQ(d.root->stats().cookies_issued, 1u);
}

// The cookie comes before any state or public-key work (moved from group_test).
TEST(Admission, NoPublicKeyWorkBeforeAValidCookie) {
  Direct d;
  const uint64_t session = d.root->charter().session_id;
  const auto digest = charter_hash(d.charter);
  const Identity& p1 = d.ids.get("p1");
  DeterministicRng rng(5);
  X25519PublicKey eph = X25519KeyPair::generate(rng).public_key();
  Ed25519Signature junk;
  auto init_with = [&](std::span<const uint8_t> cookie) {
    return detail::encode_handshake_init(cookie, session, digest, p1.certificate, eph, junk);
  };
  for (uint32_t i = 0; i < 200; ++i) {
    d.root->handle_datagram("10.20." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":1",
                            *detail::encode_hello(session), 0);
  }
  EXPECT_EQ(d.root->stats().cookies_issued, 200u);
  std::vector<uint8_t> forged(detail::kCookieSize, 0x5a);
  d.root->handle_datagram("10.0.0.1:1", *init_with(forged), 1 * kMs);
  auto for_b = detail::make_cookie(SymmetricKey(), "10.0.0.2:1", 1 * kMs);  // not the Root's secret
  d.root->handle_datagram("10.0.0.1:1", *init_with(for_b), 1 * kMs);
  d.root->handle_datagram("10.0.0.1:1", *init_with({}), 1 * kMs);
  auto cookie = d.cookie_for("10.0.0.1:1");
  d.root->handle_datagram("10.0.0.2:1", *init_with(cookie), 3 * kMs);            // echoed elsewhere
  d.root->handle_datagram("10.0.0.1:1", *init_with(cookie), d.now + 11 * kSec);  // too late
  EXPECT_EQ(d.refusals(RefusalReason::kBadCookie), 5u);
  EXPECT_EQ(d.root->stats().public_key_ops, 0u);
}

// A participant in kConnecting, fed off-path datagrams by a test (the attack review of
// the security fix, findings F3-F5).
Direct::Client& victim(Direct& d, PeerId peer, const std::string& subject, const std::string& address) {
  Direct::Client& c = d.clients[peer];
  c.p = std::make_unique<Participant>(
      Participant::create(d.config(subject), std::make_unique<DeterministicRng>(77 + peer), d.now).value());
  c.address = address;
  c.peer = peer;
  c.p->start(d.now);
  return c;
}

// F3: a spoofed HandshakeResponse (the Root's public certificate, a junk signature) used
// to end a joining participant at once. It is dropped now; the real one still wins.
TEST(Admission, ASpoofedHandshakeResponseDoesNotEndAJoin) {
  Direct d;
  auto& v = victim(d, 2, "p2", "10.0.0.2:4000");
  auto hello = v.p->poll_transmit();
  d.root->handle_datagram(v.address, *hello->bytes, d.now);
  while (auto t = d.root->poll_transmit()) v.p->handle_datagram(*t->bytes, d.now);
  ASSERT_EQ(v.p->state(), Participant::State::kCookie);
  const auto root_cert = d.ids.root_config(d.charter, kSimUnixTime).certificate;
  X25519PublicKey junk_eph;
  junk_eph.bytes.fill(9);
  Ed25519Signature junk_sig;
  junk_sig.bytes.fill(7);
  v.p->handle_datagram(*detail::encode_handshake_response(1, root_cert, junk_eph, junk_sig, {}), d.now);
  EXPECT_EQ(v.p->state(), Participant::State::kCookie);
  EXPECT_EQ(v.p->stats().responses_rejected, 1u);
  d.pump();  // the Init reaches the Root; its real Response is taken
  d.commit();
  EXPECT_TRUE(v.p->has_net_key());
}

// F4: a spoofed CookieChallenge that arrived first pinned the participant to a cookie the
// Root refuses, and the real cookie was dropped. Now a new cookie is taken too.
TEST(Admission, ASpoofedCookieChallengeDoesNotEndAJoin) {
  Direct d;
  auto& v = victim(d, 2, "p2", "10.0.0.2:4000");
  v.p->handle_datagram(*detail::encode_cookie(std::vector<uint8_t>(detail::kCookieSize, 0x41)), d.now);
  ASSERT_EQ(v.p->state(), Participant::State::kCookie);
  d.pump();  // Hello and the forged Init reach the Root: a real cookie, and bad_cookie
  for (int i = 0; i < 6 && !v.p->has_net_key(); ++i) {
    d.advance(500 * kMs);
    d.commit();
  }
  EXPECT_TRUE(v.p->has_net_key());
  EXPECT_GE(d.refusals(RefusalReason::kBadCookie), 1u);
  // A flood of forged cookies is bounded: at most four new Inits per interval.
  Direct e;
  auto& w = victim(e, 3, "p3", "10.0.0.3:4000");
  (void)w.p->poll_transmit();
  for (uint8_t i = 0; i < 50; ++i) {
    w.p->handle_datagram(*detail::encode_cookie(std::vector<uint8_t>(detail::kCookieSize, i)), e.now);
  }
  size_t inits = 0;
  while (w.p->poll_transmit()) ++inits;
  EXPECT_EQ(inits, 4u);
}

// F5: a NAT-mate spent its IP's handshake budget with one cookie and junk Inits (a wrong
// charter hash) that cost the Root nothing, locking every other player behind the IP out.
// The charter check now comes first and is charged to nobody, and one port gets only a
// share of its IP's budget.
TEST(Admission, ANatMateCannotSpendItsIpsBudgetWithJunk) {
  Direct d;  // default limits: 64 per IP, 8 per ip:port
  const std::string attacker = "100.64.0.1:5555";
  auto cookie = d.cookie_for(attacker);
  X25519PublicKey eph;
  eph.bytes.fill(3);
  Ed25519Signature junk;
  junk.bytes.fill(1);
  auto junk_init = *detail::encode_handshake_init(cookie, d.root->charter().session_id, std::vector<uint8_t>(32, 0),
                                                  std::vector<uint8_t>(100, 0), eph, junk);
  const auto stolen = d.ids.get("p9").certificate;  // a real certificate, without its key
  auto stolen_init = *detail::encode_handshake_init(cookie, d.root->charter().session_id, charter_hash(d.charter),
                                                    stolen, eph, junk);
  for (int i = 0; i < 200; ++i) d.root->handle_datagram(attacker, junk_init, d.now);
  for (int i = 0; i < 200; ++i) d.root->handle_datagram(attacker, stolen_init, d.now);
  EXPECT_EQ(d.refusals(RefusalReason::kCharterMismatch), 200u);
  EXPECT_EQ(d.root->stats().public_key_ops, 8u * 2);  // one port's share, then rate_limited
  auto& v = victim(d, 2, "p2", "100.64.0.1:6000");  // a real player, same public IP
  d.pump();
  d.commit();
  EXPECT_TRUE(v.p->has_net_key());
}

}  // namespace
}  // namespace netkey::testing
