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
//                [--loss PCT | --faults] [--insecure] [--plots DIR] [--teams N] [--switch R]
//   netkey-arena --listen PORT [--seconds S]        the server alone
//   netkey-arena --connect HOST:PORT [--bots N] ...  bots alone
//   netkey-arena --help | -h | --version
//
// What players feel is measured per member (bot) and reported: stall_ms (how long a
// snapshot waited in the next-epoch buffer for its key), state_delayed_fraction
// (snapshots delayed, or dropped for an epoch reason, over all snapshots each bot should
// have had) and inputs_dropped_epoch (the server's drops of member input as
// unknown_epoch or epoch_expired). --loss PCT puts a lossy proxy between bots and server
// (loss, duplication, 5-25 ms jitter; no partition). --insecure runs the same game over
// plain ENet (common/insecure.h) as a baseline. The report carries a time series (one
// sample a second) that --plots DIR draws with tools/plots/plots.py.
//
// Game messaging (issue 12), embedded mode: the charter has --teams N teams (tree_teams,
// default 2); the server puts joiners in the smallest team and switches --switch R
// random players a second to the next team (Root::assign_team, batched with the churn).
// The public snapshot goes to everyone; each team's positions go to that team only
// (broadcast_to_team, 10 Hz: fog of war); each bot gets a private message every second
// with its member id, health and ammo; kills go to everyone and chat to the chatter's
// team as reliable events (Delivery::kReliableOrdered). The messaging adversary
// (common/message_adversary.h) tries, by trial decryption with the keys bots hold, to
// read the other team's broadcasts, other bots' private messages, and (switched or
// removed bots) their old team's later broadcasts. The report's `adversary` object has
// attempts and decryptions for removed, other_team, other_private and switched_team;
// --check wants attempts > 0 and 0 decryptions for each (other_team and switched_team
// need 2 teams, switched_team a --switch above 0), and that bots received team
// positions, their own private messages (never another's) and reliable events.
// --adversary-leak KIND (test-only) hands the adversary keys it must not have: --check
// must then fail (the positive control).
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
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "arena/game.h"
#include "arena/server.h"
#include "common/adversary.h"
#include "common/faulty_proxy.h"
#include "common/insecure.h"
#include "common/message_adversary.h"
#include "common/report.h"
#include "common/run_flags.h"
#include "cli/cli.h"
#include "common/swarm.h"
#include "netkey/enet.h"
#include "netkey/enet_testing.h"
#include "netkey/list_controller.h"
#include "src/util/clock.h"

using namespace netkey;
using demo::Identities;
using demo::percentile;
using arena::Arena;
using arena::Server;

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
  int rekey_copies = -1;       // --rekey-copies N: RootConfig::rekey_copies (-1: its default)
  bool faults = false;         // bots reach the server through a lossy proxy, with a partition
  bool hash_forward = false;   // charter join policy: LKH+ hash-forward for join-only batches
  double loss = -1;            // --loss PCT (0..50): a lossy proxy without partition
  bool insecure = false;       // plain ENet, no netkey (a baseline to measure against)
  std::string plots;           // --plots DIR
  int teams = -1;              // --teams N: the charter's tree_teams (default 2 embedded, 0 otherwise)
  double switch_rate = 0.5;    // --switch R: team switches per second
  std::string leak = "none";   // --adversary-leak KIND (test-only positive control)
};

constexpr const char* kTool = "netkey-arena";
constexpr const char* kUsage =
    "usage: netkey-arena [--bots N] [--seconds S] [--churn R] [--degree D] [--report FILE] [--check]\n"
    "                    [--quiet] [--rekey auto|slices|whole] [--faults | --loss PCT] [--insecure]\n"
    "                    [--join-policy rekey|hash-forward] [--plots DIR] [--teams N] [--switch R]\n"
    "                    [--rekey-copies N]\n"
    "       netkey-arena --listen PORT [--seconds S] [--degree D] [--mirror PORT] [--join-policy P] [--insecure]\n"
    "                    [--rekey-copies N] [--report FILE] [--plots DIR]\n"
    "       netkey-arena --connect HOST:PORT [--bots N] [--seconds S] [--churn R] [--join-policy P] [--loss PCT]\n"
    "                    [--insecure] [--report FILE] [--plots DIR]\n"
    "       netkey-arena --help | -h | --version\n"
    "With no flags: the server and 200 bots in one process for 30 s (make demo).\n"
    "--loss PCT: PCT % loss and PCT/2 % duplication each way, 5-25 ms delay (reorders); no partition.\n"
    "--faults: 5 % loss, 2 % duplication, 5-25 ms delay, and a 5 s partition of 10 % of the bots.\n"
    "--insecure: the same game over plain ENet: no handshake, no rekeys, plaintext (a baseline).\n"
    "--rekey-copies N: redundant unreliable copies of each rekey to lossy links (default 2; 0: none).\n"
    "--plots DIR: SVG plots of the run (python3-matplotlib; the report goes to DIR/report.json\n"
    "             unless --report is given).\n"
    "--teams N: the charter's teams (embedded default 2; 0: none); --switch R: team switches per second\n"
    "           (default 0.5). Positions go to the own team, private messages to each bot, events reliably.\n"
    "exit status: 0 done, 1 --check failed, 2 usage error\n";

