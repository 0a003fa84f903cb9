#include "common/report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

namespace netkey::demo {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(i == 0 ? 0 : i - 1, v.size() - 1)];
}

namespace {

// A count (an integral value) as an exact integer; anything else rounded to six
// significant digits (what the report's values always were). Not finite: null.
nlohmann::ordered_json json_number(double v) {
  constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below is exact
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < kExact) {
    return v < 0 ? nlohmann::ordered_json(static_cast<int64_t>(v)) : nlohmann::ordered_json(static_cast<uint64_t>(v));
  }
  if (!std::isfinite(v)) return nullptr;
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return std::strtod(text, nullptr);
}

}  // namespace

void JsonReport::number(const std::string& key, double v) { fields_[key] = json_number(v); }
void JsonReport::json(const std::string& key, nlohmann::ordered_json v) { fields_[key] = std::move(v); }
void JsonReport::boolean(const std::string& key, bool v) { fields_[key] = v; }
void JsonReport::counts(const std::string& key, const std::map<std::string, uint64_t>& m) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m) o[k] = v;
  fields_[key] = std::move(o);
}
void JsonReport::latency(const std::string& key, const std::vector<double>& ms) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  o["p50"] = json_number(percentile(ms, 50));
  o["p99"] = json_number(percentile(ms, 99));
  o["max"] = json_number(ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
  o["samples"] = ms.size();
  fields_[key] = std::move(o);
}
void JsonReport::null(const std::string& key) { fields_[key] = nullptr; }
void JsonReport::text(const std::string& key, const std::string& v) { fields_[key] = v; }
void JsonReport::cdf(const std::string& key, const std::vector<double>& ms) {
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (int p = 0; p <= 100 && !sorted.empty(); ++p) {
    const size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    a.push_back(json_number(sorted[std::min(i == 0 ? 0 : i - 1, sorted.size() - 1)]));
  }
  if (!fields_.contains("cdf")) fields_["cdf"] = nlohmann::ordered_json::object();
  fields_["cdf"][key] = std::move(a);
}
void JsonReport::series(const std::string& key, const std::vector<double>& values) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double v : values) a.push_back(json_number(v));
  if (!fields_.contains("series")) fields_["series"] = nlohmann::ordered_json::object();
  fields_["series"][key] = std::move(a);
}
bool JsonReport::write(const std::string& path) const {
  std::ofstream f(path);
  if (!f) return false;
  f << fields_.dump(2) << "\n";
  return static_cast<bool>(f);
}

Mirror Mirror::sender(uint16_t port) {
  Mirror m;
  enet_initialize();
  m.socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
  enet_address_set_host(&m.to_, "127.0.0.1");
  m.to_.port = port;
  return m;
}

Mirror Mirror::receiver(uint16_t port) {
  Mirror m;
  enet_initialize();
  m.socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
  ENetAddress a;
  enet_address_set_host(&a, "127.0.0.1");
  a.port = port;
  if (m.socket_ == ENET_SOCKET_NULL || enet_socket_bind(m.socket_, &a) != 0) {
    if (m.socket_ != ENET_SOCKET_NULL) enet_socket_destroy(m.socket_);
    m.socket_ = ENET_SOCKET_NULL;
    return m;
  }
  enet_socket_set_option(m.socket_, ENET_SOCKOPT_NONBLOCK, 1);
  enet_socket_set_option(m.socket_, ENET_SOCKOPT_RCVBUF, 8 << 20);
  return m;
}

Mirror::Mirror(Mirror&& o) noexcept : socket_(o.socket_), to_(o.to_) { o.socket_ = ENET_SOCKET_NULL; }
Mirror::~Mirror() {
  if (socket_ != ENET_SOCKET_NULL) enet_socket_destroy(socket_);
}

void Mirror::send_packet(Channel ch, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> d(1 + bytes.size());
  d[0] = static_cast<uint8_t>(ch);
  std::copy(bytes.begin(), bytes.end(), d.begin() + 1);
  ENetBuffer b{d.data(), d.size()};
  enet_socket_send(socket_, &to_, &b, 1);
}

void Mirror::send_removal(uint32_t member, uint64_t epoch) {
  uint8_t d[13] = {0x10};
  for (int i = 0; i < 4; ++i) d[1 + i] = static_cast<uint8_t>(member >> (8 * i));
  for (int i = 0; i < 8; ++i) d[5 + i] = static_cast<uint8_t>(epoch >> (8 * i));
  ENetBuffer b{d, sizeof d};
  enet_socket_send(socket_, &to_, &b, 1);
}

void Mirror::send_inputs_dropped(uint64_t count) {
  uint8_t d[9] = {0x11};
  for (int i = 0; i < 8; ++i) d[1 + i] = static_cast<uint8_t>(count >> (8 * i));
  ENetBuffer b{d, sizeof d};
  enet_socket_send(socket_, &to_, &b, 1);
}

bool Mirror::receive(std::vector<uint8_t>& out) {
  out.resize(65536);
  ENetBuffer b{out.data(), out.size()};
  ENetAddress from;
  const int n = enet_socket_receive(socket_, &from, &b, 1);
  if (n <= 0) return false;
  out.resize(static_cast<size_t>(n));
  return true;
}

