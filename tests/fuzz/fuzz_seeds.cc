// fuzz_seeds DIR: writes seed corpora of real messages for every fuzz target, taken
// from a real Root/Participant exchange, into DIR/<target>/.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/pki.h"
#include "netkey/keyfile.h"
#include "netkey/list_controller.h"
#include "netkey/participant.h"
#include "netkey/rekey_codec.h"
#include "netkey/root.h"
#include "netkey/traffic.h"
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
  demo::Identities ids(3);
  auto charter = ids.charter(demo::Identities::default_fields(0x5151), {"p1", "p2"});
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
    put("rekey", m);
    put("traffic", m);
  }
  // An ACL update from the List Controller.
  const demo::Identity& lc = ids.get("lc", Role::kListController, 9);
  ListController list(0x5151, lc.seed, lc.certificate);
  put_framed("root_control", {*list.add({"p3"}).value()});

  // Rekeys of every encoding for the fuzz_rekey member (group 7, member 1).
  DeterministicRng rng(5);
  SigningKey rk = SigningKey::generate(rng);
  SymmetricKey secret = rng.symmetric_key();
  KeyTree tree(7, TreePolicy{});
  Batch b;
  b.joins.push_back({1, secret.clone()});
  for (MemberId id = 2; id < 20; ++id) b.joins.push_back({id, rng.symmetric_key()});
  (void)tree.commit(std::move(b), rng);
  put("rekey", encode_welcome(tree, 1).value());
  Batch l;
  l.leaves = {5};
  auto plan = tree.commit(std::move(l), rng).value();
  put("rekey", encode_whole(plan, rk));
  put("rekey", SliceEncoder(plan).encode(tree, 1).value());
  put("rekey", encode_resync(tree, 1).value());

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
  return 0;
}