[[noreturn]] void usage(const std::string& msg) { netkey::cli::usage_error(kTool, msg); }

Options parse(int argc, char** argv) {
  Options o;
  netkey::cli::Flags flags(kTool, kUsage);
  demo::add_run_flags(flags, kTool,
                      demo::RunFlags<size_t, int>{&o.bots, &o.seconds, &o.churn, &o.degree, &o.report, &o.check, &o.loss,
                                                  &o.insecure, &o.plots, &o.hash_forward});
  flags.number("--listen", &o.listen)
      .text("--connect", &o.connect)
      .set("--quiet", &o.quiet)
      .number("--mirror", &o.mirror)
      .text("--rekey", &o.rekey)
      .number("--rekey-copies", &o.rekey_copies)
      .set("--faults", &o.faults)
      .number("--teams", &o.teams)
      .number("--switch", &o.switch_rate)
      .text("--adversary-leak", &o.leak);
  flags.parse(argc, argv);
  if (o.degree < 2 || o.degree > 16) usage("--degree must be 2..16");
  if (o.bots > 3000) usage("--bots must be at most 3000 here");
  if (o.churn < 0) o.churn = static_cast<double>(o.bots) / 5.0;
  if (o.rekey != "auto" && o.rekey != "slices" && o.rekey != "whole") usage("--rekey must be auto, slices or whole");
  if (o.rekey_copies > 8) usage("--rekey-copies must be 0..8");
  if (o.rekey_copies >= 0 && (o.insecure || !o.connect.empty())) usage("--rekey-copies is for the secure server");
  if (o.faults && (o.listen >= 0 || !o.connect.empty())) usage("--faults is for the embedded mode");
  if (o.loss >= 0 && o.faults) usage("--loss and --faults exclude each other");
  if (o.loss > 50) usage("--loss must be 0..50 (percent)");
  if (o.loss >= 0 && o.listen >= 0) usage("--loss is for the bots' side (embedded or --connect)");
  if (o.loss >= 0 && !o.connect.empty() && o.connect.rfind("127.0.0.1:", 0) != 0) {
    usage("--loss with --connect needs a server on 127.0.0.1");
  }
  if (o.insecure && o.mirror > 0) usage("--mirror needs the secure mode (there is nothing to attack)");
  // Only the embedded mode has both the bots' keys and the server's traffic for the
  // adversary; separate processes are judged by netkey-loadbots --check.
  if (o.check && (o.listen >= 0 || !o.connect.empty())) usage("--check is for the embedded mode");
  const bool embedded = o.listen < 0 && o.connect.empty();
  if (o.teams < 0) o.teams = embedded && !o.insecure ? 2 : 0;
  if (o.teams > o.degree) usage("--teams must be 0..degree");
  if (o.teams > 0 && (!embedded || o.insecure)) usage("--teams is for the embedded secure mode");
  if (o.switch_rate < 0) usage("--switch must be >= 0");
  if (!demo::parse_leak(o.leak)) usage("--adversary-leak must be none, other_team, other_private or switched_team");
  return o;
}

// One sample a second, for the report's series and the plots.
using Series = demo::RunSeries;

// CPU seconds of this process so far.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// --- one run: set up, loop, settle, summary, report. ---------------------------------
class Run {
 public:
  explicit Run(Options o)
      : o_(std::move(o)),
        ids_(demo::kDemoPkiSeed, demo::kDemoBaseUnix, demo::kDemoValidSeconds),
        adversary_(std::make_unique<demo::Adversary>(0, AeadSuite::kChaCha20Poly1305)) {}
  // 0, or the exit status when the environment failed (a socket could not be opened).
  int setup();
  void loop();
  bool settle();
  void summary(bool converged);
  // Settles, then the summary, report, plots and --check: the exit code.
  int finish();

 private:
  bool run_server() const { return o_.connect.empty(); }
  bool run_bots() const { return o_.listen < 0; }
  int make_server();
  void make_swarm(uint16_t port);
  void serve(uint64_t now);
  void messaging(uint64_t now);
  void switch_teams(uint64_t now);
  void on_message(const RootEvent& e);
  void on_event(const RootEvent& e, uint64_t now);
  void faults(uint64_t now);
  void bots(uint64_t now);
  void second(uint64_t now);
  void status_line(uint64_t now);
  void report(bool converged, const std::string& path);
  bool check(bool converged);
  // Issue 12: the adversary's four kinds (removed includes common/adversary.h's net-key
  // trials), and whether each applies to this run.
  std::map<std::string, demo::Tally> adversary_kinds() const;
  bool kind_applies(const std::string& kind) const;
  bool messaging_check();
  void messaging_summary();
  uint64_t undecryptable();
  double member_seconds() const { return member_seconds_; }

