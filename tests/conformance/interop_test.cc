// Interop: the spec client (spec_client.h, written from docs/PROTOCOL.md) joins a live
// runtime Root with its own fresh randomness (raw Hello and HandshakeInit by address,
// then a connection for the HandshakeFinish), then reads the Root's broadcasts, sends
// traffic the Root accepts, follows a rekey when a runtime Participant joins, asks for a
// Resync and leaves, both Authenticated. Where conformance_test compares against
// recorded vectors, this shows the spec is enough to talk to the real thing.
#include <gtest/gtest.h>
#include <sodium.h>

#include <memory>
#include <optional>
#include <string>

#include "common/pki.h"
#include "conformance/spec_client.h"
#include "netkey/charter.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/wire/certificate_generated.h"
#include "netkey/wire/control_generated.h"
#include "netkey/wire/rekey_generated.h"
#include "netkey/testing.h"

namespace {

using spec::Bytes;
using spec::operator+;
namespace w = netkey::wire;

Bytes of(const flatbuffers::Vector<uint8_t>* v) { return v == nullptr ? Bytes{} : Bytes(v->begin(), v->end()); }

// The charter's suite and broadcast authentication, and the Root's rekey encoding.
struct Setup {
  spec::Suite suite;
  bool signed_broadcasts;
  netkey::RootConfig::RekeyEncoding encoding;
  std::string name;
};

// Whether the Root's transmit goes to `peer` (who is a member peer here).
bool reaches(const netkey::Transmit& t, netkey::PeerId peer) {
  if (t.to == netkey::Transmit::To::kAddress) return false;
  return t.to == netkey::Transmit::To::kPeer ? t.peer == peer : !t.excludes(peer);
}

class Interop : public ::testing::TestWithParam<Setup> {
 protected:
  Interop() : ids_(4242) {
    netkey::CharterFields f = netkey::demo::Identities::default_fields(kSession);
    f.degree = 3;
    f.suite = static_cast<netkey::AeadSuite>(GetParam().suite);
    f.signed_broadcasts = GetParam().signed_broadcasts;
    charter_ = ids_.charter(f, {"spec-client", "runtime-player"});
    netkey::RootConfig rc = ids_.root_config(charter_, netkey::demo::kSimUnixTime);
    rc.rekey_encoding = GetParam().encoding;
    auto root = netkey::Root::create(std::move(rc), std::make_unique<netkey::DeterministicRng>(3), now_);
    EXPECT_TRUE(root.is_ok());
    root_ = std::make_unique<netkey::Root>(std::move(root).value());
  }

  // Applies every rekey-channel message the Root sent to `peer`, as a client does: by
  // file identifier, ignoring needs_resync before its Welcome (PROTOCOL.md asks a client
  // to). Returns the first other error, or "" when one applied.
  std::string follow_rekeys(netkey::PeerId peer, spec::Member& m) {
    bool applied = false;
    while (auto t = root_->poll_transmit()) {
      if (!reaches(*t, peer) || t->channel != netkey::Channel::kRekey) continue;
      const std::string err = spec::apply(m, *t->bytes);
      if (!m.in_group && err == "needs_resync") continue;
      if (t->redundant && err == "stale_epoch") continue;  // a copy of one it applied: dropped
      if (!err.empty()) return err;
      applied = true;
    }
    return applied ? "" : "nothing applied";
  }

  // The next transmit from the Root to `peer` on `channel`, skipping others.
  Bytes next_to(netkey::PeerId peer, netkey::Channel channel) {
    while (auto t = root_->poll_transmit()) {
      if (reaches(*t, peer) && t->channel == channel && t->bytes && !t->bytes->empty()) return *t->bytes;
    }
    ADD_FAILURE() << "the Root sent nothing to peer " << peer;
    return {};
  }

  // The next raw datagram from the Root to `address` (before any connection).
  Bytes next_datagram_to(const std::string& address) {
    while (auto t = root_->poll_transmit()) {
      if (t->to == netkey::Transmit::To::kAddress && t->address == address) return *t->bytes;
    }
    ADD_FAILURE() << "the Root sent no datagram to " << address;
    return {};
  }

