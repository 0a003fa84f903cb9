// fuzz_seeds DIR: writes seed corpora of real messages for every fuzz target into
// DIR/<target>/, taken from a real Root/Participant exchange (fuzz_group.h Joined: the
// same deterministic world the targets build), and checks that each seed meant to get
// all the way through still does: a seed that no longer does would leave the fuzzer at
// the front door, so fuzz_seeds then fails.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_group.h"
#include "fuzz_world.h"
#include "netkey/keyfile.h"
#include "netkey/list_controller.h"
#include "netkey/private_channel.h"
#include "netkey/traffic.h"
#include "netkey/wire/charter_generated.h"
#include "netkey/wire/rekey_generated.h"
#include "netkey/x25519.h"
#include "src/group/messages.h"

namespace fs = std::filesystem;
using namespace netkey;
using netkey::fuzz::Joined;

namespace {

using Harness = bool (*)(std::span<const uint8_t>);

std::string g_dir;
int g_count = 0;
int g_shallow = 0;

void put(const std::string& target, std::span<const uint8_t> bytes) {
  fs::create_directories(g_dir + "/" + target);
  std::ofstream f(g_dir + "/" + target + "/seed" + std::to_string(g_count++), std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Writes a seed and checks that it gets all the way through `run` (fuzz_world.h).
void put_deep(const std::string& target, std::span<const uint8_t> bytes, Harness run) {
  put(target, bytes);
  if (!run(bytes)) {
    std::fprintf(stderr, "fuzz_seeds: a %s seed (#%d) no longer reaches the parser behind its check\n",
                 target.c_str(), g_count - 1);
    ++g_shallow;
  }
}

std::vector<uint8_t> prefixed(uint8_t first, std::span<const uint8_t> rest) {
  std::vector<uint8_t> out = {first};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<uint8_t> frame(uint8_t door, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out;
  fuzz::append_frame(out, door, bytes);
  return out;
}

const demo::Identity& identity(size_t i) { return *fuzz::all_identities().at(i); }
const demo::Identity& lc() { return identity(1); }
const demo::Identity& p1() { return identity(3); }
const demo::Identity& p2() { return identity(4); }

// fuzz_participant_control's first byte: stage (0 started, 1 cookie, 2 welcomed) and door
// (0 datagram, 1 control, 2 rekey, 3 traffic).
uint8_t pc(uint8_t stage, uint8_t door) { return static_cast<uint8_t>(stage + 3 * door); }

void parsers() {
  put_deep("charter", fuzz::charter(), fuzz::run_charter);
  put_deep("certificate", p1().certificate, fuzz::run_certificate);
  const std::string ca_file = encode_ca_public_file("ca", fuzz::ids().ca().public_key());
  put_deep("keyfile", std::vector<uint8_t>(ca_file.begin(), ca_file.end()), fuzz::run_keyfile);
  // fuzz_cookie reads the first half as the address, the second as the cookie.
  DeterministicRng crng(7);
  SymmetricKey cs = crng.symmetric_key();
  std::string addr = "127.0.0.1:40000";
  addr.resize(detail::kCookieSize, '#');
  auto cookie = detail::make_cookie(cs, addr, 4'000'000'000);
  std::vector<uint8_t> seed(addr.begin(), addr.end());
  seed.insert(seed.end(), cookie.begin(), cookie.end());
  put_deep("cookie", seed, fuzz::run_cookie);
  put("cookie", *detail::encode_hello(fuzz::kSession));
}

// The Root's doors, a second client's handshake, and what p1 receives in a group
// (root_control, participant_control, handshake_response).
void group() {
  Joined w;
  put_deep("handshake_response", w.response, fuzz::run_handshake_response);
  put_deep("participant_control", prefixed(pc(1, 0), w.response), fuzz::run_participant_control);
  put_deep("participant_control", prefixed(pc(0, 0), *detail::encode_cookie(std::vector<uint8_t>(40, 7))),
           fuzz::run_participant_control);
  put("participant_control", prefixed(pc(0, 0), *detail::encode_refusal(RefusalReason::kGroupFull)));
  put("participant_control", prefixed(pc(2, 2), w.welcome));  // stale: p1 holds epoch 1

  // A second client's whole handshake (Hello, Init, Finish), then a broadcast and the
  // batch's commit, as p1 receives them.
  const std::vector<uint8_t> frames = fuzz::second_client_frames(w, p2());
  put_deep("root_control", frames, fuzz::run_root_control);
  for (size_t at = 0; at + 3 <= frames.size();) {
    const size_t n = static_cast<size_t>(frames[at + 1] | frames[at + 2] << 8);
    put("root_control", std::span<const uint8_t>(frames).subspan(at, 3 + n));
    put("root_control", frame(fuzz::kDoorDatagram | 4, std::span<const uint8_t>(frames).subspan(at + 3, n)));
    at += 3 + n;
  }
  (void)w.root->broadcast(std::vector<uint8_t>(100, 7), w.now);
  w.root->flush(w.now);
  while (auto t = w.root->poll_transmit()) {
    if (t->bytes->empty() || t->to != Transmit::To::kAllMembers) continue;
    const uint8_t door = t->channel == Channel::kRekey ? 2 : 3;
    put_deep("participant_control", prefixed(pc(2, door), *t->bytes), fuzz::run_participant_control);
  }
  // Refused handshakes: not on the ACL, expired, clearance 0.
  for (size_t i : {5, 6, 7}) {
    Joined other;
    put("root_control", fuzz::second_client_frames(other, identity(i)));
  }

}

// Authenticated control both ways, sealed under p1's control key in fresh worlds (seq 1),
// and ACL updates through the trusted channel.
void member_control() {
  Joined w;
  const auto resync = *detail::encode_resync_request(1);
  const auto leave = *detail::encode_leave(w.member);
  const auto removed = *detail::encode_refusal(RefusalReason::kRemoved);
  const auto not_on_acl = *detail::encode_refusal(RefusalReason::kNotOnAcl);
  put_deep("root_control", frame(fuzz::kDoorMember, *Joined().seal_to_root(resync)), fuzz::run_root_control);
  put_deep("root_control", frame(fuzz::kDoorMember, *Joined().seal_to_root(leave)), fuzz::run_root_control);
  put_deep("participant_control", prefixed(pc(2, 1), *Joined().seal_to_member(removed)),
           fuzz::run_participant_control);
  put_deep("authenticated", prefixed(0, resync), fuzz::run_authenticated);
  put_deep("authenticated", prefixed(0, leave), fuzz::run_authenticated);
  put_deep("authenticated", prefixed(1, removed), fuzz::run_authenticated);
  put_deep("authenticated", prefixed(1, not_on_acl), fuzz::run_authenticated);

  // ACL updates through the trusted channel: an addition, and a security removal of p1,
  // whose Authenticated Refusal from the Root is a participant_control seed.
  ListController add(fuzz::kSession, w.group, lc().seed, lc().certificate);
  put_deep("root_control", frame(fuzz::kDoorAcl, **add.add({"p3"})), fuzz::run_root_control);
  ListController remove(fuzz::kSession, w.group, lc().seed, lc().certificate);
  const auto removal = *remove.remove({"p1"}).value();
  put_deep("root_control", frame(fuzz::kDoorAcl, removal), fuzz::run_root_control);
  Joined r;
  NETKEY_CHECK(r.root->submit_acl_update(removal, r.now).is_ok());
  while (auto t = r.root->poll_transmit()) {
    if (t->to == Transmit::To::kPeer && t->channel == Channel::kControl && !t->bytes->empty()) {
      put_deep("participant_control", prefixed(pc(2, 1), *t->bytes), fuzz::run_participant_control);
    }
  }
}

// HandshakeInits with real certificates: le16(n) || certificate || ephemeral || Finish.
void handshake_init() {
  DeterministicRng rng(11);
  for (size_t i : {3, 4, 5, 6, 7, 1}) {  // p1, p2 get through; p3, expired, clearance 0, lc do not
    const demo::Identity& id = identity(i);
    X25519Secret eph;
    rng.fill(eph.mutable_bytes());
    const X25519PublicKey pub = X25519KeyPair::from_secret(eph.clone()).public_key();
    std::vector<uint8_t> seed = {static_cast<uint8_t>(id.certificate.size()),
                                 static_cast<uint8_t>(id.certificate.size() >> 8)};
    seed.insert(seed.end(), id.certificate.begin(), id.certificate.end());
    seed.insert(seed.end(), pub.bytes.begin(), pub.bytes.end());
    const auto response = fuzz::handshake_init_response(id.certificate, pub);
    if (response.empty()) {
      put("handshake_init", seed);
      continue;
    }
    put_deep("handshake_init", seed, fuzz::run_handshake_init);
    const auto finish = fuzz::finish_for(response, id.certificate, id.seed, eph);
    seed.insert(seed.end(), finish.begin(), finish.end());
    put_deep("handshake_init", seed, fuzz::run_handshake_init);
  }
}

// ACL update bodies for a fresh Root, and the charter's body.
void signed_bodies() {
  const uint64_t group = fuzz::fresh_root()->group_id();
  ListController first(fuzz::kSession, group, lc().seed, lc().certificate);
  ListController other(fuzz::kSession, group, lc().seed, lc().certificate);
  for (const auto& u : {*first.add({"p3", "p4"}).value(), *other.remove({"p2"}).value()}) {
    auto c = detail::parse_control(u);
    const auto* body = c->msg->body_as_AclUpdate()->body();
    put_deep("acl_update", std::vector<uint8_t>(body->begin(), body->end()), fuzz::run_acl_update);
  }
  std::vector<uint8_t> copy = fuzz::charter();
  const auto* ch = flatbuffers::GetRoot<wire::Charter>(copy.data());
  put_deep("charter_body", std::vector<uint8_t>(ch->body()->begin(), ch->body()->end()), fuzz::run_charter_body);
}

// Rekeys of every encoding for the fuzz member (group 7, member 1), whole and as the
// bodies behind the signature or the tag (fuzz_sealed_body's first byte: % 3 the kind,
// 0 Slice, 1 Welcome, 2 Resync; / 3 % 2 a fresh member; / 6 % 2 its charter has 2 teams).
void rekeys() {
  fuzz::FuzzMember fm;
  put("rekey", fm.welcome);  // epoch 1 again: stale for the welcomed member
  Batch l;
  l.leaves = {5};
  auto plan = fm.tree.commit(std::move(l), fm.rng).value();
  const auto whole = encode_whole(plan, fm.root);
  put_deep("rekey", whole, fuzz::run_rekey);
  {
    const auto* w = flatbuffers::GetRoot<wire::RekeyWhole>(whole.data());
    put_deep("whole_body", std::vector<uint8_t>(w->body()->begin(), w->body()->end()), fuzz::run_whole_body);
  }
  const auto slice = SliceEncoder(plan).encode(fm.tree, 1).value();
  const auto resync = encode_resync(fm.tree, 1).value();
  put_deep("rekey", slice, fuzz::run_rekey);
  put_deep("rekey", resync, fuzz::run_rekey);
  for (uint8_t kind : {0, 1, 2}) {
    put_deep("sealed_body", prefixed(kind, fuzz::open_sealed(fm.secret, kind == 0 ? slice : resync)),
             fuzz::run_sealed_body);
  }
  fuzz::FuzzMember first;  // the Welcome's plaintext, for a fresh member
  put_deep("sealed_body", prefixed(4, fuzz::open_sealed(first.secret, first.welcome)), fuzz::run_sealed_body);
  put_deep("sealed_body", prefixed(10, fuzz::open_sealed(first.secret, first.welcome)), fuzz::run_sealed_body);
}

// Traffic of every type, for fuzz_traffic's receivers (group 9, DeterministicRng(6)).
void traffic() {
  TrafficConfig c;
  c.group_id = 9;
  DeterministicRng trng(6);
  SymmetricKey net1 = trng.symmetric_key();
  trng.symmetric_key();
  SigningKey troot = SigningKey::generate(trng);
  SymmetricKey team1 = trng.symmetric_key();
  auto rs = TrafficSender::create(c, kRootSender).value();
  rs.set_epoch(1, net1);
  put_deep("traffic", rs.seal(std::vector<uint8_t>(64, 1)).value(), fuzz::run_traffic);
  std::vector<uint8_t> sig(200);
  const size_t n = rs.seal_signed(std::vector<uint8_t>(8, 2), sig, troot).value();
  put_deep("traffic", std::span<const uint8_t>(sig.data(), n), fuzz::run_traffic);
  auto ms = TrafficSender::create(c, 3).value();
  ms.set_epoch(1, net1);
  put_deep("traffic", ms.seal(std::vector<uint8_t>(16, 3)).value(), fuzz::run_traffic);
  auto ts = TeamSender::create(c).value();
  ts.set_epoch(1);
  ts.set_team_key(1, team1);
  std::vector<uint8_t> team(64);
  team.resize(ts.seal(1, std::vector<uint8_t>(40, 4), team).value());
  put_deep("traffic", team, fuzz::run_traffic);
}

// A packet of each direction for fuzz_private_channel's member 7 (group 9).
void private_channel() {
  TrafficConfig c;
  c.group_id = 9;
  for (PrivateSide side : {PrivateSide::kRoot, PrivateSide::kMember}) {
    auto ch = PrivateChannel::create(c, fuzz::kPrivateFuzzMember, side).value();
    ch.set_epoch(1, fuzz::private_fuzz_base(), 0);
    put_deep("private_channel", ch.seal(std::vector<uint8_t>(32, 5)).value(), fuzz::run_private_channel);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  g_dir = argv[1];
  parsers();
  group();
  member_control();
  handshake_init();
  signed_bodies();
  rekeys();
  traffic();
  private_channel();
  std::printf("fuzz_seeds: %d seeds in %s, %d shallow\n", g_count, g_dir.c_str(), g_shallow);
  return g_shallow == 0 ? 0 : 1;
}