  Options o_;
  Identities ids_;
  std::vector<uint8_t> charter_;
  uint64_t unix_zero_ = 0;
  Server server_;
  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  std::unique_ptr<demo::Adversary> adversary_;
  std::unique_ptr<demo::MessageAdversary> messages_;  // issue 12: other team, other private, switched
  std::unique_ptr<demo::Mirror> mirror_;
  std::unique_ptr<demo::FaultyProxy> proxy_;
  std::unique_ptr<demo::Swarm> swarm_;
  std::unique_ptr<ListController> lc_;
  Arena arena_;
  uint64_t start_ = 0, next_snapshot_ = 0, next_second_ = 0, tick_ = 0;
  uint64_t rekeys_this_second_ = 0, last_server_bytes_ = 0, last_bot_bytes_ = 0, last_delayed_ = 0;
  size_t last_stall_ = 0;
  double member_seconds_ = 0;
  bool kicked_ = false, partitioned_ = false;
  // Issue 12: the messaging game's clocks and counts (server side).
  uint64_t next_team_tick_ = 0, next_private_ = 0, last_switch_ns_ = 0;
  double switch_credit_ = 0;
  uint64_t switches_asked_ = 0, switches_done_ = 0, team_broadcasts_ = 0, privates_sent_ = 0;
  uint64_t kills_sent_ = 0, chats_relayed_ = 0, privates_received_ = 0;
  uint64_t kill_budget_ = 0;  // kill events left this second
  std::map<uint64_t, uint64_t> commit_at_;  // epoch -> time
  std::vector<double> commit_latency_ms_;
  Series series_;
  demo::SwarmStats empty_;
  demo::SwarmStats& stats() { return swarm_ ? swarm_->stats() : empty_; }
  const std::vector<double>& latency() { return swarm_ ? stats().leave_latency_ms : commit_latency_ms_; }
};

int Run::make_server() {
  if (o_.insecure) {
    server_.plain = demo::InsecureServer::create(o_.listen > 0 ? static_cast<uint16_t>(o_.listen) : 0);
    if (!server_.plain) {
      std::fprintf(stderr, "netkey-arena: cannot open the server socket\n");
      return 1;
    }
    return 0;
  }
  RootConfig rc = ids_.root_config(charter_, unix_zero_);
  // Embedded with many bots, every bot shares this process's two cores: verifying a
  // signed Whole per bot per rekey would starve the loop, so the Root sends Slices
  // (one AEAD open per bot). Separate machines would not need this.
  const bool many_local_bots = run_bots() && o_.bots >= 300;
  rc.rekey_encoding = o_.rekey == "slices" || (o_.rekey == "auto" && many_local_bots)
                          ? RootConfig::RekeyEncoding::kSlices
                          : o_.rekey == "whole" ? RootConfig::RekeyEncoding::kWhole : RootConfig::RekeyEncoding::kAuto;
  rc.relay_member_traffic = false;  // authoritative: inputs are for the server only
  if (o_.rekey_copies >= 0) rc.rekey_copies = static_cast<uint32_t>(o_.rekey_copies);
  enet::ServerOptions so;
  so.port = o_.listen > 0 ? static_cast<uint16_t>(o_.listen) : 0;
  so.max_peers_per_ip = so.max_peers;  // every bot is on 127.0.0.1
  auto s = enet::ServerHost::create(std::move(rc), std::make_unique<SystemRng>(), so);
  if (!s) {
    std::fprintf(stderr, "netkey-arena: %s\n", s.status().to_string().c_str());
    return 1;
  }
  server_.secure = std::move(s).value();
  if (o_.mirror > 0) mirror_ = std::make_unique<demo::Mirror>(demo::Mirror::sender(static_cast<uint16_t>(o_.mirror)));
  adversary_ = std::make_unique<demo::Adversary>(server_.secure->root().group_id(), AeadSuite::kChaCha20Poly1305);
  messages_ = std::make_unique<demo::MessageAdversary>(server_.secure->root().group_id(), AeadSuite::kChaCha20Poly1305,
                                                       static_cast<uint8_t>(o_.teams), *demo::parse_leak(o_.leak));
  // The adversaries watch the wire only when they can hold keys: with bots in this
  // process, or a mirror to the load bots' adversary. A bare --listen server would spend
  // its CPU copying traffic nobody can attack (and the cost-of-security runs measure it).
  if (run_bots() || mirror_) {
    netkey::testing::set_tap(*server_.secure, [this](Channel ch, std::span<const uint8_t> b) {
      adversary_->observe(ch, b);
      messages_->observe(ch, b, enet::monotonic_ns());
      if (mirror_) mirror_->send_packet(ch, b);
    });
  }
  return 0;
}

void Run::make_swarm(uint16_t port) {
  demo::SwarmOptions so;
  so.bots = o_.bots;
  so.churn_per_s = o_.churn;
  so.host = host_;
  so.port = port;
  so.seed = 0xb075;
  so.last_subject = demo::kDemoSubjects;
  so.insecure = o_.insecure;
  so.chat_every_s = o_.insecure ? 0 : 2;
  swarm_ = std::make_unique<demo::Swarm>(so, &ids_, charter_, ids_.ca().public_key(), unix_zero_);
  // A departing bot hands every key it holds to the adversary (it keeps them forever).
  swarm_->set_on_departure([this](MemberId, const Participant& p) {
    if (server_.secure) adversary_->absorb(p);
  });
}