  static constexpr uint64_t kSession = 0x0123456789abcdef;
  netkey::demo::Identities ids_;
  Bytes charter_;
  std::unique_ptr<netkey::Root> root_;
  uint64_t now_ = 1'000'000'000;
};

TEST_P(Interop, SpecClientJoinsReadsSendsFollowsARekeyAndLeaves) {
  ASSERT_GE(sodium_init(), 0);
  const netkey::demo::Identity& me = ids_.get("spec-client");
  const Bytes seed(me.seed.data(), me.seed.data() + 32);
  const Bytes charter_hash = spec::charter_hash(charter_);
  constexpr netkey::PeerId kPeer = 1;
  const std::string address = "203.0.113.9:5000";

  // Raw datagrams by address: Hello (padded) -> CookieChallenge -> HandshakeInit (a
  // fresh ephemeral and the proof of possession) -> HandshakeResponse.
  root_->handle_datagram(address, spec::encode_hello(kSession), now_);
  const Bytes challenge = next_datagram_to(address);
  const auto* cc = flatbuffers::GetRoot<w::Control>(challenge.data())->body_as_CookieChallenge();
  ASSERT_NE(cc, nullptr);
  const Bytes cookie = of(cc->cookie());
  Bytes eph(32);
  randombytes_buf(eph.data(), eph.size());
  const Bytes eph_public = spec::x25519_public(eph);
  const Bytes sig_i = spec::ed25519_sign(seed, spec::init_message(cookie, kSession, charter_hash, eph_public));
  root_->handle_datagram(
      address, spec::encode_handshake_init(cookie, kSession, charter_hash, me.certificate, eph_public, sig_i), now_);
  const Bytes response = next_datagram_to(address);
  const auto* r = flatbuffers::GetRoot<w::Control>(response.data())->body_as_HandshakeResponse();
  ASSERT_NE(r, nullptr) << "expected a HandshakeResponse";
  // The Root's certificate body gives its key; the signature covers the transcript,
  // which ends with this run's boot nonce: the group id comes from it.
  const Bytes root_cert = of(r->certificate());
  const auto* cert = flatbuffers::GetRoot<w::Certificate>(root_cert.data());
  const auto* body = flatbuffers::GetRoot<w::CertificateBody>(cert->body()->data());
  const Bytes root_pk = of(body->public_key());
  EXPECT_TRUE(spec::ed25519_verify(Bytes(ids_.ca().public_key().bytes.begin(), ids_.ca().public_key().bytes.end()),
                                   spec::text0("netkey-cert-v1") + of(cert->body()), of(cert->signature())));
  const Bytes boot = of(r->boot_nonce());
  ASSERT_EQ(boot.size(), 16u);
  const uint64_t group = spec::group_id(kSession, boot);
  EXPECT_EQ(group, root_->group_id());
  const Bytes t = spec::transcript(kSession, r->member_id(), charter_hash, me.certificate, eph_public, root_cert,
                                   of(r->ephemeral()), boot);
  ASSERT_TRUE(spec::ed25519_verify(root_pk, spec::text("netkey-hs-root") + t, of(r->signature())));
  spec::Member m;
  m.group = group;
  m.id = r->member_id();
  m.secret = spec::member_secret(spec::x25519(eph, of(r->ephemeral())), t);
  m.root_public = root_pk;
  // The connection: bound to the answered handshake of this address, once.
  ASSERT_TRUE(root_->accepts_connection_from(address));
  ASSERT_TRUE(root_->peer_connected(kPeer, address, now_));
  EXPECT_FALSE(root_->peer_connected(kPeer + 100, address, now_)) << "a second connection for one handshake";
  const Bytes sig_p = spec::ed25519_sign(seed, spec::text("netkey-hs-member") + t);
  root_->handle_control(kPeer, spec::encode_handshake_finish(sig_p), now_);

  // The batch commits: the Welcome gives the spec client the Root's net key.
  root_->flush(now_);
  ASSERT_EQ(follow_rekeys(kPeer, m), "");
  ASSERT_EQ(root_->epoch(), 1u);
  EXPECT_EQ(m.epoch, 1u);
  EXPECT_EQ(Bytes(netkey::testing::root_net_key(*root_).data(), netkey::testing::root_net_key(*root_).data() + 32), m.net_key);

  // A Root broadcast opens; the spec client's own packet reaches the Root.
  const Bytes state = spec::text("tick 1: 3 players");
  ASSERT_TRUE(root_->broadcast(state, now_).is_ok());
  const Bytes packet = next_to(kPeer, netkey::Channel::kState);
  EXPECT_EQ(packet[0] & 0x0f, GetParam().signed_broadcasts ? 3 : 2);
  auto opened = spec::traffic_open(GetParam().suite, group, m.net_key, packet, root_pk);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, state);
  const Bytes input = spec::text("input: jump");
  root_->handle_traffic(kPeer,
                        spec::traffic_packet(GetParam().suite, group, m.epoch, m.net_key, 1,
                                             static_cast<uint16_t>(m.id), 0, input),
                        now_);
  bool got_input = false;
  while (auto e = root_->poll_event()) {
    got_input = got_input || (e->kind == netkey::RootEvent::Kind::kMessage && Bytes(e->payload) == input);
  }
  EXPECT_TRUE(got_input);
  EXPECT_EQ(root_->traffic_drops().total(), 0u);

