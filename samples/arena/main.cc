// netkey-arena: an authoritative arena server and its bots over ENet (UDP loopback).
//
// With no flags (what `make demo` runs) it is embedded: the server and 200 bots in one
// process, with churn (single joins and leaves, bulk waves every 10 s) and a kick by the
// List Controller halfway through. Players move and shoot; the server broadcasts 30 Hz
// snapshots under the net key, encrypted once for everyone. A status line each second;
// a summary at the end (and a JSON report with --report). --check (embedded mode only)
// exits 1 unless every bot converged, nothing was undecryptable, and the adversary
// (removed bots keeping every key; common/adversary.h) tried keys and opened nothing.
//
//   netkey-arena [--bots N] [--seconds S] [--churn R] [--degree D] [--report FILE] [--check]
//   netkey-arena --listen PORT [--seconds S]        the server alone
//   netkey-arena --connect HOST:PORT [--bots N] ...  bots alone
//   netkey-arena --help | -h | --version
//
// A usage error is one line on stderr and exit 2 (tools/cli/cli.h).
//
// Identities come from a fixed demo PKI (samples/common/pki.h) so separate processes
// agree; real deployments issue them with netkey-ca.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "common/adversary.h"
#include "common/faulty_proxy.h"
#include "common/report.h"
#include "cli/cli.h"
#include "common/swarm.h"
#include "netkey/enet.h"
#include "netkey/enet_testing.h"
#include "netkey/list_controller.h"
#include "src/util/clock.h"

using namespace netkey;
using demo::Identities;
using demo::percentile;

