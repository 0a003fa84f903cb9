// Small helpers shared by netkey-arena and netkey-loadbots: percentiles, the JSON report
// (nlohmann-json; keys in the order they are added), and the test-only traffic mirror
// (the server copies everything it sends, and each removal, to a local UDP port so a
// separate load-bot process can run the adversary).
#ifndef NETKEY_SAMPLES_COMMON_REPORT_H_
#define NETKEY_SAMPLES_COMMON_REPORT_H_

#include <enet/enet.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/adversary.h"
#include "common/swarm.h"
#include "netkey/group.h"

namespace netkey::demo {

double percentile(std::vector<double> v, double p);

class JsonReport {
 public:
  // An integral value (a count) is written as an exact integer; any other keeps six
  // significant digits, as the report always had.
  void number(const std::string& key, double v);
  void boolean(const std::string& key, bool v);
  void counts(const std::string& key, const std::map<std::string, uint64_t>& m);
  void latency(const std::string& key, const std::vector<double>& ms);  // {"p50","p99","max","samples"}
  void text(const std::string& key, const std::string& v);
  void json(const std::string& key, nlohmann::ordered_json v);  // any value, e.g. a nested object
  void null(const std::string& key);  // a value this run could not know
  // cdf.<key>: the 0th, 1st, ..., 100th percentiles of `ms` (101 values; empty when
  // there are no samples), for tools/plots/plots.py's CDF.
  void cdf(const std::string& key, const std::vector<double>& ms);
  // series.<key>: one value per second of the run (series.t_s holds the times).
  void series(const std::string& key, const std::vector<double>& values);
  // Errors: false when the file cannot be written.
  bool write(const std::string& path) const;

 private:
  nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
};

// The adversary's counts: one summary line on stdout, and the report fields
// adversary_decryptions (must be 0), adversary_attempts (must be > 0), adversaries,
// adversary_packets, adversary_rekey_trials, adversary_keys, adversary_net_keys,
// adversary_grace_decryptions and adversary_busy_s (its wall time).
void print_adversary(const Adversary& a);
void report_adversary(JsonReport& r, const Adversary& a);
// The --check verdict on the adversary: false (with the reason on stderr, after `tool`)
// when it opened anything it must not, or made no attempt (then it proved nothing).
bool adversary_check(const Adversary& a, const char* tool);

// Raises this process's open-file limit to its hard limit (a socket per bot).
void raise_fd_limit();

// A tool's main(): raise the open-file limit, parse, set up, loop, finish (its exit code).
template <class Run, class Options>
int run_tool(Options options) {
  raise_fd_limit();
  Run run(std::move(options));
  if (int rc = run.setup()) return rc;
  run.loop();
  return run.finish();
}

// What the players felt, from the bots' side: stall_ms (with `rekey_latency_ms` before
// it), state_delayed_fraction and the state packet counts behind it.
void report_players(JsonReport& r, const SwarmStats& st, const std::vector<double>& rekey_latency_ms);

// One sample a second of a run, for the report's "series" (plots). A tool leaves the
// series it cannot measure empty (the load bots see no server bytes): those are not
// written.
struct RunSeries {
  std::vector<double> t_s, members, epoch, rekeys, server_bytes_per_s, bot_bytes_per_s, state_delayed, stall_p99_ms;
};

// The keys both tools end a report with: rekey/state/total bytes per bot per second
// (over `bot_s` bot-seconds), converged, the CDFs of rekey latency and stall, the series.
void report_run_tail(JsonReport& r, uint64_t rekey_bytes, uint64_t state_bytes, double bot_s, bool converged,
                     const std::vector<double>& rekey_latency_ms, const std::vector<double>& stall_ms,
                     const RunSeries& series);

// Writes the run's SVG plots into `dir` (created if missing) from the JSON report at
// `report`, with tools/plots/plots.py (NETKEY_PLOTS_SCRIPT in the environment, else the
// copy in the source tree this binary was built from) under python3 + matplotlib
// (NETKEY_PYTHON, else /usr/bin/python3, else python3 on PATH).
// Errors: false, with what is missing (python3, matplotlib, the script) on stderr.
bool write_plots(const char* tool, const std::string& report, const std::string& dir);

// The end of an arena or load-bot run, the same for both: the report goes to `report`,
// or to `plots`/report.json when only --plots is given (nowhere when neither is), through
// `write_report(path)`; the plots are drawn when `plots` is set; `check()` runs when
// `check_wanted` and prints "<tool>: --check failed" on failure. Returns the exit code:
// 0, or 1 when the plots or the check failed.
int finish_run(const char* tool, const std::string& report, const std::string& plots,
               const std::function<void(const std::string&)>& write_report, bool check_wanted,
               const std::function<bool()>& check);

// Mirror datagrams: byte 0 is the channel (0..3) followed by the payload; 0x10
// followed by le32(member) || le64(epoch) for a removal; 0x11 followed by
// le64(inputs dropped for an epoch reason so far) once a second (the server's count).
class Mirror {
 public:
  // Sender side: to 127.0.0.1:port. Receiver side: bound to 127.0.0.1:port, non-blocking.
  static Mirror sender(uint16_t port);
  static Mirror receiver(uint16_t port);
  Mirror(Mirror&&) noexcept;
  ~Mirror();
  bool ok() const { return socket_ != ENET_SOCKET_NULL; }
  void send_packet(Channel ch, std::span<const uint8_t> bytes);
  void send_removal(uint32_t member, uint64_t epoch);
  void send_inputs_dropped(uint64_t count);
  // Returns false when nothing is waiting.
  bool receive(std::vector<uint8_t>& out);

 private:
  Mirror() = default;
  ENetSocket socket_ = ENET_SOCKET_NULL;
  ENetAddress to_{};
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_REPORT_H_
