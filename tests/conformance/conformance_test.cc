// Conformance: re-derives every protocol test vector (tests/vectors/, written by
// tools/netkey-vectors from a real Root/Participant exchange) through the spec client
// (spec_client.h: docs/PROTOCOL.md's steps with libsodium and flatc's code, no runtime
// code), and compares byte for byte: messages, keys, hashes, signatures, ciphertexts.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <map>
#include <string>

#include "conformance/spec_client.h"
#include "netkey/wire/certificate_generated.h"
#include "netkey/wire/charter_generated.h"
#include "netkey/wire/control_generated.h"
#include "netkey/wire/rekey_generated.h"
#include "support/vectors.h"

namespace {

using netkey::testing::hex;
using netkey::testing::load_vectors;
using netkey::testing::unhex;
using netkey::testing::Vector;
using spec::Bytes;
using spec::operator+;
namespace w = netkey::wire;

uint64_t num(const Vector& v, const std::string& k) { return std::stoull(v.at(k)); }
Bytes bytes(const Vector& v, const std::string& k) { return unhex(v.at(k)); }
Bytes of(const flatbuffers::Vector<uint8_t>* v) { return v == nullptr ? Bytes{} : Bytes(v->begin(), v->end()); }

// Byte-for-byte comparison that prints hex on failure.
#define EXPECT_BYTES(expected, actual) EXPECT_EQ(hex(expected), hex(actual))

const Vector& group_record() {
  static const std::vector<Vector> all = load_vectors("handshake.json");
  return all.at(0);
}

class Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

// A certificate per "Certificates": the CA's signature over label || 0 || body, the
// issuer key id, and the body's fields.
const w::CertificateBody* check_certificate(const Bytes& cert, const Bytes& ca_public, Bytes& body_storage) {
  flatbuffers::Verifier v(cert.data(), cert.size(), 4, 8);
  EXPECT_TRUE(v.VerifyBuffer<w::Certificate>("NKCT"));
  const auto* c = flatbuffers::GetRoot<w::Certificate>(cert.data());
  body_storage = of(c->body());
  EXPECT_TRUE(spec::ed25519_verify(ca_public, spec::text0("netkey-cert-v1") + body_storage, of(c->signature())));
  flatbuffers::Verifier bv(body_storage.data(), body_storage.size(), 4, 8);
  EXPECT_TRUE(bv.VerifyBuffer<w::CertificateBody>(nullptr));
  const auto* b = flatbuffers::GetRoot<w::CertificateBody>(body_storage.data());
  EXPECT_EQ(b->version(), 1);
  EXPECT_BYTES(spec::key_id(ca_public), of(b->issuer_key_id()));
  return b;
}

TEST_F(Conformance, CharterAndCertificates) {
  const Vector& g = group_record();
  const Bytes ca = bytes(g, "ca_public_key"), charter = bytes(g, "charter");
  EXPECT_BYTES(bytes(g, "charter_hash"), spec::charter_hash(charter));
  // The charter: the initiator's certificate, its signature, and the elected Root.
  flatbuffers::Verifier v(charter.data(), charter.size(), 6, 64);
  ASSERT_TRUE(v.VerifyBuffer<w::Charter>("NKCH"));
  const auto* c = flatbuffers::GetRoot<w::Charter>(charter.data());
  Bytes init_body;
  const auto* init = check_certificate(of(c->initiator_certificate()), ca, init_body);
  EXPECT_EQ(init->role(), w::Role::Initiator);
  const Bytes body = of(c->body());
  EXPECT_TRUE(spec::ed25519_verify(of(init->public_key()), spec::text0("netkey-charter-v1") + body, of(c->signature())));
  flatbuffers::Verifier bv(body.data(), body.size(), 6, 64);
  ASSERT_TRUE(bv.VerifyBuffer<w::CharterBody>(nullptr));
  const auto* cb = flatbuffers::GetRoot<w::CharterBody>(body.data());
  EXPECT_EQ(cb->session_id(), num(g, "session_id"));
  EXPECT_EQ(cb->attributes()->tree_degree(), 2);
  EXPECT_BYTES(spec::key_id(bytes(g, "root_public_key")), of(cb->root_key_id()));
  // The Root's certificate carries the key the vectors sign with.
  Bytes root_body;
  const auto* root = check_certificate(bytes(g, "root_certificate"), ca, root_body);
  EXPECT_EQ(root->role(), w::Role::Root);
  EXPECT_BYTES(bytes(g, "root_public_key"), of(root->public_key()));
  EXPECT_LE(root->not_before(), num(g, "unix_time"));
  EXPECT_GE(root->not_after(), num(g, "unix_time"));
}

// "Group id": this run's group id from the session and the Root's boot nonce; never the
// bare session id.
TEST_F(Conformance, GroupId) {
  const Vector& g = group_record();
  const Bytes boot = bytes(g, "boot_nonce");
  ASSERT_EQ(boot.size(), 16u);
  EXPECT_EQ(spec::group_id(num(g, "session_id"), boot), num(g, "group_id"));
  EXPECT_NE(num(g, "group_id"), num(g, "session_id"));
  Bytes other = boot;
  other[0] ^= 1;  // another run of the same charter is another group
  EXPECT_NE(spec::group_id(num(g, "session_id"), other), num(g, "group_id"));
}

TEST_F(Conformance, Cookie) {
  for (const Vector& v : load_vectors("handshake.json")) {
    if (v.at("case") != "cookie") continue;
    const Bytes c = spec::cookie(bytes(v, "cookie_secret"), v.at("address"), num(v, "issued_ms"));
    EXPECT_EQ(c.size(), 40u);
    EXPECT_BYTES(bytes(v, "cookie"), c);
    return;
  }
  FAIL() << "handshake.json has no cookie vector";
}

TEST_F(Conformance, Handshake) {
  const Vector& g = group_record();
  const uint64_t session = num(g, "session_id");
  const Bytes charter_hash = spec::charter_hash(bytes(g, "charter"));
  int checked = 0;
  for (const Vector& v : load_vectors("handshake.json")) {
    if (v.at("case") != "handshake") continue;
    SCOPED_TRACE(v.at("subject"));
    ++checked;
    EXPECT_BYTES(bytes(v, "hello"), spec::encode_hello(session));
    EXPECT_GE(bytes(v, "hello").size(), 96u);  // no amplification: at least the challenge's size
    // The Root's cookie is opaque to the participant: it echoes it.
    const Bytes challenge = bytes(v, "cookie_challenge");
    const auto* cc = flatbuffers::GetRoot<w::Control>(challenge.data())->body_as_CookieChallenge();
    ASSERT_NE(cc, nullptr);
    const Bytes cookie = of(cc->cookie());
    ASSERT_EQ(cookie.size(), 40u);
    EXPECT_BYTES(challenge, spec::encode_cookie_challenge(cookie));
    const Bytes eph_secret = bytes(v, "participant_ephemeral_secret");
    const Bytes eph = spec::x25519_public(eph_secret);
    EXPECT_BYTES(bytes(v, "participant_ephemeral_public"), eph);
    const Bytes cert = bytes(v, "participant_certificate");
    // The proof of possession: the certificate's key signs the cookie, session, charter
    // hash and ephemeral.
    const Bytes init_message = spec::init_message(cookie, session, charter_hash, eph);
    const Bytes sig_i = spec::ed25519_sign(bytes(v, "participant_seed"), init_message);
    EXPECT_BYTES(bytes(v, "init_signature"), sig_i);
    EXPECT_TRUE(spec::ed25519_verify(spec::ed25519_public(bytes(v, "participant_seed")), init_message, sig_i));
    EXPECT_BYTES(bytes(v, "handshake_init"),
                 spec::encode_handshake_init(cookie, session, charter_hash, cert, eph, sig_i));
    // The Root's response: its certificate, ephemeral and signature over the transcript.
    const Bytes response = bytes(v, "handshake_response");
    const auto* r = flatbuffers::GetRoot<w::Control>(response.data())->body_as_HandshakeResponse();
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->member_id(), num(v, "member_id"));
    EXPECT_BYTES(bytes(g, "root_certificate"), of(r->certificate()));
    const Bytes root_eph = of(r->ephemeral());
    EXPECT_BYTES(bytes(v, "root_ephemeral_public"), root_eph);
    const Bytes boot = of(r->boot_nonce());
    EXPECT_BYTES(bytes(g, "boot_nonce"), boot);
    EXPECT_EQ(spec::group_id(session, boot), num(g, "group_id"));
    const Bytes t = spec::transcript(session, r->member_id(), charter_hash, cert, eph, of(r->certificate()), root_eph,
                                     boot);
    EXPECT_BYTES(bytes(v, "transcript_hash"), t);
    EXPECT_TRUE(spec::ed25519_verify(bytes(g, "root_public_key"), spec::text("netkey-hs-root") + t, of(r->signature())));
    EXPECT_BYTES(response, spec::encode_handshake_response(r->member_id(), of(r->certificate()), root_eph,
                                                           of(r->signature()), boot));
    // Keys, then the participant's signature and HandshakeFinish.
    const Bytes shared = spec::x25519(eph_secret, root_eph);
    EXPECT_BYTES(bytes(v, "shared_secret"), shared);
    const Bytes secret = spec::member_secret(shared, t);
    EXPECT_BYTES(bytes(v, "member_secret"), secret);
    EXPECT_BYTES(bytes(v, "leaf_key"), spec::leaf_key(secret));
    EXPECT_BYTES(bytes(v, "unicast_key"), spec::unicast_key(secret));
    EXPECT_EQ(spec::connect_tag(secret), num(v, "connect_tag"));
    const Bytes sig = spec::ed25519_sign(bytes(v, "participant_seed"), spec::text("netkey-hs-member") + t);
    EXPECT_BYTES(bytes(v, "participant_signature"), sig);
    EXPECT_BYTES(bytes(v, "handshake_finish"), spec::encode_handshake_finish(sig));
  }
  EXPECT_EQ(checked, 5);
}

