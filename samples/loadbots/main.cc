// netkey-loadbots: N bots against a running arena server, with churn, measured from the
// bots' side.
//
//   netkey-arena --listen 7777 --mirror 7778 &
//   netkey-loadbots --connect 127.0.0.1:7777 --bots 1000 --seconds 60 --churn 200
//                   --adversaries 50 --mirror 7778 --report load.json
//
// Measures: the time from a leave being requested until every remaining bot decrypts
// under a later epoch (p50, p99, max); undecryptable packets by reason; bytes per bot per
// second of rekeys and of state. Adversary bots: the first K departing bots keep every
// key they held (secret, leaf, unicast, path, net key), derive what they can from every
// rekey the server sends, and try every key on every packet it sends after their
// removal (seen through the server's test-only --mirror; common/adversary.h).
// adversary_decryptions counts their successes and must be 0; adversary_attempts must
// be > 0. Exit status 1 with --check when either fails, or when bots did not converge.
// --help (-h) prints the usage, --version the version; a usage error is one line on
// stderr and exit 2 (tools/cli/cli.h).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/adversary.h"
#include "common/report.h"
#include "cli/cli.h"
#include "common/swarm.h"
#include "src/util/clock.h"

using namespace netkey;

namespace {

constexpr const char* kTool = "netkey-loadbots";
constexpr const char* kUsage =
    "usage: netkey-loadbots --connect HOST:PORT [--bots N] [--seconds S] [--churn R] [--adversaries K]\n"
    "                       [--mirror PORT] [--degree D] [--join-policy rekey|hash-forward]\n"
    "                       [--first-subject I] [--report FILE] [--check]\n"
    "       netkey-loadbots --help | -h | --version\n"
    "N bots against a running server (netkey-arena --listen PORT [--mirror PORT]).\n"
    "exit status: 0 done, 1 --check failed or a socket could not be opened, 2 usage error\n";

[[noreturn]] void usage(const std::string& msg) { netkey::cli::usage_error(kTool, msg); }

}  // namespace

