// common/run_flags.h: the command-line flags netkey-arena and netkey-loadbots share, with
// one meaning in both (each tool's usage text lists them).
#ifndef NETKEY_SAMPLES_COMMON_RUN_FLAGS_H_
#define NETKEY_SAMPLES_COMMON_RUN_FLAGS_H_

#include <string>

#include "cli/cli.h"

namespace netkey::demo {

// Where each shared flag's value goes (the tools keep their own option structs).
template <class Bots, class Degree>
struct RunFlags {
  Bots* bots;            // --bots N
  double* seconds;       // --seconds S
  double* churn;         // --churn R (joins and leaves per second)
  Degree* degree;        // --degree D
  std::string* report;   // --report FILE
  bool* check;           // --check
  double* loss;          // --loss PCT
  bool* insecure;        // --insecure
  std::string* plots;    // --plots DIR
  bool* hash_forward;    // --join-policy rekey|hash-forward
};

template <class Bots, class Degree>
void add_run_flags(cli::Flags& flags, const char* tool, const RunFlags<Bots, Degree>& r) {
  flags.number("--bots", r.bots)
      .number("--seconds", r.seconds)
      .number("--churn", r.churn)
      .number("--degree", r.degree)
      .text("--report", r.report)
      .set("--check", r.check)
      .number("--loss", r.loss)
      .set("--insecure", r.insecure)
      .text("--plots", r.plots)
      .value("--join-policy", [tool, hash_forward = r.hash_forward](const std::string& p) {
        if (p != "rekey" && p != "hash-forward") {
          cli::usage_error(tool, "--join-policy must be rekey or hash-forward (as the server's)");
        }
        *hash_forward = p == "hash-forward";
      });
}

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_RUN_FLAGS_H_