// The inner Control message of an authenticated record, rebuilt in the reference
// encoding from its fields.
Bytes inner_of(const Vector& v) {
  const std::string& type = v.at("inner_type");
  if (type == "LeaveRequest") return spec::encode_leave(static_cast<uint32_t>(num(v, "leave_member_id")));
  if (type == "ResyncRequest") return spec::encode_resync_request(num(v, "have_epoch"));
  if (type == "Refusal") return spec::encode_refusal(static_cast<uint8_t>(num(v, "reason")));
  ADD_FAILURE() << "unknown inner type " << type;
  return {};
}

// The receiving side's channel for an authenticated record, which has accepted nothing.
spec::ControlChannel receiver_of(const Vector& v) {
  const auto direction = static_cast<uint8_t>(num(v, "direction"));
  return {num(v, "group_id"), static_cast<uint32_t>(num(v, "member_id")),
          spec::control_key(bytes(v, "member_secret")),
          direction == spec::kToRoot ? spec::kToMember : spec::kToRoot};
}

// "Authenticated control": the control key, nonce and AD, the inner message, the AEAD
// and the Authenticated message, sealed by the sending side and opened by the other.
TEST_F(Conformance, AuthenticatedControl) {
  const uint64_t group = num(group_record(), "group_id");
  std::map<std::string, int> checked;
  for (const Vector& v : load_vectors("handshake.json")) {
    if (v.at("case") != "authenticated") continue;
    SCOPED_TRACE(v.at("subject") + ": " + v.at("inner_type"));
    ++checked[v.at("inner_type")];
    const auto member = static_cast<uint32_t>(num(v, "member_id"));
    const auto direction = static_cast<uint8_t>(num(v, "direction"));
    const uint64_t seq = num(v, "seq");
    EXPECT_EQ(num(v, "group_id"), group);
    EXPECT_EQ(direction, v.at("inner_type") == "Refusal" ? spec::kToMember : spec::kToRoot);
    if (v.at("inner_type") == "LeaveRequest") {
      EXPECT_EQ(num(v, "leave_member_id"), member);  // its own id
    }
    const Bytes key = spec::control_key(bytes(v, "member_secret"));
    EXPECT_BYTES(bytes(v, "control_key"), key);
    EXPECT_BYTES(bytes(v, "nonce"), spec::control_nonce(direction, seq));
    EXPECT_BYTES(bytes(v, "ad"), spec::control_ad(group, member, direction, seq));
    const Bytes inner = inner_of(v);
    EXPECT_BYTES(bytes(v, "inner"), inner);
    const Bytes ct = spec::aead_seal(spec::kChaCha, key, spec::control_nonce(direction, seq),
                                     spec::control_ad(group, member, direction, seq), inner);
    EXPECT_BYTES(bytes(v, "ciphertext"), ct);
    EXPECT_BYTES(bytes(v, "authenticated"), spec::encode_authenticated(member, direction, seq, ct));
    // The sending side, at the same seq, seals the same message.
    spec::ControlChannel sender{group, member, key, direction, seq - 1, 0};
    EXPECT_BYTES(bytes(v, "authenticated"), spec::seal_control(sender, inner));
    // The receiving side opens it to the inner message and records the seq.
    spec::ControlChannel receiver = receiver_of(v);
    Bytes opened;
    ASSERT_EQ(spec::open_control(receiver, bytes(v, "authenticated"), &opened), "");
    EXPECT_BYTES(inner, opened);
    EXPECT_EQ(receiver.received, seq);
  }
  EXPECT_EQ(checked["LeaveRequest"], 1);
  EXPECT_EQ(checked["ResyncRequest"], 1);
  EXPECT_EQ(checked["Refusal"], 1);
}

