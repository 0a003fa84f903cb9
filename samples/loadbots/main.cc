// netkey-loadbots: N bots against a running arena server, with churn, measured from the
// bots' side.
//
//   netkey-arena --listen 7777 --mirror 7778 &
//   netkey-loadbots --connect 127.0.0.1:7777 --bots 1000 --seconds 60 --churn 200
//                   --adversaries 50 --mirror 7778 --report load.json
//
// Measures: the time from a leave being requested until every remaining bot decrypts
// under a later epoch (p50, p99, max); undecryptable packets by reason; bytes per bot per
// second of rekeys and of state; what players feel: stall_ms (how long a snapshot waited
// for its epoch key), state_delayed_fraction (snapshots delayed or dropped for an epoch
// reason over all each bot should have had) and inputs_dropped_epoch (the server's count,
// heard through --mirror; null without it). Adversary bots: the first K departing bots
// keep every key they held (secret, leaf, unicast, path, net key), derive what they can
// from every rekey the server sends, and try every key on every packet it sends after
// their removal (seen through the server's test-only --mirror; common/adversary.h).
// adversary_decryptions counts their successes and must be 0; adversary_attempts must
// be > 0. Exit status 1 with --check when either fails, or when bots did not converge.
// --loss PCT: the bots reach the server through a lossy proxy in this process (loss,
// duplication, 5-25 ms jitter). --insecure: plain ENet bots against netkey-arena
// --listen PORT --insecure (a baseline). --plots DIR: SVG plots of the run.
// --help (-h) prints the usage, --version the version; a usage error is one line on
// stderr and exit 2 (tools/cli/cli.h).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "cli/cli.h"
#include "common/adversary.h"
#include "common/faulty_proxy.h"
#include "common/report.h"
#include "common/run_flags.h"
#include "common/swarm.h"
#include "src/util/clock.h"

using namespace netkey;

namespace {

constexpr const char* kTool = "netkey-loadbots";
constexpr const char* kUsage =
    "usage: netkey-loadbots --connect HOST:PORT [--bots N] [--seconds S] [--churn R] [--adversaries K]\n"
    "                       [--mirror PORT] [--degree D] [--join-policy rekey|hash-forward]\n"
    "                       [--first-subject I] [--report FILE] [--check] [--loss PCT] [--insecure]\n"
    "                       [--plots DIR]\n"
    "       netkey-loadbots --help | -h | --version\n"
    "N bots against a running server (netkey-arena --listen PORT [--mirror PORT] [--insecure]).\n"
    "--loss PCT: a lossy proxy in this process (PCT % loss, PCT/2 % duplication, 5-25 ms delay).\n"
    "--insecure: plain ENet bots, for a server started with --insecure (a baseline).\n"
    "--plots DIR: SVG plots of the run (python3-matplotlib; report in DIR/report.json unless --report).\n"
    "exit status: 0 done, 1 --check failed or a socket could not be opened, 2 usage error\n";

[[noreturn]] void usage(const std::string& msg) { netkey::cli::usage_error(kTool, msg); }

struct Options {
  std::string connect, report, plots;
  double bots = 100, seconds = 30, churn = -1, adversaries = 0, mirror_port = -1, degree = 4, first = 1, loss = -1;
  bool check = false, hash_forward = false, insecure = false;
};

Options parse(int argc, char** argv) {
  Options o;
  netkey::cli::Flags flags(kTool, kUsage);
  demo::add_run_flags(flags, kTool,
                      demo::RunFlags<double, double>{&o.bots, &o.seconds, &o.churn, &o.degree, &o.report, &o.check,
                                                     &o.loss, &o.insecure, &o.plots, &o.hash_forward});
  flags.text("--connect", &o.connect)
      .number("--adversaries", &o.adversaries)
      .number("--mirror", &o.mirror_port)
      .number("--first-subject", &o.first);
  flags.parse(argc, argv);
  if (o.connect.empty()) usage("--connect HOST:PORT is required");
  if (o.connect.rfind(':') == std::string::npos) usage("--connect wants HOST:PORT");
  if (o.bots < 1 || o.bots > 3000) usage("--bots must be 1..3000");
  if (o.churn < 0) o.churn = o.bots / 5;  // 10 % join and 10 % leave per second
  if (o.loss > 50) usage("--loss must be 0..50 (percent)");
  if (o.loss >= 0 && o.connect.rfind("127.0.0.1:", 0) != 0) usage("--loss needs a server on 127.0.0.1");
  if (o.insecure && (o.adversaries > 0 || o.mirror_port > 0)) {
    usage("--insecure has nothing to attack: no --adversaries or --mirror");
  }
  if (o.check && !o.insecure && o.adversaries < 1) {
    usage("--check needs --adversaries K (K >= 1) and --mirror PORT: a check without an adversary proves nothing");
  }
  if (o.adversaries > 0 && o.mirror_port <= 0) {
    usage("--adversaries needs the server's traffic: start the server with --mirror PORT and pass the same "
          "--mirror PORT here");
  }
  return o;
}

// One sample a second, for the report's series and the plots.
using Series = demo::RunSeries;

class LoadRun {
 public:
  explicit LoadRun(Options o)
      : o_(std::move(o)),
        ids_(demo::kDemoPkiSeed, demo::kDemoBaseUnix, demo::kDemoValidSeconds),
        adversary_(0, AeadSuite::kChaCha20Poly1305) {}  // learns the group id from the rekeys
  // 0, or 1 when a socket could not be opened.
  int setup();
  void loop();
  int finish();

