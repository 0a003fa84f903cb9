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
#include <string>
#include <string_view>

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

}  // namespace netkey::cli