// The receiver's checks, in order, on the recorded messages: a replay (same seq), a
// tampered ciphertext, another member, the receiver's own direction, a nested
// Authenticated. Each is refused and changes nothing.
TEST_F(Conformance, SpecClientRefusesReplayedAndTamperedControl) {
  int checked = 0;
  for (const Vector& v : load_vectors("handshake.json")) {
    if (v.at("case") != "authenticated") continue;
    SCOPED_TRACE(v.at("subject") + ": " + v.at("inner_type"));
    ++checked;
    const Bytes msg = bytes(v, "authenticated");
    Bytes inner;
    spec::ControlChannel receiver = receiver_of(v);
    ASSERT_EQ(spec::open_control(receiver, msg, &inner), "");
    // Replayed: the same seq again.
    EXPECT_EQ(spec::open_control(receiver, msg, &inner), "stale_epoch");
    EXPECT_EQ(receiver.received, num(v, "seq"));
    // Tampered: one bit of the ciphertext (inside the tag) flipped.
    spec::ControlChannel fresh = receiver_of(v);
    Bytes tampered = msg;
    const Bytes ct = bytes(v, "ciphertext");
    const auto at = std::search(tampered.begin(), tampered.end(), ct.begin(), ct.end());
    ASSERT_NE(at, tampered.end());
    *(at + static_cast<long>(ct.size()) - 1) ^= 1;
    EXPECT_EQ(spec::open_control(fresh, tampered, &inner), "bad_tag");
    EXPECT_EQ(fresh.received, 0u);
    // The same ciphertext under a later seq: the nonce and AD differ.
    const auto member = static_cast<uint32_t>(num(v, "member_id"));
    const auto direction = static_cast<uint8_t>(num(v, "direction"));
    const uint64_t seq = num(v, "seq");
    EXPECT_EQ(spec::open_control(fresh, spec::encode_authenticated(member, direction, seq + 1, ct), &inner), "bad_tag");
    // Addressed to another member, or in the receiver's own direction.
    EXPECT_EQ(spec::open_control(fresh, spec::encode_authenticated(member + 1, direction, seq, ct), &inner),
              "wrong_group");
    EXPECT_EQ(spec::open_control(fresh, spec::encode_authenticated(member, fresh.outgoing, seq, ct), &inner),
              "wrong_group");
    // Under another run's group id (the AD binds it).
    spec::ControlChannel other_run = receiver_of(v);
    other_run.group ^= 1;
    EXPECT_EQ(spec::open_control(other_run, msg, &inner), "bad_tag");
    // An Authenticated sealed inside another.
    spec::ControlChannel sender{fresh.group, member, fresh.key, direction, seq, 0};
    EXPECT_EQ(spec::open_control(fresh, spec::seal_control(sender, msg), &inner), "malformed");
    EXPECT_EQ(fresh.received, 0u);
  }
  EXPECT_EQ(checked, 3);
}