int Run::setup() {
  // The elected Root and List Controller of the demo charter.
  ids_.get("root", Role::kRoot, 9);
  charter_ = demo::demo_charter(ids_, static_cast<uint8_t>(o_.degree), false, o_.hash_forward,
                               static_cast<uint8_t>(o_.teams));
  unix_zero_ = detail::unix_zero_for(static_cast<uint64_t>(std::time(nullptr)), enet::monotonic_ns());
  if (run_server()) {
    if (int rc = make_server()) return rc;
    port_ = server_.port();
  } else {
    auto colon = o_.connect.rfind(':');
    if (colon == std::string::npos) usage("--connect wants HOST:PORT");
    host_ = o_.connect.substr(0, colon);
    port_ = static_cast<uint16_t>(std::atoi(o_.connect.c_str() + colon + 1));
  }
  // --faults: 5 % loss, 2 % duplication, 5 ms + up to 20 ms jitter each way, and at one
  // third of the run a 5 s partition of 10 % of the bots. --loss: the same without the
  // partition, at PCT % loss and PCT/2 % duplication.
  if (o_.faults || o_.loss >= 0) {
    demo::Faults f;
    if (o_.loss >= 0) f.loss = o_.loss / 100, f.duplicate = o_.loss / 200;
    proxy_ = std::make_unique<demo::FaultyProxy>(port_, f, 0xfa17);
    if (!proxy_->ok()) {  // the environment, not the command line: exit 1 like a failed server
      std::fprintf(stderr, "netkey-arena: cannot open the fault-injection proxy socket\n");
      return 1;
    }
  }
  if (run_bots()) make_swarm(proxy_ ? proxy_->port() : port_);
  std::printf("netkey-arena: %s%s on 127.0.0.1:%u, %zu bots, %.0f s, churn %.0f/s (joins + leaves), degree %d\n",
              run_server() && run_bots() ? "embedded server + bots" : run_server() ? "server" : "bots",
              o_.insecure ? " (INSECURE baseline: plain ENet)" : "", port_, o_.bots, o_.seconds, o_.churn, o_.degree);
  const demo::Identity& lc_id = ids_.get("lc", Role::kListController, 9);
  lc_ = std::make_unique<ListController>(demo::kDemoSession, server_.secure ? server_.secure->root().group_id() : 0,
                                         lc_id.seed, lc_id.certificate);
  return 0;
}

// A member's message: input (a shot may be a kill: a reliable event to everyone), a
// chat line (relayed reliably to the chatter's team), or a private message.
void Run::on_message(const RootEvent& e) {
  if (e.type == PacketType::kPrivateToRoot) {
    ++privates_received_;
    return;
  }
  if (!e.payload.empty() && e.payload[0] == 'C') {
    const auto team = server_.secure ? server_.secure->root().team_of(e.member) : std::nullopt;
    if (!team) return;
    std::vector<uint8_t> line = {'C', static_cast<uint8_t>(e.member), static_cast<uint8_t>(e.member >> 8)};
    line.insert(line.end(), e.payload.begin() + 1, e.payload.end());
    if (server_.secure->broadcast_to_team(*team, line, Delivery::kReliableOrdered)) ++chats_relayed_;
    return;
  }
  if (arena_.on_input(e.member, e.payload) && kill_budget_ > 0) {
    --kill_budget_;
    const uint8_t kill[] = {'K', static_cast<uint8_t>(e.member), static_cast<uint8_t>(e.member >> 8)};
    if (server_.broadcast_reliable(kill)) ++kills_sent_;
  }
}

void Run::on_event(const RootEvent& e, uint64_t now) {
  switch (e.kind) {
    case RootEvent::Kind::kJoined: arena_.join(e.member, e.team == kNoTeam ? -1 : e.team); break;
    case RootEvent::Kind::kTeamChanged:
      arena_.set_team(e.member, e.team);
      ++switches_done_;
      if (messages_) messages_->switched(e.member, e.epoch, now);
      break;
    case RootEvent::Kind::kLeft:
      arena_.leave(e.member);
      if (messages_) messages_->removed(e.member, e.epoch, now);
      adversary_->removed(e.member, e.epoch);
      if (mirror_) mirror_->send_removal(e.member, e.epoch);
      break;
    case RootEvent::Kind::kMessage: on_message(e); break;
    case RootEvent::Kind::kRekeyed:
      ++rekeys_this_second_;
      commit_at_[e.epoch] = now;
      break;
    default: break;
  }
}

