#include "fuzz_world.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "fuzz_invariants.h"
#include "netkey/charter.h"
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
  std::vector<const demo::Identity*> all;
  World() {
    charter = ids.charter(demo::Identities::default_fields(kSession), {"p1", "p2"});
    all = {&ids.get("root", Role::kRoot, 9), &ids.get("lc", Role::kListController, 9),
           &ids.get("lobby", Role::kInitiator, 9), &ids.get("p1"), &ids.get("p2"),
           // Refused ones, for the handshake seeds: not on the ACL, expired, clearance 0.
           &ids.get("p3"), &ids.get("p1", Role::kParticipant, 1, true), &ids.get("p2", Role::kParticipant, 0)};
  }
};

World& world() {
  static World w;
  return w;
}

}  // namespace

demo::Identities& ids() { return world().ids; }

const std::vector<uint8_t>& charter() { return world().charter; }

const std::vector<const demo::Identity*>& all_identities() { return world().all; }

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

// Applies `message` with `apply` and checks all or nothing: on any error the member's
// epoch, membership, leaf, net key and path keys are as before.
template <class Apply>
bool apply_checked(MemberKeys& keys, Apply apply, const char* what) {
  const KeysSnapshot before = snapshot(keys);
  const Status s = apply(keys);
  require_unchanged(!s.is_ok(), before, snapshot(keys), what);
  return s.is_ok();
}

void drain(Root& root) {
  while (root.poll_transmit()) {
  }
  while (root.poll_event()) {
  }
}

}  // namespace

std::unique_ptr<Root> fresh_root() {
  auto root = Root::create(ids().root_config(charter(), demo::kSimUnixTime), std::make_unique<DeterministicRng>(9), 0);
  return root ? std::make_unique<Root>(std::move(root).value()) : nullptr;
}

const std::array<uint8_t, 32>& charter_digest() {
  static const auto digest = charter_hash(charter());
  return digest;
}

bool run_whole_body(std::span<const uint8_t> body) {
  MemberKeys keys = welcomed(member());
  const auto whole = signed_whole(member().root, body);
  return apply_checked(keys, [&](MemberKeys& k) { return k.apply_whole(whole); }, "a Whole");
}

// Input: a byte that picks the kind (% 3: Slice, Welcome, Resync), the member (/ 3 % 2:
// welcomed at epoch 1, or fresh) and, for a fresh one, its charter's team count (/ 6 % 2:
// none, or 2, so a Welcome's leaf must lie under node 1 or 2), then the plaintext. The
// header names the member's next epoch.
bool run_sealed_body(std::span<const uint8_t> input) {
  if (input.empty()) return false;
  const auto kind = static_cast<SealedKind>(1 + input[0] % 3);
  const bool fresh = input[0] / 3 % 2 == 1;
  const uint8_t teams = input[0] / 6 % 2 == 1 ? 2 : 0;
  MemberKeys keys = fresh ? MemberKeys(FuzzMember::kGroup, FuzzMember::kId, member().secret, member().root.public_key(),
                                       teams)
                          : welcomed(member());
  const auto message = sealed(member().secret, FuzzMember::kGroup, keys.epoch() + 1, FuzzMember::kId, 1000, kind,
                              input.subspan(1));
  return apply_checked(keys, [&](MemberKeys& k) { return k.apply_sealed(message); }, "a sealed message");
}

// The envelopes: each entry point in turn on a welcomed member, all or nothing each.
bool run_rekey(std::span<const uint8_t> input) {
  bool applied = false;
  MemberKeys a = welcomed(member()), w = welcomed(member()), s = welcomed(member());
  applied |= apply_checked(a, [&](MemberKeys& k) { return k.apply(input); }, "a rekey (apply)");
  applied |= apply_checked(w, [&](MemberKeys& k) { return k.apply_whole(input); }, "a rekey (apply_whole)");
  applied |= apply_checked(s, [&](MemberKeys& k) { return k.apply_sealed(input); }, "a rekey (apply_sealed)");
  return applied;
}

bool run_acl_update(std::span<const uint8_t> body) {
  static const demo::Identity& lc = ids().get("lc", Role::kListController, 9);
  static const SigningKey key = SigningKey::from_seed(lc.seed);
  auto root = fresh_root();  // sequence number 1 is always the next one
  if (!root) return false;
  const std::vector<std::string> addresses;
  const RootSnapshot before = snapshot(*root, addresses);
  const Status s = root->submit_acl_update(
      *detail::encode_acl_update(body, key.sign(detail::acl_message(body)), lc.certificate), 1'000'000);
  uint64_t outputs = 0;
  while (root->poll_transmit()) ++outputs;
  while (root->poll_event()) ++outputs;
  require_unchanged(!s.is_ok(), before, snapshot(*root, addresses, outputs), "an ACL update");
  root->handle_timeout(2'000'000);
  drain(*root);
  return s.is_ok() && root->stats().acl_updates_applied == 1;
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

}  // namespace netkey::fuzz