spec::Member member_from(const Vector& v, uint64_t group) {
  spec::Member m;
  m.group = group;
  m.id = static_cast<uint32_t>(num(v, "member_id"));
  m.secret = bytes(v, "member_secret");
  m.root_public = bytes(group_record(), "root_public_key");
  return m;
}

// The Sealed envelope and its AEAD, re-derived: same plaintext, same ciphertext, same
// message bytes.
void check_sealed(const spec::Member& m, const Vector& v, const Bytes& message, uint8_t kind) {
  const auto* s = flatbuffers::GetRoot<w::Sealed>(message.data());
  EXPECT_EQ(s->group_id(), m.group);
  EXPECT_EQ(s->member(), m.id);
  EXPECT_EQ(s->seq(), num(v, "seq"));
  EXPECT_EQ(s->epoch(), num(v, "epoch"));
  EXPECT_EQ(static_cast<uint8_t>(s->kind()), kind);
  auto plain = spec::open_sealed(m, message);
  ASSERT_TRUE(plain.has_value());
  EXPECT_BYTES(bytes(v, "plaintext"), *plain);
  const Bytes ct = spec::aead_seal(spec::kChaCha, spec::unicast_key(m.secret), spec::sealed_nonce(kind, s->seq()),
                                   spec::sealed_ad(m.group, s->epoch(), m.id, s->seq(), kind), *plain);
  EXPECT_BYTES(of(s->ciphertext()), ct);
  EXPECT_BYTES(message, spec::encode_sealed(m.group, s->epoch(), m.id, s->seq(), kind, ct));
}