void Run::serve(uint64_t now) {
  if (!server_.service()) return;
  while (auto e = server_.poll_event()) on_event(*e, now);
  if (now >= next_snapshot_) {
    next_snapshot_ += 33'333'333;
    server_.broadcast(arena_.snapshot(static_cast<uint32_t>(tick_++)));
  }
  // Every second: each player's private status, and a new budget of kill events.
  if (now >= next_private_) {
    next_private_ = now + 1'000'000'000;
    kill_budget_ = 20;
    for (const auto& [id, p] : arena_.players()) {
      if (server_.send_private(id, arena_.private_status(id))) ++privates_sent_;
    }
  }
  if (server_.secure) messaging(now);
  // Halfway: the matchmaker kicks a player (a security removal: rekeyed at once).
  if (!kicked_ && server_.secure && swarm_ && now > start_ + static_cast<uint64_t>(o_.seconds * 5e8)) {
    if (auto victim = swarm_->random_member_subject()) {
      kicked_ = true;
      (void)server_.secure->submit_control(*lc_->remove({*victim}).value());
      if (!o_.quiet) std::printf("  [%4.1fs] list controller kicks %s\n", static_cast<double>(now - start_) / 1e9, victim->c_str());
    }
  }
}

// Issue 12, secure only (the baseline has no teams): team positions at 10 Hz to each team
// alone, and the team switches. (The private statuses are in serve(), in both modes.)
void Run::messaging(uint64_t now) {
  enet::ServerHost& host = *server_.secure;
  const Root& root = host.root();
  if (o_.teams > 0 && now >= next_team_tick_) {
    next_team_tick_ = now + 100'000'000;
    for (int t = 0; t < o_.teams; ++t) {
      if (root.team_size(static_cast<TeamId>(t)) == 0) continue;
      if (host.broadcast_to_team(static_cast<TeamId>(t), arena_.team_positions(t))) ++team_broadcasts_;
    }
  }
  if (o_.teams >= 2 && o_.switch_rate > 0 && swarm_) switch_teams(now);
}

// --switch R: R players a second move to the next team (batched into the next commit).
void Run::switch_teams(uint64_t now) {
  if (last_switch_ns_ == 0) last_switch_ns_ = now;
  switch_credit_ += static_cast<double>(now - last_switch_ns_) / 1e9 * o_.switch_rate;
  last_switch_ns_ = now;
  enet::ServerHost& host = *server_.secure;
  while (switch_credit_ >= 1) {
    switch_credit_ -= 1;
    const auto subject = swarm_->pick_member_subject();
    const auto member = subject ? host.root().member_of(*subject) : std::nullopt;
    const auto team = member ? host.root().team_of(*member) : std::nullopt;
    if (!team) continue;
    if (host.assign_team(*subject, static_cast<TeamId>((*team + 1) % o_.teams))) ++switches_asked_;
  }
}