  // A runtime participant joins (its raw datagrams by address, then its connection): the
  // spec client follows the rekey.
  const auto& other = ids_.get("runtime-player");
  auto p = netkey::Participant::create(ids_.participant_config(other, charter_, netkey::demo::kSimUnixTime),
                                       std::make_unique<netkey::DeterministicRng>(5), now_);
  ASSERT_TRUE(p.is_ok());
  constexpr netkey::PeerId kOther = 2;
  const std::string other_address = "203.0.113.10:5000";
  bool other_connected = false;
  p->start(now_);
  for (int round = 0; round < 10; ++round) {
    while (auto out = p->poll_transmit()) {
      if (!out->reliable) {
        root_->handle_datagram(other_address, *out->bytes, now_);
        continue;
      }
      if (!other_connected) {
        ASSERT_TRUE(root_->peer_connected(kOther, other_address, now_));
        other_connected = true;
      }
      root_->handle_control(kOther, *out->bytes, now_);
    }
    while (auto in = root_->poll_transmit()) {
      if (in->to == netkey::Transmit::To::kAddress && in->address == other_address) {
        p->handle_datagram(*in->bytes, now_);
      } else if (in->to == netkey::Transmit::To::kPeer && in->peer == kOther) {
        p->handle_control(*in->bytes, now_);
      }
    }
  }
  ASSERT_EQ(p->state(), netkey::Participant::State::kHandshake);
  root_->flush(now_);
  ASSERT_EQ(root_->epoch(), 2u);
  ASSERT_EQ(follow_rekeys(kPeer, m), "");
  EXPECT_EQ(m.epoch, 2u);
  EXPECT_EQ(Bytes(netkey::testing::root_net_key(*root_).data(), netkey::testing::root_net_key(*root_).data() + 32), m.net_key);

  // Authenticated control under the member's control key: a ResyncRequest (seq 1) is
  // answered with a Resync of the whole path; its replay is refused.
  spec::ControlChannel control{group, m.id, spec::control_key(m.secret), spec::kToRoot};
  const Bytes resync_request = spec::seal_control(control, spec::encode_resync_request(m.epoch));
  root_->handle_control(kPeer, resync_request, now_);
  const Bytes resync = next_to(kPeer, netkey::Channel::kRekey);
  auto path = spec::open_sealed(m, resync);
  ASSERT_TRUE(path.has_value()) << "the Resync does not open with the unicast key";
  const auto* path_body = flatbuffers::GetRoot<w::PathBody>(path->data());
  EXPECT_EQ(path_body->group_id(), group);
  EXPECT_EQ(path_body->epoch(), m.epoch);
  EXPECT_EQ(path_body->leaf(), m.leaf);
  EXPECT_EQ(root_->stats().resyncs_sent, 1u);
  root_->handle_control(kPeer, resync_request, now_);
  EXPECT_EQ(root_->stats().control_rejected, 1u) << "a replayed Authenticated message";
  EXPECT_EQ(root_->stats().resyncs_sent, 1u);

  // An Authenticated leave (seq 2): the Root removes the spec client in the next batch.
  root_->handle_control(kPeer, spec::seal_control(control, spec::encode_leave(m.id)), now_);
  root_->flush(now_);
  EXPECT_EQ(root_->epoch(), 3u);
  EXPECT_EQ(root_->member_count(), 1u);
  EXPECT_FALSE(root_->member_of("spec-client").has_value());
  EXPECT_EQ(root_->stats().malformed_control, 0u);
  EXPECT_EQ(root_->stats().control_rejected, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Setups, Interop,
    ::testing::Values(Setup{spec::kChaCha, false, netkey::RootConfig::RekeyEncoding::kAuto, "ChaChaGroupAuto"},
                      Setup{spec::kXChaCha, true, netkey::RootConfig::RekeyEncoding::kSlices, "XChaChaSignedSlices"},
                      Setup{spec::kChaCha, false, netkey::RootConfig::RekeyEncoding::kWhole, "ChaChaGroupWhole"}),
    [](const ::testing::TestParamInfo<Setup>& i) { return i.param.name; });

}  // namespace