// A Welcome or Resync: the envelope, then the member's whole new state, and the
// PathBody rebuilt in the reference encoding.
void check_path_message(spec::Member& m, const Vector& v, const Bytes& msg, uint8_t kind) {
  check_sealed(m, v, msg, kind);
  ASSERT_EQ(spec::apply_sealed(m, msg), "");
  EXPECT_EQ(m.leaf, num(v, "leaf"));
  EXPECT_EQ(m.epoch, num(v, "epoch"));
  EXPECT_BYTES(bytes(v, "path"), spec::path_bytes(m.path));
  EXPECT_BYTES(bytes(v, "net_key"), m.net_key);
  EXPECT_BYTES(bytes(v, "plaintext"), spec::encode_path_body(m.group, m.epoch, m.id, m.degree, m.leaf, m.path));
}

TEST_F(Conformance, Welcome) {
  int checked = 0;
  for (const Vector& v : load_vectors("welcome.json")) {
    if (v.at("case") != "welcome") continue;
    SCOPED_TRACE(v.at("subject"));
    ++checked;
    spec::Member m = member_from(v, num(v, "group_id"));
    EXPECT_EQ(m.group, num(group_record(), "group_id"));
    EXPECT_BYTES(bytes(v, "unicast_key"), spec::unicast_key(m.secret));
    const Bytes msg = bytes(v, "welcome");
    check_path_message(m, v, msg, 2);
    // Applying it again is refused: the epoch is not newer.
    EXPECT_EQ(spec::apply_sealed(m, msg), "stale_epoch");
  }
  EXPECT_EQ(checked, 5);
}

spec::Member member_before(const Vector& v, uint64_t group, uint8_t degree) {
  spec::Member m = member_from(v, group);
  m.in_group = true;
  m.degree = degree;
  m.leaf = static_cast<uint32_t>(num(v, "leaf_before"));
  m.epoch = num(v, "epoch_before");
  m.path = spec::parse_path(bytes(v, "path_before"));
  m.net_key = spec::net_key(m.path.back().key, m.epoch);
  return m;
}

