#include "charter_cmd.h"

#include <sstream>
#include <tuple>

#include "netkey/certificate.h"
#include "netkey/keyfile.h"

namespace netkey::tools {
namespace {

std::string trim(std::string s) {
  const char* ws = " \t\r";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

Status bad(const std::string& m) { return Status(Errc::kInvalidArgument, m); }

Result<uint64_t> number(const std::string& key, const std::string& v, uint64_t max) {
  uint64_t out = 0;
  int base = 10;
  std::string digits = v;
  if (v.rfind("0x", 0) == 0) {
    base = 16;
    digits = v.substr(2);
  }
  if (digits.empty() || digits.size() > 16) return bad(key + ": not a number: '" + v + "'");
  for (char c : digits) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (base == 16 && c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return bad(key + ": not a number: '" + v + "'");
    out = out * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (out > max) return bad(key + ": " + v + " is more than " + std::to_string(max));
  return out;
}

}  // namespace

Result<CharterFields> parse_charter_text(const std::string& text, uint64_t now_unix, uint64_t random_session,
                                         const std::function<Result<std::vector<uint8_t>>(const std::string&)>& read_cert) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) return bad("line " + std::to_string(lineno) + ": expected 'name: value'");
    std::string k = trim(line.substr(0, colon)), v = trim(line.substr(colon + 1));
    if (kv.count(k)) return bad("line " + std::to_string(lineno) + ": '" + k + "' given twice");
    kv[k] = v;
  }
  static const char* kKnown[] = {"session", "suite", "classification", "degree", "batch-window-ms", "max-batch",
                                 "join-policy", "broadcast-auth", "member-cap", "root", "list-controller",
                                 "participants", "valid-days", "teams"};
  for (const auto& [k, v] : kv) {
    bool ok = false;
    for (const char* n : kKnown) ok = ok || k == n;
    if (!ok) return bad("unknown setting '" + k + "'");
  }
  for (const char* req : {"root", "list-controller"}) {
    if (!kv.count(req)) return bad(std::string("missing '") + req + "' (a certificate file)");
  }
  CharterFields f;
  auto get = [&](const char* k, const char* dflt) { return kv.count(k) ? kv[k] : std::string(dflt); };
  if (get("session", "random") == "random") {
    f.session_id = random_session;
  } else {
    auto s = number("session", get("session", ""), UINT64_MAX);
    if (!s) return s.status();
    f.session_id = *s;
  }
  auto suite = parse_aead_suite(get("suite", "chacha20poly1305"));
  if (!suite) return Status(Errc::kInvalidArgument, "suite: " + suite.status().message());
  f.suite = *suite;
  struct Num {
    const char* key;
    const char* dflt;
    uint64_t max;
  };
  auto num = [&](Num n) { return number(n.key, get(n.key, n.dflt), n.max); };
  auto cls = num({"classification", "0", 255});
  auto deg = num({"degree", "4", 16});
  auto win = num({"batch-window-ms", "50", 60000});
  auto mb = num({"max-batch", "256", 1u << 20});
  auto cap = num({"member-cap", "1024", kMaxMemberCap});
  auto days = num({"valid-days", "1", 3650});
  auto teams = num({"teams", "0", 16});  // tree_teams; verify_charter checks it against the degree
  for (auto* r : {&cls, &deg, &win, &mb, &cap, &days, &teams}) {
    if (!*r) return r->status();
  }
  f.classification = static_cast<uint8_t>(*cls);
  f.degree = static_cast<uint8_t>(*deg);
  f.batch_window_ms = static_cast<uint32_t>(*win);
  f.max_batch = static_cast<uint32_t>(*mb);
  f.member_cap = static_cast<uint32_t>(*cap);
  f.teams = static_cast<uint8_t>(*teams);
  const std::string jp = get("join-policy", "rekey"), ba = get("broadcast-auth", "group");
  if (jp != "rekey" && jp != "hash-forward") return bad("join-policy: use rekey or hash-forward");
  if (ba != "group" && ba != "signed") return bad("broadcast-auth: use group or signed");
  f.hash_forward_joins = jp == "hash-forward";
  f.signed_broadcasts = ba == "signed";
  for (auto [key, role, out] : {std::tuple{"root", Role::kRoot, &f.root_key_id},
                                std::tuple{"list-controller", Role::kListController, &f.list_controller_key_id}}) {
    auto bytes = read_cert(kv[key]);
    if (!bytes) return Status(bytes.code(), std::string(key) + ": " + bytes.status().message());
    auto cert = parse_certificate(*bytes);
    if (!cert) return Status(cert.code(), std::string(key) + ": " + kv[key] + " is not a certificate");
    if (cert->role != role) {
      return bad(std::string(key) + ": " + kv[key] + " is a " + std::string(role_name(cert->role)) + " certificate");
    }
    *out = key_id_of(cert->public_key);
  }
  std::string list = get("participants", "");
  std::istringstream ps(list);
  std::string p;
  while (std::getline(ps, p, ',')) {
    p = trim(p);
    if (!p.empty()) f.participants.push_back(p);
  }
  f.not_before = now_unix;
  f.not_after = now_unix + *days * 86400;
  return f;
}

std::string describe_charter(const CharterFields& f) {
  std::ostringstream o;
  o << "  session:         0x" << std::hex << f.session_id << std::dec << "\n"
    << "  suite:           " << aead_suite_name(f.suite) << " (256-bit keys)\n"
    << "  classification:  " << unsigned{f.classification} << "\n"
    << "  tree degree:     " << unsigned{f.degree} << "\n"
    << "  teams:           " << (f.teams == 0 ? std::string("none") : std::to_string(f.teams)) << "\n"
    << "  batch:           " << f.batch_window_ms << " ms window, at most " << f.max_batch << " changes\n"
    << "  join policy:     " << (f.hash_forward_joins ? "hash-forward" : "rekey") << "\n"
    << "  broadcast auth:  " << (f.signed_broadcasts ? "signed by the Root" : "group") << "\n"
    << "  member cap:      " << f.member_cap << "\n"
    << "  root key id:     " << to_hex(f.root_key_id.bytes) << "\n"
    << "  list controller: " << to_hex(f.list_controller_key_id.bytes) << "\n"
    << "  participants:    " << f.participants.size() << "\n"
    << "  valid:           " << f.not_before << " to " << f.not_after << " (Unix seconds)\n";
  return o.str();
}

}  // namespace netkey::tools
