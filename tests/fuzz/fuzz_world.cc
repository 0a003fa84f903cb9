#include "fuzz_world.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "netkey/charter.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/wire/charter_generated.h"
#include "netkey/wire/rekey_generated.h"
#include "src/group/messages.h"
#include "src/keytree/sealed.h"

namespace netkey::fuzz {

namespace {

// Identities are issued lazily from one Rng, so the order of first use decides every
// key: issue them all here, in a fixed order, so that every process agrees.
struct World {
  demo::Identities ids{3};
  std::vector<uint8_t> charter;
  World() {
    charter = ids.charter(demo::Identities::default_fields(kSession), {"p1", "p2"});
    ids.get("p1");
    ids.get("p2");
  }
};

World& world() {
  static World w;
  return w;
}

}  // namespace

demo::Identities& ids() { return world().ids; }

const std::vector<uint8_t>& charter() { return world().charter; }

FuzzMember::FuzzMember() : rng(5), root(SigningKey::generate(rng)), secret(rng.symmetric_key()), tree(kGroup, TreePolicy{}) {
  Batch b;
  b.joins.push_back({kId, secret.clone()});
  for (MemberId id = 2; id < 20; ++id) b.joins.push_back({id, rng.symmetric_key()});
  (void)tree.commit(std::move(b), rng);
  welcome = encode_welcome(tree, kId).value();
}

MemberKeys welcomed(const FuzzMember& m) {
  MemberKeys k(FuzzMember::kGroup, FuzzMember::kId, m.secret, m.root.public_key());
  (void)k.apply(m.welcome);
  return k;
}

std::vector<uint8_t> signed_whole(const SigningKey& root, std::span<const uint8_t> body) {
  std::vector<uint8_t> msg(sizeof(detail::kRekeySigLabel) + body.size());
  std::memcpy(msg.data(), detail::kRekeySigLabel, sizeof(detail::kRekeySigLabel));
  if (!body.empty()) std::memcpy(msg.data() + sizeof(detail::kRekeySigLabel), body.data(), body.size());
  const Ed25519Signature sig = root.sign(msg);
  flatbuffers::FlatBufferBuilder b;
  auto bv = b.CreateVector(body.data(), body.size());
  auto sv = b.CreateVector(sig.bytes.data(), sig.bytes.size());
  b.Finish(wire::CreateRekeyWhole(b, bv, sv), detail::kWholeId);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::vector<uint8_t> sealed(const SymmetricKey& secret, uint64_t group, uint64_t epoch, MemberId id, uint64_t seq,
                            SealedKind kind, std::span<const uint8_t> plaintext) {
  flatbuffers::FlatBufferBuilder b;
  return detail::build_sealed(b, MemberDerivedKeys::from_secret(secret).unicast,
                              detail::SealedHeader{group, epoch, id, seq, kind}, plaintext);
}

std::vector<uint8_t> open_sealed(const SymmetricKey& secret, std::span<const uint8_t> message) {
  const auto* s = flatbuffers::GetRoot<wire::Sealed>(message.data());
  auto plain = detail::open_sealed(MemberDerivedKeys::from_secret(secret).unicast, detail::header_of(*s),
                                   {s->ciphertext()->data(), s->ciphertext()->size()});
  return plain ? std::move(plain).value() : std::vector<uint8_t>{};
}

namespace {

const FuzzMember& member() {
  static const FuzzMember m;
  return m;
}

std::unique_ptr<Root> fresh_root() {
  auto root = Root::create(ids().root_config(charter(), demo::kSimUnixTime), std::make_unique<DeterministicRng>(9), 0);
  return root ? std::make_unique<Root>(std::move(root).value()) : nullptr;
}

void drain(Root& root) {
  while (root.poll_transmit()) {
  }
  while (root.poll_event()) {
  }
}

}  // namespace

bool run_whole_body(std::span<const uint8_t> body) {
  MemberKeys keys = welcomed(member());
  return keys.apply_whole(signed_whole(member().root, body)).is_ok();
}

bool run_sealed_body(std::span<const uint8_t> input) {
  if (input.empty()) return false;
  const auto kind = static_cast<SealedKind>(1 + input[0] % 3);
  MemberKeys keys = welcomed(member());
  return keys
      .apply_sealed(sealed(member().secret, FuzzMember::kGroup, keys.epoch() + 1, FuzzMember::kId, 1000, kind,
                           input.subspan(1)))
      .is_ok();
}

bool run_acl_update(std::span<const uint8_t> body) {
  static const demo::Identity& lc = ids().get("lc", Role::kListController, 9);
  static const SigningKey key = SigningKey::from_seed(lc.seed);
  auto root = fresh_root();  // sequence number 1 is always the next one
  if (!root) return false;
  root->handle_control(1, "lc:1", *detail::encode_acl_update(body, key.sign(detail::acl_message(body)), lc.certificate),
                       1'000'000);
  root->handle_timeout(2'000'000);
  drain(*root);
  return root->stats().acl_updates_applied == 1;
}

bool run_charter_body(std::span<const uint8_t> body) {
  static const demo::Identity& init = ids().get("lobby", Role::kInitiator, 9);
  static const SigningKey key = SigningKey::from_seed(init.seed);
  static constexpr char kLabel[] = "netkey-charter-v1";  // signed with its NUL
  std::vector<uint8_t> msg(sizeof(kLabel) + body.size());
  std::memcpy(msg.data(), kLabel, sizeof(kLabel));
  if (!body.empty()) std::memcpy(msg.data() + sizeof(kLabel), body.data(), body.size());
  const Ed25519Signature sig = key.sign(msg);
  flatbuffers::FlatBufferBuilder b;
  auto bv = b.CreateVector(body.data(), body.size());
  auto sv = b.CreateVector(sig.bytes.data(), sig.bytes.size());
  auto cv = b.CreateVector(init.certificate);
  b.Finish(wire::CreateCharter(b, bv, sv, cv), "NKCH");
  return verify_charter({b.GetBufferPointer(), b.GetSize()}, ids().ca().public_key(), demo::kSimUnixTime).is_ok();
}

// Input: le16(n) || certificate (n bytes) || ephemeral (32) || the next control message.
bool run_handshake_init(std::span<const uint8_t> in) {
  if (in.size() < 2) return false;
  static const auto charter_digest = charter_hash(charter());
  auto root = fresh_root();
  if (!root) return false;
  uint64_t now = 1'000'000;
  root->handle_control(1, "fuzz:1", *detail::encode_hello(kSession), now);
  std::vector<uint8_t> cookie;
  while (auto t = root->poll_transmit()) {
    auto c = detail::parse_control(*t->bytes);
    if (c && c->msg->body_as_CookieChallenge() && c->msg->body_as_CookieChallenge()->cookie()) {
      const auto* v = c->msg->body_as_CookieChallenge()->cookie();
      cookie.assign(v->begin(), v->end());
    }
  }
  const size_t n = std::min<size_t>(static_cast<size_t>(in[0] | in[1] << 8), in.size() - 2);
  size_t at = 2 + n;
  X25519PublicKey eph;
  const size_t e = std::min<size_t>(32, in.size() - at);
  if (e) std::memcpy(eph.bytes.data(), in.data() + at, e);
  at += e;
  root->handle_control(1, "fuzz:1",
                       *detail::encode_handshake_init(cookie, kSession, charter_digest, in.subspan(2, n), eph),
                       now += 1'000'000);
  bool answered = false;
  while (auto t = root->poll_transmit()) {
    auto c = detail::parse_control(*t->bytes);
    answered = answered || (c && c->msg->body_as_HandshakeResponse() != nullptr);
  }
  if (at < in.size()) root->handle_control(1, "fuzz:1", in.subspan(at), now += 1'000'000);
  root->flush(now);
  root->handle_timeout(now += 20'000'000'000);
  drain(*root);
  return answered;
}

// The client is seeded like fuzz_seeds' client (DeterministicRng(4)), so a real response
// from the seeds verifies. The cookie is not in the transcript: any 40 bytes do.
bool run_handshake_response(std::span<const uint8_t> in) {
  static const std::vector<uint8_t> challenge = *detail::encode_cookie(std::vector<uint8_t>(detail::kCookieSize, 0x11));
  auto p = Participant::create(ids().participant_config(ids().get("p1"), charter(), demo::kSimUnixTime),
                               std::make_unique<DeterministicRng>(4), 0);
  if (!p) return false;
  p->start(0);
  p->handle_control(challenge, 1'000'000);
  p->handle_control(in, 2'000'000);
  while (p->poll_transmit()) {
  }
  while (p->poll_event()) {
  }
  return p->state() == Participant::State::kHandshake;
}

}  // namespace netkey::fuzz