namespace {
// Single-quoted for the shell.
std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

bool write_plots(const char* tool, const std::string& report, const std::string& dir) {
  const char* env = std::getenv("NETKEY_PLOTS_SCRIPT");
  const std::string script = env && *env ? env : NETKEY_PLOTS_SCRIPT;
  if (!std::ifstream(script)) {
    std::fprintf(stderr, "%s: --plots: no plot script at %s (set NETKEY_PLOTS_SCRIPT)\n", tool, script.c_str());
    return false;
  }
  // Debian's python3 (where python3-matplotlib installs) before whatever python3 is first
  // on PATH (a pyenv or venv python would not see it); NETKEY_PYTHON overrides both.
  const char* py_env = std::getenv("NETKEY_PYTHON");
  std::string python = py_env && *py_env ? py_env : access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  if (std::system(("command -v " + shell_quoted(python) + " > /dev/null 2>&1").c_str()) != 0) {
    std::fprintf(stderr, "%s: --plots needs python3 (apt-get install python3 python3-matplotlib)\n", tool);
    return false;
  }
  const std::string cmd = shell_quoted(python) + " " + shell_quoted(script) + " --out " + shell_quoted(dir) + " " + shell_quoted(report);
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {  // the script said why (matplotlib missing: its exit status 3)
    std::fprintf(stderr, "%s: --plots: %s failed\n", tool, script.c_str());
    return false;
  }
  std::printf("         plots: %s\n", dir.c_str());
  return true;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

void report_players(JsonReport& r, const SwarmStats& st, const std::vector<double>& rekey_latency_ms) {
  r.latency("rekey_latency_ms", rekey_latency_ms);
  r.latency("stall_ms", st.stall_ms);
  r.latency("stall_per_rekey_ms", st.stall_per_rekey_ms);
  r.number("state_delayed_fraction", st.state_delayed_fraction());
  r.number("state_packets_expected", static_cast<double>(st.state_expected));
  r.number("state_packets_received", static_cast<double>(st.state_received));
  r.number("state_packets_delayed", static_cast<double>(st.state_delayed));
  r.number("state_packets_lost_rekey", static_cast<double>(st.state_lost_rekey));
}

void report_run_tail(JsonReport& r, uint64_t rekey_bytes, uint64_t state_bytes, double bot_s, bool converged,
                     const std::vector<double>& rekey_latency_ms, const std::vector<double>& stall_ms,
                     const RunSeries& series) {
  r.number("rekey_bytes_per_bot_per_s", static_cast<double>(rekey_bytes) / bot_s);
  r.number("state_bytes_per_bot_per_s", static_cast<double>(state_bytes) / bot_s);
  r.number("bytes_per_bot_per_s", static_cast<double>(rekey_bytes + state_bytes) / bot_s);
  r.boolean("converged", converged);
  r.cdf("rekey_latency_ms", rekey_latency_ms);
  r.cdf("stall_ms", stall_ms);
  const std::pair<const char*, const std::vector<double>*> all[] = {
      {"t_s", &series.t_s},
      {"members", &series.members},
      {"epoch", &series.epoch},
      {"rekeys", &series.rekeys},
      {"server_bytes_per_s", &series.server_bytes_per_s},
      {"bot_bytes_per_s", &series.bot_bytes_per_s},
      {"state_delayed", &series.state_delayed},
      {"stall_p99_ms", &series.stall_p99_ms}};
  for (const auto& [key, values] : all) {
    if (!values->empty() || series.t_s.empty()) r.series(key, *values);
  }
}

int finish_run(const char* tool, const std::string& report, const std::string& plots,
               const std::function<void(const std::string&)>& write_report, bool check_wanted,
               const std::function<bool()>& check) {
  const std::string path = !report.empty() ? report : !plots.empty() ? plots + "/report.json" : "";
  if (!plots.empty()) std::filesystem::create_directories(plots);
  if (!path.empty()) write_report(path);
  int rc = 0;
  if (!plots.empty() && !write_plots(tool, path, plots)) rc = 1;
  if (check_wanted && !check()) {
    std::fprintf(stderr, "%s: --check failed\n", tool);
    rc = 1;
  }
  return rc;
}

void print_adversary(const Adversary& a) {
  std::printf("         adversary: %zu removed bots kept their keys (%zu keys, %zu net keys); %llu attempts on %llu "
              "packets, %llu rekey trials, %.2f s busy; %llu post-removal decryptions (%llu in the grace)\n",
              a.members(), a.keys(), a.net_keys(), static_cast<unsigned long long>(a.attempts()),
              static_cast<unsigned long long>(a.packets()), static_cast<unsigned long long>(a.rekey_trials()),
              static_cast<double>(a.busy_ns()) / 1e9, static_cast<unsigned long long>(a.decryptions()),
              static_cast<unsigned long long>(a.grace_decryptions()));
}

void report_adversary(JsonReport& r, const Adversary& a) {
  r.number("adversary_decryptions", static_cast<double>(a.decryptions()));
  r.number("adversary_attempts", static_cast<double>(a.attempts()));
  r.number("adversaries", static_cast<double>(a.members()));
  r.number("adversary_packets", static_cast<double>(a.packets()));
  r.number("adversary_rekey_trials", static_cast<double>(a.rekey_trials()));
  r.number("adversary_keys", static_cast<double>(a.keys()));
  r.number("adversary_net_keys", static_cast<double>(a.net_keys()));
  r.number("adversary_grace_decryptions", static_cast<double>(a.grace_decryptions()));
  r.number("adversary_busy_s", static_cast<double>(a.busy_ns()) / 1e9);
}

bool adversary_check(const Adversary& a, const char* tool) {
  if (a.decryptions() != 0) {
    std::fprintf(stderr, "%s: the adversary opened %llu packets after its removal\n", tool,
                 static_cast<unsigned long long>(a.decryptions()));
    return false;
  }
  if (a.attempts() == 0) {
    std::fprintf(stderr, "%s: the adversary made no attempt (%zu removed bots), so it proved nothing\n", tool,
                 a.members());
    return false;
  }
  return true;
}

}  // namespace netkey::demo