 private:
  void make_swarm(uint16_t port);
  void drain_mirror();
  void second(uint64_t now);
  void summary(bool converged);
  void report(bool converged, const std::string& path);
  uint64_t undecryptable();

  Options o_;
  demo::Identities ids_;
  demo::Adversary adversary_;
  std::unique_ptr<demo::Swarm> swarm_;
  std::unique_ptr<demo::Mirror> mirror_;
  std::unique_ptr<demo::FaultyProxy> proxy_;
  size_t recruited_ = 0;
  std::optional<uint64_t> inputs_dropped_epoch_;  // the server's, through the mirror
  std::vector<double> tick_ms_;                   // how long one pass over every bot takes
  uint64_t start_ = 0, next_second_ = 0, last_bytes_ = 0, last_delayed_ = 0;
  size_t last_stall_ = 0;
  Series series_;
};

void LoadRun::make_swarm(uint16_t port) {
  ids_.get("root", Role::kRoot, 9);
  const std::vector<uint8_t> charter = demo::demo_charter(ids_, static_cast<uint8_t>(o_.degree), false, o_.hash_forward);
  const uint64_t unix_zero = detail::unix_zero_for(static_cast<uint64_t>(std::time(nullptr)), enet::monotonic_ns());
  demo::SwarmOptions so;
  so.bots = static_cast<size_t>(o_.bots);
  so.churn_per_s = o_.churn;
  so.host = o_.connect.substr(0, o_.connect.rfind(':'));
  so.port = port;
  so.first_subject = static_cast<size_t>(o_.first);
  so.seed = 0x10adb075;
  so.insecure = o_.insecure;
  swarm_ = std::make_unique<demo::Swarm>(so, &ids_, charter, ids_.ca().public_key(), unix_zero);
  swarm_->set_on_departure([this](MemberId, const Participant& p) {
    if (recruited_ < static_cast<size_t>(o_.adversaries)) {
      ++recruited_;
      adversary_.absorb(p);
    }
  });
}

int LoadRun::setup() {
  uint16_t port = static_cast<uint16_t>(std::atoi(o_.connect.c_str() + o_.connect.rfind(':') + 1));
  if (o_.loss >= 0) {
    demo::Faults f;
    f.loss = o_.loss / 100;
    f.duplicate = o_.loss / 200;
    proxy_ = std::make_unique<demo::FaultyProxy>(port, f, 0x10ad);
    if (!proxy_->ok()) {
      std::fprintf(stderr, "netkey-loadbots: cannot open the fault-injection proxy socket\n");
      return 1;
    }
    port = proxy_->port();
  }
  make_swarm(port);
  if (o_.mirror_port > 0) {
    mirror_ = std::make_unique<demo::Mirror>(demo::Mirror::receiver(static_cast<uint16_t>(o_.mirror_port)));
    if (!mirror_->ok()) {  // the environment, not the command line
      std::fprintf(stderr, "netkey-loadbots: cannot bind the mirror port %d\n", static_cast<int>(o_.mirror_port));
      return 1;
    }
  }
  std::printf("netkey-loadbots: %zu %sbots to %s, %.0f s, churn %.0f/s, %zu adversaries\n",
              static_cast<size_t>(o_.bots), o_.insecure ? "INSECURE (plain ENet) " : "", o_.connect.c_str(),
              o_.seconds, o_.churn, static_cast<size_t>(o_.adversaries));
  return 0;
}

// The mirror: the server's packets and removals for the adversary, and its count of
// inputs dropped for an epoch reason.
void LoadRun::drain_mirror() {
  std::vector<uint8_t> buf;
  while (mirror_ && mirror_->receive(buf)) {
    if (buf.empty()) continue;
    if (buf[0] == 0x10 && buf.size() == 13) {
      uint32_t m = 0;
      uint64_t e = 0;
      for (int i = 3; i >= 0; --i) m = m << 8 | buf[static_cast<size_t>(1 + i)];
      for (int i = 7; i >= 0; --i) e = e << 8 | buf[static_cast<size_t>(5 + i)];
      adversary_.removed(m, e);
    } else if (buf[0] == 0x11 && buf.size() == 9) {
      uint64_t n = 0;
      for (int i = 7; i >= 0; --i) n = n << 8 | buf[static_cast<size_t>(1 + i)];
      inputs_dropped_epoch_ = n;
    } else if (buf[0] < 4) {
      adversary_.observe(static_cast<Channel>(buf[0]), std::span<const uint8_t>(buf).subspan(1));
    }
  }
}

void LoadRun::loop() {
  start_ = enet::monotonic_ns();
  next_second_ = start_ + 1'000'000'000;
  const uint64_t end = start_ + static_cast<uint64_t>(o_.seconds * 1e9);
  const uint64_t churn_stop = start_ + static_cast<uint64_t>(std::max(0.0, o_.seconds - 3) * 1e9);
  for (;;) {
    const uint64_t now = enet::monotonic_ns();
    if (now >= churn_stop) swarm_->set_churn(false);
    if (proxy_) proxy_->pump(now);
    swarm_->tick(now);
    tick_ms_.push_back(static_cast<double>(enet::monotonic_ns() - now) / 1e6);
    drain_mirror();
    if (now >= next_second_) second(now);
    if (now >= end && swarm_->min_epoch() == swarm_->max_epoch()) break;
    if (now >= end + 5'000'000'000) break;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

void LoadRun::second(uint64_t now) {
  next_second_ += 1'000'000'000;
  const demo::SwarmStats& st = swarm_->stats();
  const uint64_t bytes = st.rekey_bytes + st.state_bytes;
  series_.t_s.push_back(static_cast<double>(now - start_) / 1e9);
  series_.members.push_back(static_cast<double>(swarm_->in_group()));
  series_.epoch.push_back(static_cast<double>(swarm_->max_epoch()));
  series_.bot_bytes_per_s.push_back(static_cast<double>(bytes - last_bytes_));
  series_.state_delayed.push_back(static_cast<double>(st.state_delayed - last_delayed_));
  const std::vector<double> recent(st.stall_ms.begin() + static_cast<std::ptrdiff_t>(last_stall_), st.stall_ms.end());
  series_.stall_p99_ms.push_back(demo::percentile(recent, 99));
  last_bytes_ = bytes;
  last_delayed_ = st.state_delayed;
  last_stall_ = st.stall_ms.size();
  const std::string inputs = inputs_dropped_epoch_ ? std::to_string(*inputs_dropped_epoch_) : "n/a";
  std::printf("  [%4.1fs] bots in group %4zu  epochs %llu..%llu  leave->rekey p50 %5.1f ms p99 %6.1f ms  "
              "stall p99 %5.1f ms  delayed %5.2f %%  inputs dropped (epoch) %s\n",
              static_cast<double>(now - start_) / 1e9, swarm_->in_group(),
              static_cast<unsigned long long>(swarm_->min_epoch()), static_cast<unsigned long long>(swarm_->max_epoch()),
              demo::percentile(st.leave_latency_ms, 50), demo::percentile(st.leave_latency_ms, 99),
              demo::percentile(st.stall_ms, 99), 100.0 * st.state_delayed_fraction(), inputs.c_str());
  std::fflush(stdout);
}

uint64_t LoadRun::undecryptable() {
  uint64_t n = 0;
  for (const auto& [r, c] : swarm_->stats().undecryptable) n += c;
  return n;
}

void LoadRun::summary(bool converged) {
  const auto& st = swarm_->stats();
  const double bot_s = std::max(1.0, st.bot_seconds);
  std::printf("summary: %s at epoch %llu; %llu joins, %llu leaves; leave->rekey p50 %.1f ms, p99 %.1f ms; "
              "undecryptable %llu; rekeys %.0f B/s and state %.0f B/s per bot\n",
              converged ? "converged" : "NOT CONVERGED", static_cast<unsigned long long>(swarm_->max_epoch()),
              static_cast<unsigned long long>(st.joins), static_cast<unsigned long long>(st.leaves),
              demo::percentile(st.leave_latency_ms, 50), demo::percentile(st.leave_latency_ms, 99),
              static_cast<unsigned long long>(undecryptable()), static_cast<double>(st.rekey_bytes) / bot_s,
              static_cast<double>(st.state_bytes) / bot_s);
  std::printf("         players: stall p50 %.1f ms, p99 %.1f ms (per member per rekey p99 %.1f ms); %.3f %% of "
              "snapshots delayed or lost to a rekey (%llu + %llu of %llu); inputs dropped for an epoch reason: %s\n",
              demo::percentile(st.stall_ms, 50), demo::percentile(st.stall_ms, 99),
              demo::percentile(st.stall_per_rekey_ms, 99), 100.0 * st.state_delayed_fraction(),
              static_cast<unsigned long long>(st.state_delayed), static_cast<unsigned long long>(st.state_lost_rekey),
              static_cast<unsigned long long>(st.state_expected),
              inputs_dropped_epoch_ ? std::to_string(*inputs_dropped_epoch_).c_str() : "n/a (no --mirror)");
  if (!o_.insecure) demo::print_adversary(adversary_);
  std::printf("         one pass over every bot: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              demo::percentile(tick_ms_, 50), demo::percentile(tick_ms_, 99),
              tick_ms_.empty() ? 0.0 : *std::max_element(tick_ms_.begin(), tick_ms_.end()));
}

void LoadRun::report(bool converged, const std::string& path) {
  const auto& st = swarm_->stats();
  const double bot_s = std::max(1.0, st.bot_seconds);
  demo::JsonReport r;
  r.text("tool", "netkey-loadbots");
  r.text("mode", o_.insecure ? "insecure" : "secure");
  r.text("role", "bots");
  r.number("bots", o_.bots);
  r.number("seconds", o_.seconds);
  r.number("churn_per_s", o_.churn);
  r.number("loss_pct", std::max(0.0, o_.loss));
  r.number("epochs", static_cast<double>(swarm_->max_epoch()));
  demo::report_players(r, st, st.leave_latency_ms);
  if (inputs_dropped_epoch_) {
    r.number("inputs_dropped_epoch", static_cast<double>(*inputs_dropped_epoch_));
  } else {
    r.null("inputs_dropped_epoch");  // the server's count: only through --mirror
  }
  r.number("inputs_sent", static_cast<double>(st.inputs_sent));
  r.counts("undecryptable", st.undecryptable);
  r.counts("transitions", st.transitions);
  demo::report_adversary(r, adversary_);
  r.latency("bot_pass_ms", tick_ms_);
  demo::report_run_tail(r, st.rekey_bytes, st.state_bytes, bot_s, converged, st.leave_latency_ms, st.stall_ms,
                        series_);
  if (!r.write(path)) std::fprintf(stderr, "netkey-loadbots: cannot write %s\n", path.c_str());
}

int LoadRun::finish() {
  const bool converged = swarm_->min_epoch() == swarm_->max_epoch() && swarm_->in_group() > 0;
  summary(converged);
  return demo::finish_run(
      kTool, o_.report, o_.plots, [&](const std::string& path) { report(converged, path); }, o_.check, [&] {
        return converged && undecryptable() == 0 &&
               (o_.insecure ? swarm_->stats().state_expected > 0 : demo::adversary_check(adversary_, kTool));
      });
}

}  // namespace

int main(int argc, char** argv) { return demo::run_tool<LoadRun>(parse(argc, argv)); }