// A Whole and each member applying it: the signature, the envelope, the body in the
// reference encoding, each member's new path and net key (or its refusal), and every
// wrapped key it could read, re-wrapped to the same 48 bytes.
void check_whole_file(const std::string& file, uint8_t kind, int expect_applied, int expect_refused) {
  const auto all = load_vectors(file);
  const Vector& wv = all.at(0);
  ASSERT_EQ(wv.at("case"), "whole");
  const Bytes whole = bytes(wv, "whole"), body = bytes(wv, "body");
  const uint64_t group = num(wv, "group_id"), epoch = num(wv, "epoch");
  EXPECT_EQ(group, num(group_record(), "group_id"));
  const auto degree = static_cast<uint8_t>(num(wv, "degree"));
  EXPECT_BYTES(bytes(wv, "root_public_key"), spec::ed25519_public(bytes(wv, "root_seed")));
  const Bytes sig = spec::ed25519_sign(bytes(wv, "root_seed"), spec::text0("netkey-rekey-v1") + body);
  EXPECT_BYTES(whole, spec::encode_whole(body, sig));
  const auto* b = flatbuffers::GetRoot<w::RekeyBody>(body.data());
  EXPECT_EQ(static_cast<uint8_t>(b->kind()), kind);
  std::vector<spec::Move> moves;
  for (const auto* mv : *b->moves()) moves.push_back({mv->from(), mv->to()});
  std::vector<spec::Entry> entries;
  for (const auto* e : *b->entries()) {
    entries.push_back({e->node(), e->wrapper(), Bytes(e->ciphertext()->begin(), e->ciphertext()->end())});
  }
  EXPECT_FALSE(moves.empty()) << "the vector should exercise a LeafMove";
  EXPECT_EQ(entries.empty(), kind == 1) << "a HashForward batch has no entries, a Full one has";
  EXPECT_BYTES(body, spec::encode_whole_body(group, epoch, kind, degree, moves, entries));
  int applied = 0, refused = 0;
  for (size_t i = 1; i < all.size(); ++i) {
    const Vector& v = all[i];
    SCOPED_TRACE(file + ": " + v.at("subject"));
    spec::Member m = member_before(v, group, degree);
    const std::string err = spec::apply_whole(m, whole);
    if (v.at("result") != "applied") {
      ++refused;
      EXPECT_EQ(err, v.at("error"));
      EXPECT_EQ(m.epoch, num(v, "epoch_before"));  // nothing changed
      continue;
    }
    ++applied;
    ASSERT_EQ(err, "");
    EXPECT_EQ(m.leaf, num(v, "leaf_after"));
    EXPECT_BYTES(bytes(v, "path_after"), spec::path_bytes(m.path));
    EXPECT_BYTES(bytes(v, "net_key"), m.net_key);
    int rewrapped = 0;
    for (const spec::Entry& e : entries) {
      const Bytes* key = nullptr;
      const Bytes* wrapping = nullptr;
      const Bytes leaf = spec::leaf_key(m.secret);
      if (e.wrapper == m.leaf) wrapping = &leaf;
      for (const auto& k : m.path) {
        if (k.node == e.node) key = &k.key;
        if (k.node == e.wrapper) wrapping = &k.key;
      }
      if (key == nullptr || wrapping == nullptr) continue;
      EXPECT_BYTES(e.ciphertext, spec::wrap(*key, *wrapping, group, epoch, e.node, e.wrapper));
      ++rewrapped;
    }
    EXPECT_EQ(rewrapped > 0, kind == 0);
  }
  EXPECT_EQ(applied, expect_applied);
  EXPECT_EQ(refused, expect_refused);
}

TEST_F(Conformance, RekeyWhole) { check_whole_file("rekey_whole.json", 0, 2, 1); }

// LKH+: nk-fwdky for every held node, nk-split for each node a member was split under
// (bob twice in one batch: nodes 5 and 2, with their node ids).
TEST_F(Conformance, RekeyHashForward) { check_whole_file("rekey_hash_forward.json", 1, 3, 0); }

TEST_F(Conformance, Resync) {
  int checked = 0;
  for (const Vector& v : load_vectors("welcome.json")) {
    if (v.at("case") != "resync") continue;
    ++checked;
    spec::Member m = member_before(v, num(v, "group_id"), 2);
    check_path_message(m, v, bytes(v, "resync"), 3);
  }
  EXPECT_EQ(checked, 1);
}

TEST_F(Conformance, RekeySlice) {
  int checked = 0;
  for (const Vector& v : load_vectors("rekey_slice.json")) {
    SCOPED_TRACE(v.at("subject"));
    ++checked;
    const uint64_t group = num(v, "group_id");
    spec::Member m = member_before(v, group, 2);
    const Bytes msg = bytes(v, "slice");
    check_sealed(m, v, msg, 1);
    // The plaintext RekeyBody, rebuilt in the reference encoding.
    const Bytes plain = bytes(v, "plaintext");
    const auto* b = flatbuffers::GetRoot<w::RekeyBody>(plain.data());
    std::vector<spec::Move> moves;
    for (const auto* mv : *b->moves()) moves.push_back({mv->from(), mv->to()});
    std::vector<spec::PathKey> keys;
    for (const auto* k : *b->path_keys()) keys.push_back({k->node(), Bytes(k->key()->begin(), k->key()->end())});
    EXPECT_BYTES(plain, spec::encode_slice_body(group, num(v, "epoch"), static_cast<uint8_t>(b->kind()), 2, moves, keys));
    ASSERT_EQ(spec::apply_sealed(m, msg), "");
    EXPECT_EQ(m.leaf, num(v, "leaf_after"));
    EXPECT_EQ(m.epoch, num(v, "epoch_after"));
    EXPECT_BYTES(bytes(v, "path_after"), spec::path_bytes(m.path));
    EXPECT_BYTES(bytes(v, "net_key"), m.net_key);
  }
  EXPECT_EQ(checked, 2);
}

