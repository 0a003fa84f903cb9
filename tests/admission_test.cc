// Admission, driven by hand (no network): the regressions for the security review's
// findings 2, 3 and 9 and for the attack review of the fix (F3-F5), and the paths no
// other test covers (handshake failure, timeouts, rate limits).
#include <gtest/gtest.h>

#include "netkey/list_controller.h"
#include "support/direct_root.h"

namespace netkey::testing {
namespace {

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
