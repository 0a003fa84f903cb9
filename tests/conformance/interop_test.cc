// Interop: the spec client (spec_client.h, written from docs/PROTOCOL.md) joins a live
// runtime Root with its own fresh randomness, then reads the Root's broadcasts, sends
// traffic the Root accepts, follows a rekey when a runtime Participant joins, and
// leaves. Where conformance_test compares against recorded vectors, this shows the spec
// is enough to talk to the real thing.
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

  // Hello -> CookieChallenge -> HandshakeInit (a fresh ephemeral) -> HandshakeResponse.
  root_->handle_control(kPeer, address, spec::encode_hello(kSession), now_);
  const Bytes challenge = next_to(kPeer, netkey::Channel::kControl);
  const auto* cc = flatbuffers::GetRoot<w::Control>(challenge.data())->body_as_CookieChallenge();
  ASSERT_NE(cc, nullptr);
  Bytes eph(32);
  randombytes_buf(eph.data(), eph.size());
  root_->handle_control(kPeer, address,
                        spec::encode_handshake_init(of(cc->cookie()), kSession, charter_hash, me.certificate,
                                                    spec::x25519_public(eph)),
                        now_);
  const Bytes response = next_to(kPeer, netkey::Channel::kControl);
  const auto* r = flatbuffers::GetRoot<w::Control>(response.data())->body_as_HandshakeResponse();
  ASSERT_NE(r, nullptr) << "expected a HandshakeResponse";
  // The Root's certificate body gives its key; the signature covers the transcript.
  const Bytes root_cert = of(r->certificate());
  const auto* cert = flatbuffers::GetRoot<w::Certificate>(root_cert.data());
  const auto* body = flatbuffers::GetRoot<w::CertificateBody>(cert->body()->data());
  const Bytes root_pk = of(body->public_key());
  EXPECT_TRUE(spec::ed25519_verify(Bytes(ids_.ca().public_key().bytes.begin(), ids_.ca().public_key().bytes.end()),
                                   spec::text0("netkey-cert-v1") + of(cert->body()), of(cert->signature())));
  const Bytes t = spec::transcript(kSession, r->member_id(), charter_hash, me.certificate, spec::x25519_public(eph),
                                   root_cert, of(r->ephemeral()));
  ASSERT_TRUE(spec::ed25519_verify(root_pk, spec::text("netkey-hs-root") + t, of(r->signature())));
  spec::Member m;
  m.group = kSession;
  m.id = r->member_id();
  m.secret = spec::member_secret(spec::x25519(eph, of(r->ephemeral())), t);
  m.root_public = root_pk;
  root_->handle_control(kPeer, address,
                        spec::encode_handshake_finish(spec::ed25519_sign(seed, spec::text("netkey-hs-member") + t)),
                        now_);

  // The batch commits: the Welcome gives the spec client the Root's net key.
  root_->flush(now_);
  ASSERT_EQ(follow_rekeys(kPeer, m), "");
  ASSERT_EQ(root_->epoch(), 1u);
  EXPECT_EQ(m.epoch, 1u);
  EXPECT_EQ(Bytes(root_->net_key().data(), root_->net_key().data() + 32), m.net_key);

  // A Root broadcast opens; the spec client's own packet reaches the Root.
  const Bytes state = spec::text("tick 1: 3 players");
  ASSERT_TRUE(root_->broadcast(state, now_).is_ok());
  const Bytes packet = next_to(kPeer, netkey::Channel::kState);
  EXPECT_EQ(packet[0] & 0x0f, GetParam().signed_broadcasts ? 3 : 2);
  auto opened = spec::traffic_open(GetParam().suite, kSession, m.net_key, packet, root_pk);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, state);
  const Bytes input = spec::text("input: jump");
  root_->handle_traffic(kPeer,
                        spec::traffic_packet(GetParam().suite, kSession, m.epoch, m.net_key, 1,
                                             static_cast<uint16_t>(m.id), 0, input),
                        now_);
  bool got_input = false;
  while (auto e = root_->poll_event()) {
    got_input = got_input || (e->kind == netkey::RootEvent::Kind::kMessage && Bytes(e->payload) == input);
  }
  EXPECT_TRUE(got_input);
  EXPECT_EQ(root_->traffic_drops().total(), 0u);

  // A runtime participant joins: the spec client follows the rekey.
  const auto& other = ids_.get("runtime-player");
  auto p = netkey::Participant::create(ids_.participant_config(other, charter_, netkey::demo::kSimUnixTime),
                                       std::make_unique<netkey::DeterministicRng>(5), now_);
  ASSERT_TRUE(p.is_ok());
  constexpr netkey::PeerId kOther = 2;
  p->start(now_);
  for (int round = 0; round < 10; ++round) {
    while (auto out = p->poll_transmit()) root_->handle_control(kOther, "203.0.113.10:5000", *out->bytes, now_);
    while (auto in = root_->poll_transmit()) {
      if (in->to == netkey::Transmit::To::kPeer && in->peer == kOther) p->handle_control(*in->bytes, now_);
    }
  }
  ASSERT_EQ(p->state(), netkey::Participant::State::kHandshake);
  root_->flush(now_);
  ASSERT_EQ(root_->epoch(), 2u);
  ASSERT_EQ(follow_rekeys(kPeer, m), "");
  EXPECT_EQ(m.epoch, 2u);
  EXPECT_EQ(Bytes(root_->net_key().data(), root_->net_key().data() + 32), m.net_key);

  // A signed leave: the Root removes the spec client in the next batch.
  const uint64_t nonce = 77;
  const Bytes sig = spec::ed25519_sign(seed, spec::text("netkey-leave-v1") + spec::le(kSession, 8) + spec::le(m.id, 4) +
                                                 spec::le(nonce, 8));
  root_->handle_control(kPeer, address, spec::encode_leave(m.id, nonce, sig), now_);
  root_->flush(now_);
  EXPECT_EQ(root_->epoch(), 3u);
  EXPECT_EQ(root_->member_count(), 1u);
  EXPECT_FALSE(root_->member_of("spec-client").has_value());
  EXPECT_EQ(root_->stats().malformed_control, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Setups, Interop,
    ::testing::Values(Setup{spec::kChaCha, false, netkey::RootConfig::RekeyEncoding::kAuto, "ChaChaGroupAuto"},
                      Setup{spec::kXChaCha, true, netkey::RootConfig::RekeyEncoding::kSlices, "XChaChaSignedSlices"},
                      Setup{spec::kChaCha, false, netkey::RootConfig::RekeyEncoding::kWhole, "ChaChaGroupWhole"}),
    [](const ::testing::TestParamInfo<Setup>& i) { return i.param.name; });

}  // namespace