namespace {

struct Options {
  size_t bots = 200;
  double seconds = 30;
  double churn = -1;  // default: 10 % of the bots join and 10 % leave per second
  int degree = 4;
  std::string report;
  int listen = -1;
  std::string connect;
  bool check = false;
  bool quiet = false;
  int mirror = -1;  // test-only: copy everything the server sends to 127.0.0.1:PORT
  std::string rekey = "auto";  // the Root's rekey encoding: auto, slices, whole
  bool faults = false;         // bots reach the server through a lossy proxy, with a partition
  bool hash_forward = false;   // charter join policy: LKH+ hash-forward for join-only batches
};

constexpr const char* kTool = "netkey-arena";
constexpr const char* kUsage =
    "usage: netkey-arena [--bots N] [--seconds S] [--churn R] [--degree D] [--report FILE] [--check]\n"
    "                    [--quiet] [--rekey auto|slices|whole] [--faults] [--join-policy rekey|hash-forward]\n"
    "       netkey-arena --listen PORT [--seconds S] [--degree D] [--mirror PORT] [--join-policy P]\n"
    "       netkey-arena --connect HOST:PORT [--bots N] [--seconds S] [--churn R] [--join-policy P]\n"
    "       netkey-arena --help | -h | --version\n"
    "With no flags: the server and 200 bots in one process for 30 s (make demo).\n"
    "exit status: 0 done, 1 --check failed, 2 usage error\n";

[[noreturn]] void usage(const std::string& msg) { netkey::cli::usage_error(kTool, msg); }

Options parse(int argc, char** argv) {
  Options o;
  netkey::cli::Flags flags(kTool, kUsage);
  flags.number("--bots", &o.bots)
      .number("--seconds", &o.seconds)
      .number("--churn", &o.churn)
      .number("--degree", &o.degree)
      .text("--report", &o.report)
      .number("--listen", &o.listen)
      .text("--connect", &o.connect)
      .set("--check", &o.check)
      .set("--quiet", &o.quiet)
      .number("--mirror", &o.mirror)
      .text("--rekey", &o.rekey)
      .set("--faults", &o.faults)
      .value("--join-policy", [&](const std::string& p) {
        if (p != "rekey" && p != "hash-forward") usage("--join-policy must be rekey or hash-forward");
        o.hash_forward = p == "hash-forward";
      });
  flags.parse(argc, argv);
  if (o.degree < 2 || o.degree > 16) usage("--degree must be 2..16");
  if (o.bots > 3000) usage("--bots must be at most 3000 here");
  if (o.churn < 0) o.churn = static_cast<double>(o.bots) / 5.0;
  if (o.rekey != "auto" && o.rekey != "slices" && o.rekey != "whole") usage("--rekey must be auto, slices or whole");
  if (o.faults && (o.listen >= 0 || !o.connect.empty())) usage("--faults is for the embedded mode");
  // Only the embedded mode has both the bots' keys and the server's traffic for the
  // adversary; separate processes are judged by netkey-loadbots --check.
  if (o.check && (o.listen >= 0 || !o.connect.empty())) usage("--check is for the embedded mode");
  return o;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// --- the game: players move on a 1000x1000 field and shoot whoever is near. ----------
struct Player {
  int16_t x = 500, y = 500;
  uint16_t score = 0;
};

class Arena {
 public:
  void on_input(MemberId id, std::span<const uint8_t> in) {
    if (in.size() < 3) return;
    Player& p = players_[id];
    p.x = static_cast<int16_t>(std::clamp(p.x + (static_cast<int>(in[0]) - 1) * 5, 0, 1000));
    p.y = static_cast<int16_t>(std::clamp(p.y + (static_cast<int>(in[1]) - 1) * 5, 0, 1000));
    if (in[2]) {
      for (auto& [other, q] : players_) {
        if (other != id && std::abs(q.x - p.x) + std::abs(q.y - p.y) < 60) {
          ++p.score;
          break;
        }
      }
    }
  }
  void join(MemberId id) { players_[id]; }
  void leave(MemberId id) { players_.erase(id); }
  // tick u32, count u16, then up to 120 players: id u16, x i16, y i16, score u16.
  std::vector<uint8_t> snapshot(uint32_t tick) const {
    std::vector<uint8_t> s;
    auto put16 = [&](uint32_t v) {
      s.push_back(static_cast<uint8_t>(v));
      s.push_back(static_cast<uint8_t>(v >> 8));
    };
    put16(tick);
    put16(tick >> 16);
    const size_t n = std::min<size_t>(players_.size(), 120);
    put16(static_cast<uint32_t>(n));
    size_t k = 0;
    for (const auto& [id, p] : players_) {
      if (k++ == n) break;
      put16(id);
      put16(static_cast<uint16_t>(p.x));
      put16(static_cast<uint16_t>(p.y));
      put16(p.score);
    }
    return s;
  }
  size_t size() const { return players_.size(); }

 private:
  std::map<MemberId, Player> players_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  raise_fd_limit();
  Identities ids(demo::kDemoPkiSeed, demo::kDemoBaseUnix, demo::kDemoValidSeconds);
  // The elected Root and List Controller of the demo charter.
  ids.get("root", Role::kRoot, 9);
  const std::vector<uint8_t> charter = demo::demo_charter(ids, static_cast<uint8_t>(o.degree), false, o.hash_forward);
  const uint64_t unix_zero = detail::unix_zero_for(static_cast<uint64_t>(std::time(nullptr)), enet::monotonic_ns());
  const bool run_server = o.connect.empty();
  const bool run_bots = o.listen < 0;

  std::unique_ptr<enet::ServerHost> server;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  if (run_server) {
    RootConfig rc = ids.root_config(charter, unix_zero);
    // Embedded with many bots, every bot shares this process's two cores: verifying a
    // signed Whole per bot per rekey would starve the loop, so the Root sends Slices
    // (one AEAD open per bot). Separate machines would not need this.
    const bool many_local_bots = run_bots && o.bots >= 300;
    rc.rekey_encoding = o.rekey == "slices" || (o.rekey == "auto" && many_local_bots)
                            ? RootConfig::RekeyEncoding::kSlices
                            : o.rekey == "whole" ? RootConfig::RekeyEncoding::kWhole : RootConfig::RekeyEncoding::kAuto;
    rc.relay_member_traffic = false;  // authoritative: inputs are for the server only
    enet::ServerOptions so;
    so.port = o.listen > 0 ? static_cast<uint16_t>(o.listen) : 0;
    so.max_peers_per_ip = so.max_peers;  // every bot is on 127.0.0.1
    auto s = enet::ServerHost::create(std::move(rc), std::make_unique<SystemRng>(), so);
    if (!s) {
      std::fprintf(stderr, "netkey-arena: %s\n", s.status().to_string().c_str());
      return 1;
    }
    server = std::move(s).value();
    port = server->port();
  } else {
    auto colon = o.connect.rfind(':');
    if (colon == std::string::npos) usage("--connect wants HOST:PORT");
    host = o.connect.substr(0, colon);
    port = static_cast<uint16_t>(std::atoi(o.connect.c_str() + colon + 1));
  }

  demo::Adversary adversary(server ? server->root().group_id() : 0, AeadSuite::kChaCha20Poly1305);
  std::unique_ptr<demo::Mirror> mirror;
  if (o.mirror > 0) mirror = std::make_unique<demo::Mirror>(demo::Mirror::sender(static_cast<uint16_t>(o.mirror)));
  if (server) {
    netkey::testing::set_tap(*server, [&](Channel ch, std::span<const uint8_t> b) {
      adversary.observe(ch, b);
      if (mirror) mirror->send_packet(ch, b);
    });
  }
  // Fault injection: 5 % loss, 2 % duplication, 5 ms + up to 20 ms jitter each way, and
  // at one third of the run a 5 s partition of 10 % of the bots.
  std::unique_ptr<demo::FaultyProxy> proxy;
  if (o.faults) {
    proxy = std::make_unique<demo::FaultyProxy>(port, demo::Faults{}, 0xfa17);
    if (!proxy->ok()) {  // the environment, not the command line: exit 1 like a failed server
      std::fprintf(stderr, "netkey-arena: cannot open the fault-injection proxy socket\n");
      return 1;
    }
  }
  std::unique_ptr<demo::Swarm> swarm;
  if (run_bots) {
    demo::SwarmOptions so;
    so.bots = o.bots;
    so.churn_per_s = o.churn;
    so.host = host;
    so.port = proxy ? proxy->port() : port;
    so.seed = 0xb075;
    so.last_subject = demo::kDemoSubjects;
    swarm = std::make_unique<demo::Swarm>(so, &ids, charter, ids.ca().public_key(), unix_zero);
    // A departing bot hands every key it holds to the adversary (it keeps them forever).
    swarm->set_on_departure([&](MemberId, const Participant& p) {
      if (server) adversary.absorb(p);
    });
  }
  std::printf("netkey-arena: %s on 127.0.0.1:%u, %zu bots, %.0f s, churn %.0f/s (joins + leaves), degree %d\n",
              run_server && run_bots ? "embedded server + bots" : run_server ? "server" : "bots", port, o.bots,
              o.seconds, o.churn, o.degree);

  const demo::Identity& lc_id = ids.get("lc", Role::kListController, 9);
  ListController lc(demo::kDemoSession, server ? server->root().group_id() : 0, lc_id.seed, lc_id.certificate);
  Arena arena;
  const uint64_t start = enet::monotonic_ns();
  const uint64_t churn_stop = start + static_cast<uint64_t>(std::max(0.0, o.seconds - 3) * 1e9);
  const uint64_t end = start + static_cast<uint64_t>(o.seconds * 1e9);
  uint64_t next_snapshot = start, next_status = start + 1'000'000'000, last_bytes = 0;
  uint64_t rekeys_this_second = 0, tick = 0;
  bool kicked = false;
  bool partitioned = false;
  std::map<uint64_t, uint64_t> commit_at;  // epoch -> time
  std::vector<double> commit_latency_ms;
  while (enet::monotonic_ns() < end) {
    const uint64_t now = enet::monotonic_ns();
    if (server) {
      if (!server->service(1)) break;
      while (auto e = server->poll_event()) {
        switch (e->kind) {
          case RootEvent::Kind::kJoined: arena.join(e->member); break;
          case RootEvent::Kind::kLeft:
            arena.leave(e->member);
            adversary.removed(e->member, e->epoch);
            if (mirror) mirror->send_removal(e->member, e->epoch);
            break;
          case RootEvent::Kind::kMessage: arena.on_input(e->member, e->payload); break;
          case RootEvent::Kind::kRekeyed:
            ++rekeys_this_second;
            commit_at[e->epoch] = now;
            break;
          default: break;
        }
      }
      if (now >= next_snapshot) {
        next_snapshot += 33'333'333;
        (void)server->broadcast(arena.snapshot(static_cast<uint32_t>(tick++)));
      }
      // Halfway: the matchmaker kicks a player (a security removal: rekeyed at once).
      if (!kicked && swarm && now > start + static_cast<uint64_t>(o.seconds * 5e8)) {
        if (auto victim = swarm->random_member_subject()) {
          kicked = true;
          (void)server->submit_control(*lc.remove({*victim}).value());
          if (!o.quiet) std::printf("  [%4.1fs] list controller kicks %s\n", static_cast<double>(now - start) / 1e9, victim->c_str());
        }
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (proxy) {
      proxy->pump(now);
      if (!partitioned && now > start + static_cast<uint64_t>(o.seconds * 1e9 / 3)) {
        partitioned = true;
        const size_t cut = proxy->partition(0.1, now, 5'000'000'000);
        if (!o.quiet) std::printf("  [%4.1fs] partition: %zu bots cut off for 5 s\n", static_cast<double>(now - start) / 1e9, cut);
      }
    }
    if (swarm) {
      if (now >= churn_stop) swarm->set_churn(false);
      swarm->tick(now);
      // Commit-to-convergence latency (embedded): every bot in the group past the epoch.
      const uint64_t lo = swarm->min_epoch();
      for (auto it = commit_at.begin(); it != commit_at.end() && it->first <= lo;) {
        commit_latency_ms.push_back(static_cast<double>(now - it->second) / 1e6);
        it = commit_at.erase(it);
      }
    }
    if (now >= next_status) {
      next_status += 1'000'000'000;
      const uint64_t epoch = server ? server->root().epoch() : (swarm ? swarm->max_epoch() : 0);
      uint64_t bytes = 0;
      if (server) for (uint64_t b : server->stats().bytes_sent) bytes += b;
      std::string drops;
      if (swarm) {
        for (const auto& [r, n] : swarm->stats().undecryptable) drops += " " + r + "=" + std::to_string(n);
        for (const auto& [r, n] : swarm->stats().transitions) drops += " " + r + "=" + std::to_string(n);
      }
      if (server) {
        const DropCounters& d = server->root().traffic_drops();
        for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
          if (d.by_reason[r]) drops += " relay:" + std::string(drop_reason_name(static_cast<DropReason>(r))) + "=" + std::to_string(d.by_reason[r]);
        }
      }
      const auto& lat = swarm ? swarm->stats().leave_latency_ms : commit_latency_ms;
      if (!o.quiet) {
        std::printf("  [%4.1fs] members %4zu  epoch %5llu  rekeys/s %3llu  rekey latency p50 %5.1f ms p99 %6.1f ms  "
                    "%7.1f KB/s  drops:%s\n",
                    static_cast<double>(now - start) / 1e9, server ? server->root().member_count() : swarm->in_group(),
                    static_cast<unsigned long long>(epoch), static_cast<unsigned long long>(rekeys_this_second),
                    percentile(lat, 50), percentile(lat, 99), static_cast<double>(bytes - last_bytes) / 1024.0,
                    drops.empty() ? " none" : drops.c_str());
        std::fflush(stdout);
      }
      last_bytes = bytes;
      rekeys_this_second = 0;
    }
  }

  // Let the last rekeys land before judging convergence.
  bool converged = true;
  if (swarm) {
    swarm->set_churn(false);
    const uint64_t settle_end = enet::monotonic_ns() + 5'000'000'000;
    for (;;) {
      const uint64_t now = enet::monotonic_ns();
      if (server) (void)server->service(1);
      if (proxy) proxy->pump(now);
      swarm->tick(now);
      converged = server ? swarm->converged(server->root().epoch(), server->root().has_net_key() ? &netkey::testing::root_net_key(server->root()) : nullptr)
                         : swarm->min_epoch() == swarm->max_epoch();
      if (converged || now > settle_end) break;
    }
  }

  // Summary and report. CPU is this process's (in --listen mode: the server alone).
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const double wall_s = static_cast<double>(enet::monotonic_ns() - start) / 1e9;
  demo::SwarmStats empty;
  demo::SwarmStats& st = swarm ? swarm->stats() : empty;
  const auto& lat = swarm ? st.leave_latency_ms : commit_latency_ms;
  uint64_t undecryptable = 0;
  for (const auto& [r, n] : st.undecryptable) undecryptable += n;
  const double bot_s = std::max(1.0, st.bot_seconds);
  uint64_t server_bytes = 0;
  if (server) for (uint64_t b : server->stats().bytes_sent) server_bytes += b;
  if (!run_bots) {
    std::printf("summary: server epoch %llu after %llu rekeys; %llu refusals; %llu bytes sent\n",
                static_cast<unsigned long long>(server->root().epoch()),
                static_cast<unsigned long long>(server->root().stats().commits),
                static_cast<unsigned long long>(server->root().stats().refusals_total()),
                static_cast<unsigned long long>(server_bytes));
  } else {
  std::printf("summary: %s, epoch %llu after %llu rekeys; %llu joins, %llu leaves, kick seen by %llu bot(s)\n",
              converged ? "every bot holds the server's epoch and key" : "NOT CONVERGED",
              static_cast<unsigned long long>(server ? server->root().epoch() : (swarm ? swarm->max_epoch() : 0)),
              static_cast<unsigned long long>(server ? server->root().stats().commits : 0),
              static_cast<unsigned long long>(st.joins), static_cast<unsigned long long>(st.leaves),
              static_cast<unsigned long long>(st.kicks_seen));
  std::printf("         rekey latency p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu samples, %llu timeouts)\n",
              percentile(lat, 50), percentile(lat, 99), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()),
              lat.size(), static_cast<unsigned long long>(st.latency_timeouts));
  std::printf("         per bot: %.0f B/s of rekeys, %.0f B/s of state; %llu messages; undecryptable %llu\n",
              static_cast<double>(st.rekey_bytes) / bot_s, static_cast<double>(st.state_bytes) / bot_s,
              static_cast<unsigned long long>(st.messages), static_cast<unsigned long long>(undecryptable));
    demo::print_adversary(adversary);
  }
  if (proxy) {
    std::printf("         faults: %llu datagrams forwarded, %llu dropped, %llu duplicated, %llu cut by the partition; "
                "%llu bot connections timed out\n",
                static_cast<unsigned long long>(proxy->forwarded()), static_cast<unsigned long long>(proxy->dropped()),
                static_cast<unsigned long long>(proxy->duplicated()), static_cast<unsigned long long>(proxy->partitioned()),
                static_cast<unsigned long long>(st.dropped_connections));
  }
  std::printf("         process CPU %.2f s over %.1f s (%.0f ms of CPU per second)%s\n", cpu_s, wall_s,
              1000.0 * cpu_s / wall_s, run_bots ? ", bots included" : ", the server alone");
  if (!o.report.empty()) {
    demo::JsonReport r;
    r.number("bots", static_cast<double>(o.bots));
    r.number("seconds", o.seconds);
    r.number("churn_per_s", o.churn);
    r.number("degree", o.degree);
    r.number("epochs", static_cast<double>(server ? server->root().epoch() : 0));
    r.number("rekeys", static_cast<double>(server ? server->root().stats().commits : 0));
    r.latency("rekey_latency_ms", lat);
    r.counts("undecryptable", st.undecryptable);
    r.counts("transitions", st.transitions);
    demo::report_adversary(r, adversary);
    r.number("rekey_bytes_per_bot_per_s", static_cast<double>(st.rekey_bytes) / bot_s);
    r.number("state_bytes_per_bot_per_s", static_cast<double>(st.state_bytes) / bot_s);
    r.number("server_bytes", static_cast<double>(server_bytes));
    r.number("process_cpu_ms_per_s", 1000.0 * cpu_s / wall_s);
    r.boolean("converged", converged);
    if (!r.write(o.report)) std::fprintf(stderr, "netkey-arena: cannot write %s\n", o.report.c_str());
  }
  if (o.check) {
    // The adversary must have tried (0 attempts proves nothing) and opened nothing.
    const bool adversary_ok = demo::adversary_check(adversary, "netkey-arena");
    bool ok = converged && undecryptable == 0 && adversary_ok && (!swarm || st.joins > 0) &&
              (!proxy || (proxy->dropped() > 0 && proxy->partitioned() > 0));
    if (!ok) std::fprintf(stderr, "netkey-arena: --check failed\n");
    return ok ? 0 : 1;
  }
  return 0;
}
