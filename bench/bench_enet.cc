// bench_enet: the server's cost of one 1 KB snapshot to 1000 connected ENet peers.
//
//   BM_ServerBroadcast/peers:1000/mode:encrypted  Root::broadcast (seal once) + the shared
//                                                 ENetPacket fan-out + flush (1000 sends)
//   BM_ServerBroadcast/peers:1000/mode:plaintext  the same fan-out and flush, no crypto
// Both run against the same server and peers in one process on loopback.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/pki.h"
#include "common/swarm.h"
#include "netkey/enet.h"
#include "netkey/enet_testing.h"
#include "src/util/clock.h"

namespace netkey {
namespace {

struct World {
  demo::Identities ids{demo::kDemoPkiSeed, demo::kDemoBaseUnix, demo::kDemoValidSeconds};
  std::unique_ptr<enet::ServerHost> server;
  std::vector<std::unique_ptr<enet::ClientHost>> clients;

  explicit World(size_t n) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
      lim.rlim_cur = lim.rlim_max;
      setrlimit(RLIMIT_NOFILE, &lim);
    }
    ids.get("root", Role::kRoot, 9);
    auto charter = demo::demo_charter(ids, 4, false);
    const uint64_t unix_zero = detail::unix_zero_for(static_cast<uint64_t>(std::time(nullptr)), enet::monotonic_ns());
    RootConfig rc = ids.root_config(charter, unix_zero);
    // 1000 clients share this process: Slices (one AEAD open per client per rekey, not a
    // signature check) and ENet's lenient default timeouts keep the shared loop alive.
    rc.rekey_encoding = RootConfig::RekeyEncoding::kSlices;
    enet::ServerOptions so;
    so.max_peers_per_ip = so.max_peers;  // every peer is on 127.0.0.1
    so.peer_timeout_limit = 32;
    so.peer_timeout_min_ms = 5000;
    so.peer_timeout_max_ms = 30000;
    server = enet::ServerHost::create(std::move(rc), std::make_unique<SystemRng>(), so).value();
    for (size_t i = 1; i <= n; ++i) {
      ParticipantConfig pc = ids.participant_config(ids.get(demo::bot_subject(i)), charter, unix_zero);
      enet::ClientOptions co;
      co.server_port = server->port();
      clients.push_back(enet::ClientHost::create(std::move(pc), std::make_unique<SystemRng>(), co).value());
      // Join in waves of 25, as players arrive, rather than one 1000-datagram burst.
      if (i % 25 == 0) {
        for (int k = 0; k < 20; ++k) pump();
      }
    }
    const uint64_t deadline = enet::monotonic_ns() + 60'000'000'000;
    while (server->root().member_peers().size() < n && enet::monotonic_ns() < deadline) pump();
    if (server->root().member_peers().size() < n) {
      size_t refused = 0, joined = 0;
      for (auto& c : clients) {
        refused += c->participant().state() == Participant::State::kRefused;
        joined += c->participant().has_net_key();
      }
      std::map<std::string, int> states;
      for (auto& c : clients) states[std::string(participant_state_name(c->participant().state()))]++;
      for (auto& [k, v] : states) std::fprintf(stderr, "  %s: %d\n", k.c_str(), v);
      std::fprintf(stderr, "bench_enet: %zu of %zu joined (%zu refused, root refusals %llu, members %zu)\n",
                   server->root().member_peers().size(), n, refused,
                   static_cast<unsigned long long>(server->root().stats().refusals_total()), server->root().member_count());
    }
  }
  void pump() {
    (void)server->service(0);
    for (auto& c : clients) (void)c->service(0);
  }
};

World& world() {
  static World w(1000);
  return w;
}

void BM_ServerBroadcast(benchmark::State& state, bool encrypted) {
  World& w = world();
  if (w.server->root().member_peers().size() < 990) {  // the counter reports the exact number
    state.SkipWithError("not every peer joined");
    return;
  }
  std::vector<uint8_t> snapshot(1024, 0x33);
  for (auto _ : state) {
    if (encrypted) {
      (void)w.server->broadcast(snapshot);
    } else {
      netkey::testing::broadcast_plaintext(*w.server, snapshot);
    }
    w.server->flush();
    {  // every iteration  // keep the peers alive and their socket buffers drained, untimed
      state.PauseTiming();
      w.pump();
      state.ResumeTiming();
    }
  }
  state.counters["peers"] = static_cast<double>(w.server->root().member_peers().size());
  state.counters["bytes_per_broadcast"] = 1024;
}

BENCHMARK_CAPTURE(BM_ServerBroadcast, peers:1000/mode:encrypted, true)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_ServerBroadcast, peers:1000/mode:plaintext, false)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace
}  // namespace netkey

BENCHMARK_MAIN();
