// Seeded-trace loops shared by the secrecy tests (secrecy_test, team_secrecy_test).
#ifndef NETKEY_TESTS_SUPPORT_TRACES_H_
#define NETKEY_TESTS_SUPPORT_TRACES_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace netkey::testing {

// How many seeded traces to run: `floor`, or more when the environment variable
// `env_name` asks for more (the soak label raises it); never fewer than `floor`.
inline size_t trace_count(const char* env_name, size_t floor) {
  const char* env = std::getenv(env_name);
  const size_t n = env ? std::strtoull(env, nullptr, 10) : floor;
  return n < floor ? floor : n;
}

// Runs trace(seed) for seeds 0..n-1, each under SCOPED_TRACE(name(seed)), and stops after
// the first seed that fails (the later ones would bury it). Returns false when one failed.
template <class Name, class Trace>
bool run_traces(size_t n, Name name, Trace trace) {
  for (uint64_t seed = 0; seed < n; ++seed) {
    SCOPED_TRACE(name(seed));
    trace(seed);
    if (::testing::Test::HasFailure()) return false;
  }
  return true;
}

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_TRACES_H_