void Run::faults(uint64_t now) {
  proxy_->pump(now);
  if (o_.faults && !partitioned_ && now > start_ + static_cast<uint64_t>(o_.seconds * 1e9 / 3)) {
    partitioned_ = true;
    const size_t cut = proxy_->partition(0.1, now, 5'000'000'000);
    if (!o_.quiet) std::printf("  [%4.1fs] partition: %zu bots cut off for 5 s\n", static_cast<double>(now - start_) / 1e9, cut);
  }
}

void Run::bots(uint64_t now) {
  swarm_->tick(now);
  if (messages_) {
    swarm_->for_each_member([this](const Participant& p) { messages_->harvest(p); });
    messages_->pump(now);
  }
  // Commit-to-convergence latency (embedded): every bot in the group past the epoch.
  const uint64_t lo = swarm_->min_epoch();
  for (auto it = commit_at_.begin(); it != commit_at_.end() && it->first <= lo;) {
    commit_latency_ms_.push_back(static_cast<double>(now - it->second) / 1e6);
    it = commit_at_.erase(it);
  }
}

void Run::loop() {
  start_ = next_snapshot_ = enet::monotonic_ns();
  next_second_ = start_ + 1'000'000'000;
  const uint64_t churn_stop = start_ + static_cast<uint64_t>(std::max(0.0, o_.seconds - 3) * 1e9);
  const uint64_t end = start_ + static_cast<uint64_t>(o_.seconds * 1e9);
  for (uint64_t now = start_; now < end; now = enet::monotonic_ns()) {
    if (server_.exists()) {
      serve(now);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (proxy_) faults(now);
    if (swarm_) {
      if (now >= churn_stop) swarm_->set_churn(false);
      bots(now);
    }
    if (now >= next_second_) second(now);
  }
}

// Once a second: the time series and the status line.
void Run::second(uint64_t now) {
  next_second_ += 1'000'000'000;
  const demo::SwarmStats& st = stats();
  const uint64_t server_bytes = server_.exists() ? server_.bytes_sent() : 0;
  const uint64_t bot_bytes = st.rekey_bytes + st.state_bytes;
  const size_t members = server_.exists() ? server_.members() : swarm_->in_group();
  member_seconds_ += static_cast<double>(members);
  series_.t_s.push_back(static_cast<double>(now - start_) / 1e9);
  series_.members.push_back(static_cast<double>(members));
  series_.epoch.push_back(static_cast<double>(server_.exists() ? server_.epoch() : swarm_->max_epoch()));
  series_.rekeys.push_back(static_cast<double>(rekeys_this_second_));
  series_.server_bytes_per_s.push_back(static_cast<double>(server_bytes - last_server_bytes_));
  series_.bot_bytes_per_s.push_back(static_cast<double>(bot_bytes - last_bot_bytes_));
  series_.state_delayed.push_back(static_cast<double>(st.state_delayed - last_delayed_));
  const std::vector<double> recent(st.stall_ms.begin() + static_cast<std::ptrdiff_t>(last_stall_), st.stall_ms.end());
  series_.stall_p99_ms.push_back(demo::percentile(recent, 99));
  if (!o_.quiet) status_line(now);
  if (mirror_) mirror_->send_inputs_dropped(server_.inputs_dropped_epoch());  // for netkey-loadbots
  last_server_bytes_ = server_bytes;
  last_bot_bytes_ = bot_bytes;
  last_delayed_ = st.state_delayed;
  last_stall_ = st.stall_ms.size();
  rekeys_this_second_ = 0;
}

void Run::status_line(uint64_t now) {
  demo::SwarmStats& st = stats();
  std::string drops;
  for (const auto& [r, n] : st.undecryptable) drops += " " + r + "=" + std::to_string(n);
  for (const auto& [r, n] : st.transitions) drops += " " + r + "=" + std::to_string(n);
  if (server_.exists()) drops += server_.relay_drops();
  const auto& lat = latency();
  std::printf("  [%4.1fs] members %4.0f  epoch %5.0f  rekeys/s %3llu  rekey latency p50 %5.1f ms p99 %6.1f ms  "
              "%7.1f KB/s  stall p99 %5.1f ms  delayed %5.2f %%  inputs dropped (epoch) %llu  drops:%s\n",
              static_cast<double>(now - start_) / 1e9, series_.members.back(), series_.epoch.back(),
              static_cast<unsigned long long>(rekeys_this_second_), demo::percentile(lat, 50),
              demo::percentile(lat, 99),
              (server_.exists() ? series_.server_bytes_per_s.back() : series_.bot_bytes_per_s.back()) / 1024.0,
              demo::percentile(st.stall_ms, 99), 100.0 * st.state_delayed_fraction(),
              static_cast<unsigned long long>(server_.exists() ? server_.inputs_dropped_epoch() : 0),
              drops.empty() ? " none" : drops.c_str());
  std::fflush(stdout);
}

// Lets the last rekeys land before judging convergence.
bool Run::settle() {
  if (!swarm_) return true;
  swarm_->set_churn(false);
  const uint64_t settle_end = enet::monotonic_ns() + 5'000'000'000;
  for (;;) {
    const uint64_t now = enet::monotonic_ns();
    if (server_.exists()) (void)server_.service();
    if (proxy_) proxy_->pump(now);
    swarm_->tick(now);
    bool converged = false;
    if (server_.secure) {
      const Root& root = server_.secure->root();
      converged = swarm_->converged(root.epoch(), root.has_net_key() ? &netkey::testing::root_net_key(root) : nullptr);
    } else {
      converged = server_.plain ? swarm_->converged(0, nullptr) : swarm_->min_epoch() == swarm_->max_epoch();
    }
    if (converged || now > settle_end) return converged;
  }
}

uint64_t Run::undecryptable() {
  uint64_t n = 0;
  for (const auto& [r, c] : stats().undecryptable) n += c;
  return n;
}

void Run::summary(bool converged) {
  const demo::SwarmStats& st = stats();
  const auto& lat = latency();
  if (!run_bots()) {
    std::printf("summary: server epoch %llu after %llu rekeys; %llu bytes sent; %llu inputs dropped for an epoch reason\n",
                static_cast<unsigned long long>(server_.epoch()), static_cast<unsigned long long>(server_.commits()),
                static_cast<unsigned long long>(server_.bytes_sent()),
                static_cast<unsigned long long>(server_.inputs_dropped_epoch()));
    return;
  }
  std::printf("summary: %s, epoch %llu after %llu rekeys; %llu joins, %llu leaves, kick seen by %llu bot(s)\n",
              converged ? (o_.insecure ? "every bot connected" : "every bot holds the server's epoch and key")
                        : "NOT CONVERGED",
              static_cast<unsigned long long>(server_.exists() ? server_.epoch() : swarm_->max_epoch()),
              static_cast<unsigned long long>(server_.commits()), static_cast<unsigned long long>(st.joins),
              static_cast<unsigned long long>(st.leaves), static_cast<unsigned long long>(st.kicks_seen));
  std::printf("         rekey latency p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu samples, %llu timeouts)\n",
              demo::percentile(lat, 50), demo::percentile(lat, 99),
              lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()), lat.size(),
              static_cast<unsigned long long>(st.latency_timeouts));
  const double bot_s = std::max(1.0, st.bot_seconds);
  std::printf("         per bot: %.0f B/s of rekeys, %.0f B/s of state; %llu messages; undecryptable %llu\n",
              static_cast<double>(st.rekey_bytes) / bot_s, static_cast<double>(st.state_bytes) / bot_s,
              static_cast<unsigned long long>(st.messages), static_cast<unsigned long long>(undecryptable()));
  std::printf("         players: stall p50 %.1f ms, p99 %.1f ms, max %.1f ms (per member per rekey p99 %.1f ms); %.3f %% "
              "of snapshots delayed or lost to a rekey (%llu + %llu of %llu); %llu of %llu inputs dropped for an epoch reason\n",
              demo::percentile(st.stall_ms, 50), demo::percentile(st.stall_ms, 99),
              st.stall_ms.empty() ? 0.0 : *std::max_element(st.stall_ms.begin(), st.stall_ms.end()),
              demo::percentile(st.stall_per_rekey_ms, 99),
              100.0 * st.state_delayed_fraction(), static_cast<unsigned long long>(st.state_delayed),
              static_cast<unsigned long long>(st.state_lost_rekey), static_cast<unsigned long long>(st.state_expected),
              static_cast<unsigned long long>(server_.exists() ? server_.inputs_dropped_epoch() : 0),
              static_cast<unsigned long long>(st.inputs_sent));
  if (!o_.insecure) {
    demo::print_adversary(*adversary_);
    messaging_summary();
  }
}

void Run::report(bool converged, const std::string& path) {
  const demo::SwarmStats& st = stats();
  const double wall_s = static_cast<double>(enet::monotonic_ns() - start_) / 1e9;
  const double bot_s = std::max(1.0, st.bot_seconds);
  demo::JsonReport r;
  r.text("tool", "netkey-arena");
  r.text("mode", o_.insecure ? "insecure" : "secure");
  r.text("role", run_server() && run_bots() ? "embedded" : run_server() ? "server" : "bots");
  r.number("bots", static_cast<double>(o_.bots));
  r.number("seconds", o_.seconds);
  r.number("churn_per_s", o_.churn);
  r.number("degree", o_.degree);
  r.number("loss_pct", o_.loss >= 0 ? o_.loss : o_.faults ? 5 : 0);
  r.boolean("faults", o_.faults);
  r.number("epochs", static_cast<double>(server_.exists() ? server_.epoch() : 0));
  r.number("rekeys", static_cast<double>(server_.commits()));
  demo::report_players(r, st, latency());
  r.number("inputs_dropped_epoch", static_cast<double>(server_.exists() ? server_.inputs_dropped_epoch() : 0));
  r.number("inputs_sent", static_cast<double>(st.inputs_sent));
  r.counts("undecryptable", st.undecryptable);
  r.counts("transitions", st.transitions);
  demo::report_adversary(r, *adversary_);
  {
    // Issue 12: by kind; adversary_decryptions stays the total over every kind. The
    // insecure baseline has the same keys (zeros: there is nothing to attack).
    nlohmann::ordered_json kinds = nlohmann::ordered_json::object();
    uint64_t total = 0;
    for (const char* kind : {"removed", "other_team", "other_private", "switched_team"}) {
      const demo::Tally t = adversary_kinds()[kind];
      kinds[kind] = {{"attempts", t.attempts}, {"decryptions", t.decryptions}};
      total += t.decryptions;
    }
    r.json("adversary", std::move(kinds));
    r.number("adversary_decryptions", static_cast<double>(total));
  }
  r.number("teams", o_.teams);
  r.number("switch_per_s", o_.switch_rate);
  r.number("team_switches", static_cast<double>(switches_done_));
  r.number("team_broadcasts_sent", static_cast<double>(team_broadcasts_));
  r.number("private_sent", static_cast<double>(privates_sent_));
  r.number("kills_sent", static_cast<double>(kills_sent_));
  // Redundant rekey copies the Root queued, and those ServerHost did not send (to links
  // that showed no loss).
  r.number("rekey_copies_queued", static_cast<double>(server_.secure ? server_.secure->root().stats().rekey_copies_sent : 0));
  r.number("rekey_copies_skipped", static_cast<double>(server_.secure ? server_.secure->stats().redundant_skipped : 0));
  r.number("chats_relayed", static_cast<double>(chats_relayed_));
  r.number("bot_team_messages", static_cast<double>(st.team_messages));
  r.number("bot_private_messages", static_cast<double>(st.private_messages));
  r.number("bot_private_not_theirs", static_cast<double>(st.private_not_mine));
  r.number("bot_reliable_events", static_cast<double>(st.events));
  r.number("server_bytes", static_cast<double>(server_.exists() ? server_.bytes_sent() : 0));
  r.number("server_bytes_per_member_per_s",
           static_cast<double>(server_.exists() ? server_.bytes_sent() : 0) / std::max(1.0, member_seconds()));
  r.number("process_cpu_ms_per_s", 1000.0 * cpu_seconds() / wall_s);
  demo::report_run_tail(r, st.rekey_bytes, st.state_bytes, bot_s, converged, latency(), st.stall_ms, series_);
  if (!r.write(path)) std::fprintf(stderr, "netkey-arena: cannot write %s\n", path.c_str());
}

std::map<std::string, demo::Tally> Run::adversary_kinds() const {
  std::map<std::string, demo::Tally> k = {{"other_team", {}}, {"other_private", {}}, {"switched_team", {}}};
  demo::Tally removed{adversary_->attempts(), adversary_->decryptions()};
  if (messages_) {
    removed.attempts += messages_->removed_team().attempts;
    removed.decryptions += messages_->removed_team().decryptions;
    k["other_team"] = messages_->other_team();
    k["other_private"] = messages_->other_private();
    k["switched_team"] = messages_->switched_team();
  }
  k["removed"] = removed;
  return k;
}

bool Run::kind_applies(const std::string& kind) const {
  if (kind == "other_team") return o_.teams >= 2;
  if (kind == "switched_team") return o_.teams >= 2 && o_.switch_rate > 0;
  return true;
}

// Every kind that applies: tried (attempts > 0) and opened nothing; and the honest side
// received what it should: team positions, its own private messages, reliable events.
bool Run::messaging_check() {
  bool ok = true;
  for (const auto& [kind, t] : adversary_kinds()) {
    if (t.decryptions != 0) {
      std::fprintf(stderr, "netkey-arena: adversary %s opened %llu packets it must not read\n", kind.c_str(),
                   static_cast<unsigned long long>(t.decryptions));
      ok = false;
    }
    if (kind_applies(kind) && t.attempts == 0) {
      std::fprintf(stderr, "netkey-arena: adversary %s made no attempt, so it proved nothing\n", kind.c_str());
      ok = false;
    }
  }
  const demo::SwarmStats& st = stats();
  const bool honest = (o_.teams == 0 || st.team_messages > 0) && st.private_messages > 0 && st.events > 0 &&
                      st.private_not_mine == 0 && (o_.teams < 2 || o_.switch_rate == 0 || switches_done_ > 0);
  if (!honest) {
    std::fprintf(stderr, "netkey-arena: bots received %llu team messages, %llu private (%llu not theirs), %llu events; "
                 "%llu switches\n", static_cast<unsigned long long>(st.team_messages),
                 static_cast<unsigned long long>(st.private_messages), static_cast<unsigned long long>(st.private_not_mine),
                 static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(switches_done_));
  }
  return ok && honest;
}

void Run::messaging_summary() {
  const demo::SwarmStats& st = stats();
  std::printf("         messaging: %d teams, %llu switches; server sent %llu team broadcasts, %llu private, %llu kills, "
              "%llu chats (got %llu private); bots got %llu team, %llu private (%llu not theirs), %llu reliable\n",
              o_.teams, static_cast<unsigned long long>(switches_done_), static_cast<unsigned long long>(team_broadcasts_),
              static_cast<unsigned long long>(privates_sent_), static_cast<unsigned long long>(kills_sent_),
              static_cast<unsigned long long>(chats_relayed_), static_cast<unsigned long long>(privates_received_),
              static_cast<unsigned long long>(st.team_messages), static_cast<unsigned long long>(st.private_messages),
              static_cast<unsigned long long>(st.private_not_mine), static_cast<unsigned long long>(st.events));
  std::string line;
  for (const auto& [kind, t] : adversary_kinds()) {
    line += " " + kind + " " + std::to_string(t.decryptions) + "/" + std::to_string(t.attempts);
  }
  std::printf("         adversary by kind (decryptions/attempts):%s\n", line.c_str());
}

bool Run::check(bool converged) {
  const demo::SwarmStats& st = stats();
  // Insecure: nothing to attack, so no adversary; the bots must still have played.
  if (o_.insecure) return converged && st.joins > 0 && st.state_expected > 0;
  // The adversary must have tried (0 attempts proves nothing) and opened nothing.
  const bool adversary_ok = demo::adversary_check(*adversary_, "netkey-arena");
  const bool faults_ok = !proxy_ || o_.loss == 0 ||
                         (proxy_->dropped() > 0 && (!o_.faults || proxy_->partitioned() > 0));
  const bool messaging_ok = messaging_check();
  return converged && undecryptable() == 0 && adversary_ok && messaging_ok && (!swarm_ || st.joins > 0) && faults_ok;
}

int Run::finish() {
  const bool converged = settle();
  summary(converged);
  if (proxy_) {
    std::printf("         faults: %llu datagrams forwarded, %llu dropped, %llu duplicated, %llu cut by the partition; "
                "%llu bot connections timed out\n",
                static_cast<unsigned long long>(proxy_->forwarded()), static_cast<unsigned long long>(proxy_->dropped()),
                static_cast<unsigned long long>(proxy_->duplicated()),
                static_cast<unsigned long long>(proxy_->partitioned()),
                static_cast<unsigned long long>(stats().dropped_connections));
  }
  // CPU is this process's (in --listen mode: the server alone).
  const double wall_s = static_cast<double>(enet::monotonic_ns() - start_) / 1e9;
  const double cpu_s = cpu_seconds();
  std::printf("         process CPU %.2f s over %.1f s (%.0f ms of CPU per second)%s\n", cpu_s, wall_s,
              1000.0 * cpu_s / wall_s, run_bots() ? ", bots included" : ", the server alone");
  return demo::finish_run(
      kTool, o_.report, o_.plots, [&](const std::string& path) { report(converged, path); }, o_.check,
      [&] { return check(converged); });
}

}  // namespace

int main(int argc, char** argv) { return demo::run_tool<Run>(parse(argc, argv)); }