// The spec client is not vacuous: it refuses what PROTOCOL.md says to refuse.
TEST_F(Conformance, SpecClientRefusesTamperedRekeys) {
  const auto all = load_vectors("rekey_whole.json");
  const Bytes whole = bytes(all.at(0), "whole");
  const Vector& alice = all.at(1);
  const uint64_t group = num(all.at(0), "group_id");
  Bytes bad_sig = whole;
  bad_sig[bad_sig.size() - 5] ^= 1;  // inside the signature (the last vector)
  spec::Member m = member_before(alice, group, 2);
  EXPECT_EQ(spec::apply_whole(m, bad_sig), "bad_signature");
  EXPECT_EQ(spec::apply_whole(m, Bytes(whole.begin(), whole.begin() + 20)), "malformed");
  spec::Member other_group = member_before(alice, group + 1, 2);
  EXPECT_EQ(spec::apply_whole(other_group, whole), "wrong_group");
  const auto slices = load_vectors("rekey_slice.json");
  const Vector& s = slices.at(0);
  Bytes slice = bytes(s, "slice");
  slice[slice.size() - 20] ^= 1;  // inside the ciphertext
  spec::Member ms = member_before(s, group, 2);
  EXPECT_EQ(spec::apply_sealed(ms, slice), "bad_tag");
  EXPECT_EQ(ms.epoch, num(s, "epoch_before"));
  // A Slice whose (authenticated) header names another epoch than its body.
  const uint64_t seq = num(s, "seq"), epoch = num(s, "epoch") + 1;
  const Bytes ct = spec::aead_seal(spec::kChaCha, spec::unicast_key(ms.secret), spec::sealed_nonce(1, seq),
                                   spec::sealed_ad(group, epoch, ms.id, seq, 1), bytes(s, "plaintext"));
  EXPECT_EQ(spec::apply_sealed(ms, spec::encode_sealed(group, epoch, ms.id, seq, 1, ct)), "malformed");
  EXPECT_EQ(ms.epoch, num(s, "epoch_before"));
}