int main(int argc, char** argv) {
  std::string connect, report;
  double bots = 100, seconds = 30, churn = -1, adversaries = 0, mirror_port = -1, degree = 4, first = 1;
  bool check = false, hash_forward = false;
  netkey::cli::Flags flags(kTool, kUsage);
  flags.text("--connect", &connect)
      .number("--bots", &bots)
      .number("--seconds", &seconds)
      .number("--churn", &churn)
      .number("--adversaries", &adversaries)
      .number("--mirror", &mirror_port)
      .number("--degree", &degree)
      .number("--first-subject", &first)
      .text("--report", &report)
      .set("--check", &check)
      .value("--join-policy", [&](const std::string& p) {
        if (p != "rekey" && p != "hash-forward") usage("--join-policy must be rekey or hash-forward (as the server's)");
        hash_forward = p == "hash-forward";
      });
  flags.parse(argc, argv);
  if (connect.empty()) usage("--connect HOST:PORT is required");
  const auto colon = connect.rfind(':');
  if (colon == std::string::npos) usage("--connect wants HOST:PORT");
  if (bots < 1 || bots > 3000) usage("--bots must be 1..3000");
  if (churn < 0) churn = bots / 5;  // 10 % join and 10 % leave per second
  if (check && adversaries < 1) {
    usage("--check needs --adversaries K (K >= 1) and --mirror PORT: a check without an adversary proves nothing");
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  demo::Identities ids(demo::kDemoPkiSeed, demo::kDemoBaseUnix, demo::kDemoValidSeconds);
  ids.get("root", Role::kRoot, 9);
  const std::vector<uint8_t> charter = demo::demo_charter(ids, static_cast<uint8_t>(degree), false, hash_forward);
  const uint64_t unix_zero = detail::unix_zero_for(static_cast<uint64_t>(std::time(nullptr)), enet::monotonic_ns());
  demo::SwarmOptions so;
  so.bots = static_cast<size_t>(bots);
  so.churn_per_s = churn;
  so.host = connect.substr(0, colon);
  so.port = static_cast<uint16_t>(std::atoi(connect.c_str() + colon + 1));
  so.first_subject = static_cast<size_t>(first);
  so.seed = 0x10adb075;
  demo::Swarm swarm(so, &ids, charter, ids.ca().public_key(), unix_zero);

  demo::Adversary adversary(0, AeadSuite::kChaCha20Poly1305);  // learns the group id from the rekeys
  size_t recruited = 0;
  swarm.set_on_departure([&](MemberId, const Participant& p) {
    if (recruited < static_cast<size_t>(adversaries)) {
      ++recruited;
      adversary.absorb(p);
    }
  });
  std::unique_ptr<demo::Mirror> mirror;
  if (mirror_port > 0) {
    mirror = std::make_unique<demo::Mirror>(demo::Mirror::receiver(static_cast<uint16_t>(mirror_port)));
    if (!mirror->ok()) {  // the environment, not the command line
      std::fprintf(stderr, "netkey-loadbots: cannot bind the mirror port %d\n", static_cast<int>(mirror_port));
      return 1;
    }
  } else if (adversaries > 0) {
    usage("--adversaries needs the server's traffic: start the server with --mirror PORT and pass the same "
          "--mirror PORT here");
  }
  std::printf("netkey-loadbots: %zu bots to %s, %.0f s, churn %.0f/s, %zu adversaries\n", so.bots, connect.c_str(),
              seconds, churn, static_cast<size_t>(adversaries));
  const uint64_t start = enet::monotonic_ns();
  const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
  const uint64_t churn_stop = start + static_cast<uint64_t>(std::max(0.0, seconds - 3) * 1e9);
  uint64_t next_status = start + 1'000'000'000;
  std::vector<uint8_t> buf;
  std::vector<double> tick_ms;  // how long one pass over every bot takes
  for (;;) {
    const uint64_t now = enet::monotonic_ns();
    if (now >= churn_stop) swarm.set_churn(false);
    swarm.tick(now);
    tick_ms.push_back(static_cast<double>(enet::monotonic_ns() - now) / 1e6);
    while (mirror && mirror->receive(buf)) {
      if (buf.empty()) continue;
      if (buf[0] == 0x10 && buf.size() == 13) {
        uint32_t m = 0;
        uint64_t e = 0;
        for (int i = 3; i >= 0; --i) m = m << 8 | buf[static_cast<size_t>(1 + i)];
        for (int i = 7; i >= 0; --i) e = e << 8 | buf[static_cast<size_t>(5 + i)];
        adversary.removed(m, e);
      } else if (buf[0] < 4) {
        adversary.observe(static_cast<Channel>(buf[0]), std::span<const uint8_t>(buf).subspan(1));
      }
    }
    if (now >= next_status) {
      next_status += 1'000'000'000;
      const auto& st = swarm.stats();
      std::printf("  [%4.1fs] bots in group %4zu  epochs %llu..%llu  leave->rekey p50 %5.1f ms p99 %6.1f ms\n",
                  static_cast<double>(now - start) / 1e9, swarm.in_group(),
                  static_cast<unsigned long long>(swarm.min_epoch()), static_cast<unsigned long long>(swarm.max_epoch()),
                  demo::percentile(st.leave_latency_ms, 50), demo::percentile(st.leave_latency_ms, 99));
      std::fflush(stdout);
    }
    if (now >= end && swarm.min_epoch() == swarm.max_epoch()) break;
    if (now >= end + 5'000'000'000) break;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const auto& st = swarm.stats();
  const bool converged = swarm.min_epoch() == swarm.max_epoch() && swarm.in_group() > 0;
  uint64_t undecryptable = 0;
  for (const auto& [r, n] : st.undecryptable) undecryptable += n;
  const double bot_s = std::max(1.0, st.bot_seconds);
  std::printf("summary: %s at epoch %llu; %llu joins, %llu leaves; leave->rekey p50 %.1f ms, p99 %.1f ms; "
              "undecryptable %llu; rekeys %.0f B/s and state %.0f B/s per bot\n",
              converged ? "converged" : "NOT CONVERGED", static_cast<unsigned long long>(swarm.max_epoch()),
              static_cast<unsigned long long>(st.joins), static_cast<unsigned long long>(st.leaves),
              demo::percentile(st.leave_latency_ms, 50), demo::percentile(st.leave_latency_ms, 99),
              static_cast<unsigned long long>(undecryptable), static_cast<double>(st.rekey_bytes) / bot_s,
              static_cast<double>(st.state_bytes) / bot_s);
  demo::print_adversary(adversary);
  std::printf("         one pass over every bot: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", demo::percentile(tick_ms, 50),
              demo::percentile(tick_ms, 99), tick_ms.empty() ? 0.0 : *std::max_element(tick_ms.begin(), tick_ms.end()));
  if (!report.empty()) {
    demo::JsonReport r;
    r.number("bots", bots);
    r.number("seconds", seconds);
    r.number("churn_per_s", churn);
    r.number("epochs", static_cast<double>(swarm.max_epoch()));
    r.latency("rekey_latency_ms", st.leave_latency_ms);
    r.counts("undecryptable", st.undecryptable);
    r.counts("transitions", st.transitions);
    demo::report_adversary(r, adversary);
    r.number("rekey_bytes_per_bot_per_s", static_cast<double>(st.rekey_bytes) / bot_s);
    r.number("state_bytes_per_bot_per_s", static_cast<double>(st.state_bytes) / bot_s);
    r.latency("bot_pass_ms", tick_ms);
    r.boolean("converged", converged);
    if (!r.write(report)) std::fprintf(stderr, "netkey-loadbots: cannot write %s\n", report.c_str());
  }
  if (check && (!converged || undecryptable != 0 || !demo::adversary_check(adversary, "netkey-loadbots"))) {
    std::fprintf(stderr, "netkey-loadbots: --check failed\n");
    return 1;
  }
  return 0;
}
