// netkey-ca: create a Root-CA, issue certificates, show and verify them.
//
//   netkey-ca init   --dir DIR [--name NAME]
//   netkey-ca issue  --ca DIR --subject ID --role ROLE [--clearance N] [--days N]
//                    [--not-before UNIX] [--not-after UNIX] [--serial N] [--out PREFIX]
//   netkey-ca show   FILE
//   netkey-ca verify --ca DIR FILE [--role ROLE] [--now UNIX]   (a certificate or a charter)
//   netkey-ca charter --ca DIR --initiator PREFIX --in TEXT --out FILE
//
//   netkey-ca --help | -h | --version
//
// Every refusal prints one line, "netkey-ca: error: ...", and exits 1; a usage error
// prints one line, "netkey-ca: ... (try --help)", and exits 2 (tools/cli/cli.h).
// Secret key files are created with mode 0600 and never printed.
#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "charter_cmd.h"
#include "cli/cli.h"
#include "files.h"
#include "netkey/certificate.h"
#include "netkey/charter.h"
#include "netkey/keyfile.h"
#include "netkey/random.h"
#include "netkey/sign.h"

namespace {

using netkey::Errc;
using netkey::Result;
using netkey::Status;

constexpr size_t kMaxKeyFileBytes = 4096;

constexpr const char* kTool = "netkey-ca";

// A refusal (exit 1), or with code 2 a usage error in the shared one-line form.
[[noreturn]] void die(const std::string& msg, int code = 1) {
  if (code == netkey::cli::kUsageExit) netkey::cli::usage_error(kTool, msg);
  std::fprintf(stderr, "netkey-ca: error: %s\n", msg.c_str());
  std::exit(code);
}

constexpr const char* kUsage =
    "usage:\n"
    "  netkey-ca init   --dir DIR [--name NAME]\n"
    "  netkey-ca issue  --ca DIR --subject ID --role ROLE [--clearance N] [--days N]\n"
    "                   [--not-before UNIX] [--not-after UNIX] [--serial N] [--out PREFIX]\n"
    "  netkey-ca show   FILE\n"
    "  netkey-ca verify --ca DIR FILE [--role ROLE] [--now UNIX]  (certificate or charter)\n"
    "  netkey-ca charter --ca DIR --initiator PREFIX --in TEXT --out FILE\n"
    "  netkey-ca --help | -h | --version\n"
    "roles: root, list-controller, initiator, participant\n"
    "exit status: 0 done, 1 refused (one line on stderr), 2 usage error\n";

struct Args {
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
};

Args parse_args(int argc, char** argv, int start) {
  Args a;
  for (int i = start; i < argc; ++i) {
    std::string s = argv[i];
    netkey::cli::handle_standard(s, kTool, kUsage);
    if (s.size() > 1 && s[0] == '-' && s[1] != '-') die("unknown flag " + s, 2);
    if (s.rfind("--", 0) == 0) {
      if (i + 1 >= argc) die("flag " + s + " needs a value", 2);
      a.flags[s.substr(2)] = argv[++i];
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

void allow_only(const Args& a, std::initializer_list<const char*> names) {
  for (const auto& [k, v] : a.flags) {
    bool ok = false;
    for (const char* n : names) ok = ok || k == n;
    if (!ok) die("unknown flag --" + k, 2);
  }
}

std::string need(const Args& a, const char* name) {
  auto it = a.flags.find(name);
  if (it == a.flags.end()) die(std::string("missing --") + name, 2);
  return it->second;
}

uint64_t parse_u64(const std::string& s, const char* what) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) {
    die(std::string(what) + " must be a non-negative whole number, got '" + s + "'", 2);
  }
  return std::strtoull(s.c_str(), nullptr, 10);
}

template <typename T>
T or_die(Result<T> r) {
  if (!r) die(r.status().message());
  return std::move(r).value();
}

void or_die(const Status& s) {
  if (!s) die(s.message());
}

std::string text_of(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

netkey::CaPublicFile load_ca_public(const std::string& dir) {
  std::string path = dir + "/ca.pub";
  auto bytes = or_die(netkey::tools::read_file(path, kMaxKeyFileBytes));
  auto f = netkey::parse_ca_public_file(text_of(bytes));
  if (!f) die(path + ": " + f.status().message());
  return std::move(f).value();
}

netkey::SigningKey load_signing_key(const std::string& path, const char* kind) {
  auto bytes = or_die(netkey::tools::read_file(path, kMaxKeyFileBytes));
  auto f = netkey::parse_secret_key_file(text_of(bytes));
  sodium_memzero(bytes.data(), bytes.size());
  if (!f) die(path + ": " + f.status().message());
  if (f->kind != kind) die(path + " is a '" + f->kind + "' key, expected '" + kind + "'");
  return netkey::SigningKey::from_seed(f->seed);
}

void write_secret(const std::string& path, std::string_view kind, std::string_view subject,
                  const netkey::SigningKey& key) {
  std::string text = netkey::encode_secret_key_file(kind, subject, key.seed());
  Status s = netkey::tools::write_new_file(path, text.data(), text.size(), 0600);
  sodium_memzero(text.data(), text.size());
  or_die(s);
}

std::string fmt_time(uint64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t now_unix() { return static_cast<uint64_t>(std::time(nullptr)); }

int cmd_init(const Args& a) {
  allow_only(a, {"dir", "name"});
  std::string dir = need(a, "dir");
  std::string name = a.flags.count("name") ? a.flags.at("name") : "netkey-root-ca";
  if (name.empty() || name.size() > netkey::kMaxSubjectIdBytes) die("--name must be 1 to 64 bytes", 2);
  // Create the directory (owner-only) if it does not exist yet.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    die("cannot create directory " + dir + ": " + std::strerror(errno));
  }
  netkey::SystemRng rng;
  auto ca = netkey::SigningKey::generate(rng);
  write_secret(dir + "/ca.key", "ca", name, ca);
  std::string pub = netkey::encode_ca_public_file(name, ca.public_key());
  or_die(netkey::tools::write_new_file(dir + "/ca.pub", pub.data(), pub.size(), 0644));
  std::printf("created CA '%s'\n  secret key: %s/ca.key (mode 0600, keep it offline)\n"
              "  public:     %s/ca.pub (give this to servers and players)\n  key id:     %s\n",
              name.c_str(), dir.c_str(), dir.c_str(), netkey::to_hex(ca.key_id().bytes).c_str());
  return 0;
}

int cmd_issue(const Args& a) {
  allow_only(a, {"ca", "subject", "role", "clearance", "days", "not-before", "not-after",
                 "serial", "out"});
  std::string dir = need(a, "ca");
  netkey::CertificateFields f;
  f.subject_id = need(a, "subject");
  if (f.subject_id.empty() || f.subject_id.size() > netkey::kMaxSubjectIdBytes) {
    die("--subject must be 1 to 64 bytes", 2);
  }
  auto role = netkey::parse_role(need(a, "role"));
  if (!role) die(role.status().message(), 2);
  f.role = *role;
  uint64_t clearance = a.flags.count("clearance") ? parse_u64(a.flags.at("clearance"), "--clearance") : 0;
  if (clearance > 255) die("--clearance must be 0 to 255", 2);
  f.clearance = static_cast<uint8_t>(clearance);
  uint64_t now = now_unix();
  f.not_before = a.flags.count("not-before") ? parse_u64(a.flags.at("not-before"), "--not-before") : now;
  if (a.flags.count("not-after")) {
    if (a.flags.count("days")) die("give --days or --not-after, not both", 2);
    f.not_after = parse_u64(a.flags.at("not-after"), "--not-after");
  } else {
    uint64_t days = a.flags.count("days") ? parse_u64(a.flags.at("days"), "--days") : 30;
    if (days == 0 || days > 36500) die("--days must be 1 to 36500", 2);
    f.not_after = f.not_before + days * 86400;
  }
  if (f.not_before > f.not_after) die("--not-before is after --not-after", 2);
  f.serial = a.flags.count("serial") ? parse_u64(a.flags.at("serial"), "--serial") : 0;

  auto ca = load_signing_key(dir + "/ca.key", "ca");
  auto ca_pub = load_ca_public(dir);
  if (!(ca_pub.public_key == ca.public_key())) die(dir + "/ca.key does not match " + dir + "/ca.pub");
  if (f.serial == 0) {
    netkey::SystemRng rng;
    f.serial = rng.next_u64() >> 1;
  }

  netkey::SystemRng rng;
  auto subject_key = netkey::SigningKey::generate(rng);
  f.public_key = subject_key.public_key();
  auto cert = or_die(netkey::issue_certificate(ca, f));

  std::string prefix = a.flags.count("out") ? a.flags.at("out") : dir + "/" + f.subject_id;
  write_secret(prefix + ".key", "identity", f.subject_id, subject_key);
  or_die(netkey::tools::write_new_file(prefix + ".cert", cert.data(), cert.size(), 0644));
  std::printf("issued %s certificate for '%s' (clearance %u), valid %s to %s\n"
              "  certificate: %s.cert\n  secret key:  %s.key (mode 0600)\n",
              std::string(netkey::role_name(f.role)).c_str(), f.subject_id.c_str(),
              unsigned{f.clearance}, fmt_time(f.not_before).c_str(),
              fmt_time(f.not_after).c_str(), prefix.c_str(), prefix.c_str());
  return 0;
}

void print_cert(const netkey::CertificateFields& f) {
  std::printf("certificate\n  subject:    %s\n  role:       %s\n  clearance:  %u\n"
              "  serial:     %llu\n  not before: %s (%llu)\n  not after:  %s (%llu)\n"
              "  public key: %s\n  issuer id:  %s\n",
              f.subject_id.c_str(), std::string(netkey::role_name(f.role)).c_str(),
              unsigned{f.clearance}, static_cast<unsigned long long>(f.serial),
              fmt_time(f.not_before).c_str(), static_cast<unsigned long long>(f.not_before),
              fmt_time(f.not_after).c_str(), static_cast<unsigned long long>(f.not_after),
              netkey::to_hex(f.public_key.bytes).c_str(), netkey::to_hex(f.issuer_key_id.bytes).c_str());
}

int cmd_show(const Args& a) {
  allow_only(a, {});
  if (a.positional.size() != 1) die("show takes exactly one FILE", 2);
  const std::string& path = a.positional[0];
  auto bytes = or_die(netkey::tools::read_file(path, 64 * 1024));
  std::string text = text_of(bytes);
  if (text.rfind("netkey-secret-key-v1", 0) == 0) {
    auto f = netkey::parse_secret_key_file(text);
    sodium_memzero(text.data(), text.size());
    sodium_memzero(bytes.data(), bytes.size());
    if (!f) die(path + ": " + f.status().message());
    auto key = netkey::SigningKey::from_seed(f->seed);
    std::printf("secret key (contents not shown)\n  kind:       %s\n  subject:    %s\n"
                "  public key: %s\n  key id:     %s\n",
                f->kind.c_str(), f->subject.c_str(), netkey::to_hex(key.public_key().bytes).c_str(),
                netkey::to_hex(key.key_id().bytes).c_str());
    return 0;
  }
  if (text.rfind("netkey-ca-public-v1", 0) == 0) {
    auto f = netkey::parse_ca_public_file(text);
    if (!f) die(path + ": " + f.status().message());
    std::printf("CA public key\n  subject:    %s\n  public key: %s\n  key id:     %s\n",
                f->subject.c_str(), netkey::to_hex(f->public_key.bytes).c_str(),
                netkey::to_hex(netkey::key_id_of(f->public_key).bytes).c_str());
    return 0;
  }
  auto f = netkey::parse_certificate(bytes);
  if (!f) die(path + " is not a netkey certificate, key or CA file (" + f.status().to_string() + ")");
  print_cert(*f);
  std::printf("  (signature not checked; use 'netkey-ca verify')\n");
  return 0;
}

int cmd_verify(const Args& a) {
  allow_only(a, {"ca", "role", "now"});
  if (a.positional.size() != 1) die("verify takes exactly one FILE", 2);
  auto ca = load_ca_public(need(a, "ca"));
  const std::string& path = a.positional[0];
  auto bytes = or_die(netkey::tools::read_file(path, 64 * 1024));
  std::optional<netkey::Role> role;
  if (a.flags.count("role")) {
    auto r = netkey::parse_role(a.flags.at("role"));
    if (!r) die(r.status().message(), 2);
    role = *r;
  }
  uint64_t now = a.flags.count("now") ? parse_u64(a.flags.at("now"), "--now") : now_unix();
  if (bytes.size() >= 8 && std::string(bytes.begin() + 4, bytes.begin() + 8) == "NKCH") {
    auto c = netkey::verify_charter(bytes, ca.public_key, now);
    if (!c) die(path + ": " + c.status().to_string());
    std::printf("OK: charter signed by an initiator certified by '%s'\n%s", ca.subject.c_str(),
                netkey::tools::describe_charter(*c).c_str());
    return 0;
  }
  auto f = netkey::verify_certificate(bytes, ca.public_key, now, role);
  if (!f) die(path + ": " + f.status().to_string());
  std::printf("OK: '%s' is a %s (clearance %u) certified by '%s', valid until %s\n",
              f->subject_id.c_str(), std::string(netkey::role_name(f->role)).c_str(),
              unsigned{f->clearance}, ca.subject.c_str(), fmt_time(f->not_after).c_str());
  return 0;
}

int cmd_charter(const Args& a) {
  allow_only(a, {"ca", "initiator", "in", "out"});
  std::string dir = need(a, "ca"), prefix = need(a, "initiator"), in = need(a, "in"), out = need(a, "out");
  auto ca = load_ca_public(dir);
  auto text = or_die(netkey::tools::read_file(in, 1u << 20));
  auto cert_bytes = or_die(netkey::tools::read_file(prefix + ".cert", 64 * 1024));
  auto init_cert = netkey::verify_certificate(cert_bytes, ca.public_key, now_unix(), netkey::Role::kInitiator);
  if (!init_cert) die(prefix + ".cert: " + init_cert.status().to_string());
  auto init_key = load_signing_key(prefix + ".key", "identity");
  if (!(init_key.public_key() == init_cert->public_key)) die(prefix + ".key does not match " + prefix + ".cert");
  netkey::SystemRng rng;
  auto fields = netkey::tools::parse_charter_text(
      text_of(text), now_unix(), rng.next_u64(),
      [](const std::string& p) { return netkey::tools::read_file(p, 64 * 1024); });
  if (!fields) die(in + ": " + fields.status().message());
  auto charter = netkey::sign_charter(*fields, init_key, cert_bytes);
  if (!charter) die(in + ": " + charter.status().message());
  or_die(netkey::tools::write_new_file(out, charter->data(), charter->size(), 0644));
  std::printf("signed charter for session 0x%llx (%zu participants) as '%s': %s\n",
              static_cast<unsigned long long>(fields->session_id), fields->participants.size(),
              init_cert->subject_id.c_str(), out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) die("libsodium failed to initialise");
  if (argc < 2) die("no command given", 2);
  std::string cmd = argv[1];
  if (cmd == "help") netkey::cli::help(kUsage);
  netkey::cli::handle_standard(cmd, kTool, kUsage);
  if (cmd.rfind('-', 0) == 0) die("unknown flag " + cmd, 2);
  Args a = parse_args(argc, argv, 2);
  if (cmd == "init") return cmd_init(a);
  if (cmd == "issue") return cmd_issue(a);
  if (cmd == "show") return cmd_show(a);
  if (cmd == "verify") return cmd_verify(a);
  if (cmd == "charter") return cmd_charter(a);
  die("unknown command '" + cmd + "'", 2);
}
