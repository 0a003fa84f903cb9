// Command-line conventions shared by every netkey tool and sample (issue 14 §4):
//
//   --help, -h   usage on stdout, exit 0
//   --version    "<tool> <version>" on stdout, exit 0 (the CMake project version)
//   usage error  one line on stderr, "<tool>: <what is wrong> (try --help)", exit 2
//
// Tools keep their own exit 1 for refusals and failures.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef NETKEY_VERSION_STRING
#error "NETKEY_VERSION_STRING is not defined: link the netkey_cli target"
#endif

namespace netkey::cli {

inline constexpr int kUsageExit = 2;
inline constexpr const char* kVersion = NETKEY_VERSION_STRING;

inline bool is_help(std::string_view arg) { return arg == "--help" || arg == "-h"; }
inline bool is_version(std::string_view arg) { return arg == "--version"; }

// Prints the usage text on stdout and exits 0.
[[noreturn]] inline void help(const char* usage_text) {
  std::fputs(usage_text, stdout);
  std::fflush(stdout);
  std::exit(0);
}

// Prints "<tool> <version>" on stdout and exits 0.
[[noreturn]] inline void version(const char* tool) {
  std::printf("%s %s\n", tool, kVersion);
  std::fflush(stdout);
  std::exit(0);
}

// Prints "<tool>: <what> (try --help)" on stderr and exits 2.
[[noreturn]] inline void usage_error(const char* tool, const std::string& what) {
  std::fprintf(stderr, "%s: %s (try --help)\n", tool, what.c_str());
  std::exit(kUsageExit);
}

// --help/-h and --version, for a tool whose own parser has met `arg` where a flag may
// stand (not as some flag's value).
inline void handle_standard(std::string_view arg, const char* tool, const char* usage_text) {
  if (is_help(arg)) help(usage_text);
  if (is_version(arg)) version(tool);
}

// The flag parser of the samples (netkey-arena, netkey-loadbots): every argument in turn
// is --help/-h, --version, or a declared flag, whose value (if it takes one) is the next
// argument whatever it looks like. Anything else is a usage error: "unknown flag X",
// "missing value for X", or "not a number: V" for a number flag.
class Flags {
 public:
  Flags(const char* tool, const char* usage_text) : tool_(tool), usage_(usage_text) {}

  // A flag without a value: sets *out to true.
  Flags& set(std::string name, bool* out) {
    flags_.push_back({std::move(name), false, [out](const std::string&) { *out = true; }});
    return *this;
  }
  // A flag with a value, handed to `take` as the flags stand (it may call error()).
  Flags& value(std::string name, std::function<void(const std::string&)> take) {
    flags_.push_back({std::move(name), true, std::move(take)});
    return *this;
  }
  Flags& text(std::string name, std::string* out) {
    return value(std::move(name), [out](const std::string& v) { *out = v; });
  }
  // A non-negative decimal number (strtod: "30", "2.5", "1e3"), converted to T.
  template <class T>
  Flags& number(std::string name, T* out) {
    return value(std::move(name), [tool = tool_, out](const std::string& v) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || d < 0) usage_error(tool, "not a number: " + v);
      *out = static_cast<T>(d);
    });
  }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      handle_standard(a, tool_, usage_);
      const Flag* f = find(a);
      if (f == nullptr) error("unknown flag " + a);
      if (!f->takes_value) {
        f->take(a);
      } else {
        if (i + 1 >= argc) error("missing value for " + a);
        f->take(argv[++i]);
      }
    }
  }

  [[noreturn]] void error(const std::string& what) const { usage_error(tool_, what); }

 private:
  struct Flag {
    std::string name;
    bool takes_value;
    std::function<void(const std::string&)> take;
  };
  const Flag* find(const std::string& name) const {
    for (const Flag& f : flags_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

  const char* tool_;
  const char* usage_;
  std::vector<Flag> flags_;
};

}  // namespace netkey::cli