void check_traffic(const std::string& file) {
  const Bytes root_public = bytes(group_record(), "root_public_key");
  int checked = 0;
  for (const Vector& v : load_vectors(file)) {
    SCOPED_TRACE(file + " type " + v.at("type") + " seq " + v.at("seq"));
    ++checked;
    const auto suite = static_cast<spec::Suite>(num(v, "suite"));
    const Bytes net = bytes(v, "net_key");
    const auto sender = static_cast<uint16_t>(num(v, "sender"));
    EXPECT_BYTES(bytes(v, "sender_key"), spec::traffic_key(net, sender));
    EXPECT_BYTES(bytes(v, "nonce"), spec::traffic_nonce(suite, static_cast<uint32_t>(num(v, "seq"))));
    const auto type = static_cast<uint8_t>(num(v, "type"));
    EXPECT_EQ(num(v, "group_id"), num(group_record(), "group_id"));
    const Bytes packet = spec::traffic_packet(suite, num(v, "group_id"), num(v, "epoch"), net, type, sender,
                                              static_cast<uint32_t>(num(v, "seq")), bytes(v, "payload"),
                                              type == 3 ? bytes(v, "root_seed") : Bytes{});
    EXPECT_BYTES(bytes(v, "packet"), packet);
    EXPECT_EQ(packet.size(), bytes(v, "payload").size() + 24 + (type == 3 ? 64 : 0));
    auto opened = spec::traffic_open(suite, num(v, "group_id"), net, bytes(v, "packet"), root_public);
    ASSERT_TRUE(opened.has_value());
    EXPECT_BYTES(bytes(v, "payload"), *opened);
    Bytes tampered = bytes(v, "packet");
    tampered[1] ^= 1;  // the epoch byte is authenticated
    EXPECT_FALSE(spec::traffic_open(suite, num(v, "group_id"), net, tampered, root_public).has_value());
    if (type == 3) {
      // A signature without the "netkey-bcast-v1" label (over le64(group) || bytes) is refused.
      Bytes unlabelled = bytes(v, "packet");
      const Bytes sealed(unlabelled.begin(), unlabelled.end() - 64);
      const Bytes sig = spec::ed25519_sign(bytes(v, "root_seed"), spec::le(num(v, "group_id"), 8) + sealed);
      std::copy(sig.begin(), sig.end(), unlabelled.end() - 64);
      EXPECT_FALSE(spec::traffic_open(suite, num(v, "group_id"), net, unlabelled, root_public).has_value());
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST_F(Conformance, TrafficChaCha20Poly1305) { check_traffic("traffic.json"); }

// Private messages of both directions and a team broadcast, from the spec alone.
TEST_F(Conformance, PrivateMessagesAndTeamBroadcasts) {
  int privates = 0, teams = 0;
  for (const Vector& v : load_vectors("traffic_classes.json")) {
    SCOPED_TRACE(v.at("case") + " type " + v.at("type"));
    const auto suite = static_cast<spec::Suite>(num(v, "suite"));
    const uint64_t group = num(v, "group_id"), epoch = num(v, "epoch");
    const auto type = static_cast<uint8_t>(num(v, "type"));
    const auto seq = static_cast<uint32_t>(num(v, "seq"));
    EXPECT_EQ(group, num(group_record(), "group_id"));
    EXPECT_BYTES(bytes(v, "nonce"), spec::traffic_nonce(suite, seq));
    Bytes key;
    uint16_t sender = 0;
    if (v.at("case") == "private") {
      ++privates;
      ASSERT_TRUE(type == 5 || type == 6);
      sender = static_cast<uint16_t>(num(v, "member"));
      // The member secret is that member's own, from the Welcome vectors.
      int found = 0;
      for (const Vector& w : load_vectors("welcome.json")) {
        if (w.count("member_secret") && w.count("member_id") && num(w, "member_id") == sender) {
          EXPECT_EQ(w.at("member_secret"), v.at("member_secret"));
          ++found;
        }
      }
      EXPECT_GT(found, 0);
      const Bytes base = spec::private_base(bytes(v, "member_secret"));
      EXPECT_BYTES(bytes(v, "private_base"), base);
      key = spec::private_key(base, epoch, type);
      // The other direction's key and the next epoch's key differ from this one.
      EXPECT_NE(key, spec::private_key(base, epoch, type == 5 ? 6 : 5));
      EXPECT_NE(key, spec::private_key(base, epoch + 1, type));
    } else {
      ++teams;
      ASSERT_EQ(type, 4);
      sender = static_cast<uint16_t>(num(v, "team"));
      key = bytes(v, "team_key");
    }
    if (v.at("case") == "private") {
      EXPECT_BYTES(bytes(v, "key"), key);
    }
    const Bytes packet = spec::keyed_packet(suite, group, epoch, key, type, sender, seq, bytes(v, "payload"));
    EXPECT_BYTES(bytes(v, "packet"), packet);
    EXPECT_EQ(packet.size(), bytes(v, "payload").size() + 24);
    auto opened = spec::keyed_open(suite, group, key, type, sender, bytes(v, "packet"));
    ASSERT_TRUE(opened.has_value());
    EXPECT_BYTES(bytes(v, "payload"), *opened);
    // Refused: another member id or team (step "sender"), the other direction's type,
    // a tampered epoch byte (authenticated).
    EXPECT_FALSE(spec::keyed_open(suite, group, key, type, static_cast<uint16_t>(sender + 1), packet).has_value());
    Bytes other_type = packet;
    other_type[0] = static_cast<uint8_t>(0x10 | (type == 5 ? 6 : 5));
    EXPECT_FALSE(spec::keyed_open(suite, group, key, static_cast<uint8_t>(other_type[0] & 0x0f), sender, other_type)
                     .has_value());
    Bytes tampered = packet;
    tampered[1] ^= 1;
    EXPECT_FALSE(spec::keyed_open(suite, group, key, type, sender, tampered).has_value());
  }
  EXPECT_EQ(privates, 2);
  EXPECT_EQ(teams, 1);
}
TEST_F(Conformance, TrafficXChaCha20Poly1305) { check_traffic("traffic_xchacha20poly1305.json"); }
TEST_F(Conformance, TrafficAes256Gcm) {
  // libsodium 1.0.18 has AES-256-GCM only with AES-NI; the runtime refuses the suite
  // without it too (crypto_test covers that refusal).
  if (!crypto_aead_aes256gcm_is_available()) GTEST_SKIP() << "no AES-NI on this CPU: suite 2 cannot run here";
  check_traffic("traffic_aes256gcm.json");
}

}  // namespace
