// fuzz_seeds DIR: writes seed corpora of real messages for every fuzz target, taken
// from a real Root/Participant exchange, into DIR/<target>/.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/pki.h"
#include "fuzz_world.h"
#include "netkey/keyfile.h"
#include "netkey/list_controller.h"
#include "netkey/participant.h"
#include "netkey/rekey_codec.h"
#include "netkey/root.h"
#include "netkey/traffic.h"
#include "netkey/wire/charter_generated.h"
#include "netkey/wire/rekey_generated.h"
#include "src/group/messages.h"

namespace fs = std::filesystem;
using namespace netkey;

static std::string g_dir;
static int g_count = 0;

static void put(const std::string& target, std::span<const uint8_t> bytes) {
  fs::create_directories(g_dir + "/" + target);
  std::ofstream f(g_dir + "/" + target + "/seed" + std::to_string(g_count++), std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
// Writes a seed for a structure-aware target and checks that it gets all the way through
// (fuzz_world.h): a seed that no longer does would leave the fuzzer at the front door.
static int g_shallow = 0;
static void put_deep(const std::string& target, std::span<const uint8_t> bytes,
                     bool (*run)(std::span<const uint8_t>)) {
  put(target, bytes);
  if (!run(bytes)) {
    std::fprintf(stderr, "fuzz_seeds: a %s seed no longer reaches the parser behind its check\n", target.c_str());
    ++g_shallow;
  }
}
static void put_framed(const std::string& target, const std::vector<std::vector<uint8_t>>& msgs) {
  std::vector<uint8_t> out;
  for (const auto& m : msgs) {
    out.push_back(static_cast<uint8_t>(m.size()));
    out.push_back(static_cast<uint8_t>(m.size() >> 8));
    out.insert(out.end(), m.begin(), m.end());
  }
  put(target, out);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  g_dir = argv[1];
  demo::Identities& ids = fuzz::ids();
  const std::vector<uint8_t>& charter = fuzz::charter();
  put("charter", charter);
  put("certificate", ids.get("p1").certificate);
  const std::string ca_file = encode_ca_public_file("ca", ids.ca().public_key());
  put("keyfile", std::vector<uint8_t>(ca_file.begin(), ca_file.end()));

  // A real handshake, Welcome, rekeys and traffic.
  auto root = Root::create(ids.root_config(charter, demo::kSimUnixTime), std::make_unique<DeterministicRng>(9), 0).value();
  auto p = Participant::create(ids.participant_config(ids.get("p1"), charter, demo::kSimUnixTime),
                               std::make_unique<DeterministicRng>(4), 0).value();
  std::vector<std::vector<uint8_t>> to_root, to_client;
  p.start(0);
  uint64_t now = 1'000'000;
  for (int round = 0; round < 8; ++round, now += 100'000'000) {
    while (auto t = p.poll_transmit()) {
      to_root.push_back(*t->bytes);
      if (t->channel == Channel::kMember) root.handle_traffic(1, *t->bytes, now);
      else root.handle_control(1, "fuzz:1", *t->bytes, now);
    }
    root.handle_timeout(now);
    while (auto t = root.poll_transmit()) {
      if (t->bytes->empty()) continue;
      to_client.push_back(*t->bytes);
      if (t->channel == Channel::kControl) p.handle_control(*t->bytes, now);
      else if (t->channel == Channel::kRekey) p.handle_rekey(*t->bytes, now);
      else p.handle_traffic(*t->bytes, now);
    }
    if (round == 4) (void)root.broadcast(std::vector<uint8_t>(100, 7), now);
    if (round == 5) (void)p.send(std::vector<uint8_t>(20, 3), now);
  }
  for (const auto& m : to_root) put_framed("root_control", {m});
  put_framed("root_control", to_root);
  for (const auto& m : to_client) {
    put("participant_control", m);
    auto c = detail::parse_control(m);
    if (c && c->msg->body_as_HandshakeResponse()) put_deep("handshake_response", m, fuzz::run_handshake_response);
    put("rekey", m);
    put("traffic", m);
  }
  // The Init's certificate and ephemeral, and the Finish, for fuzz_handshake_init:
  // le16(n) || certificate || ephemeral || next message.
  for (const auto& m : to_root) {
    auto c = detail::parse_control(m);
    if (!c || c->msg->body_as_HandshakeInit() == nullptr) continue;
    const auto* init = c->msg->body_as_HandshakeInit();
    std::vector<uint8_t> seed = {static_cast<uint8_t>(init->certificate()->size()),
                                 static_cast<uint8_t>(init->certificate()->size() >> 8)};
    seed.insert(seed.end(), init->certificate()->begin(), init->certificate()->end());
    seed.insert(seed.end(), init->ephemeral()->begin(), init->ephemeral()->end());
    for (const auto& f : to_root) {
      auto fc = detail::parse_control(f);
      if (fc && fc->msg->body_as_HandshakeFinish()) seed.insert(seed.end(), f.begin(), f.end());
    }
    put_deep("handshake_init", seed, fuzz::run_handshake_init);
  }

  // ACL updates from the List Controller: whole messages, and bodies for fuzz_acl_update.
  const demo::Identity& lc = ids.get("lc", Role::kListController, 9);
  ListController list(fuzz::kSession, lc.seed, lc.certificate);
  ListController fresh(fuzz::kSession, lc.seed, lc.certificate);
  put_framed("root_control", {*list.add({"p3"}).value()});
  for (const auto& u : {*fresh.add({"p3", "p4"}).value(), *ListController(fuzz::kSession, lc.seed, lc.certificate)
                                                              .remove({"p2"}).value()}) {
    auto c = detail::parse_control(u);
    const auto* body = c->msg->body_as_AclUpdate()->body();
    put_deep("acl_update", std::vector<uint8_t>(body->begin(), body->end()), fuzz::run_acl_update);
  }
  // The charter's body, for fuzz_charter_body.
  {
    std::vector<uint8_t> copy = charter;
    const auto* ch = flatbuffers::GetRoot<wire::Charter>(copy.data());
    put_deep("charter_body", std::vector<uint8_t>(ch->body()->begin(), ch->body()->end()), fuzz::run_charter_body);
  }

  // Rekeys of every encoding for the fuzz member (group 7, member 1), whole and as the
  // bodies behind the signature or the tag (fuzz_whole_body, fuzz_sealed_body: a leading
  // byte picks the kind, 0 Slice, 1 Welcome, 2 Resync).
  fuzz::FuzzMember fm;
  put("rekey", fm.welcome);
  Batch l;
  l.leaves = {5};
  auto plan = fm.tree.commit(std::move(l), fm.rng).value();
  const auto whole = encode_whole(plan, fm.root);
  put("rekey", whole);
  {
    const auto* w = flatbuffers::GetRoot<wire::RekeyWhole>(whole.data());
    put_deep("whole_body", std::vector<uint8_t>(w->body()->begin(), w->body()->end()), fuzz::run_whole_body);
  }
  const auto slice = SliceEncoder(plan).encode(fm.tree, 1).value();
  const auto resync = encode_resync(fm.tree, 1).value();
  put("rekey", slice);
  put("rekey", resync);
  for (uint8_t kind : {0, 1, 2}) {
    std::vector<uint8_t> seed = {kind};
    const auto plain = fuzz::open_sealed(fm.secret, kind == 0 ? slice : resync);
    seed.insert(seed.end(), plain.begin(), plain.end());
    put_deep("sealed_body", seed, fuzz::run_sealed_body);
  }

  // Traffic of every type.
  TrafficConfig c;
  c.group_id = 9;
  DeterministicRng trng(6);
  SymmetricKey net1 = trng.symmetric_key();
  trng.symmetric_key();
  SigningKey troot = SigningKey::generate(trng);
  auto rs = TrafficSender::create(c, kRootSender).value();
  rs.set_epoch(1, net1);
  put("traffic", rs.seal(std::vector<uint8_t>(64, 1)).value());
  std::vector<uint8_t> sig(200);
  put("traffic", std::span<const uint8_t>(sig.data(), rs.seal_signed(std::vector<uint8_t>(8, 2), sig, troot).value()));
  auto ms = TrafficSender::create(c, 3).value();
  ms.set_epoch(1, net1);
  put("traffic", ms.seal(std::vector<uint8_t>(16, 3)).value());

  // A cookie: fuzz_cookie reads the first half as the address, the second as the cookie.
  DeterministicRng crng(7);
  SymmetricKey cs = crng.symmetric_key();
  std::string addr = "127.0.0.1:40000";
  addr.resize(detail::kCookieSize, '#');
  auto cookie = detail::make_cookie(cs, addr, 4'000'000'000);
  std::vector<uint8_t> seed(addr.begin(), addr.end());
  seed.insert(seed.end(), cookie.begin(), cookie.end());
  put("cookie", seed);
  std::printf("fuzz_seeds: %d seeds in %s\n", g_count, g_dir.c_str());
  return g_shallow == 0 ? 0 : 1;
}
