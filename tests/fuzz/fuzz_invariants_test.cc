// fuzz_invariants_test CORPUS: the positive control of the all-or-nothing checks
// (fuzz_invariants.h), so that a check that can no longer fire does not pass silently.
//
// 1. diff() reports each field of each snapshot when only that field differs (keys
//    included, compared with sodium_memcmp), and nothing for equal snapshots.
// 2. The replay-counter probes (fuzz_group.h) fail when the counter moved.
// 3. In every stateful harness, with every input counted as rejected
//    (set_force_rejected), some seed of its corpus traps in a child process: an input
//    that changes the state is caught where the harness checks. Without the hook, the
//    same seeds run clean.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz_group.h"
#include "fuzz_invariants.h"
#include "fuzz_world.h"
#include "src/group/messages.h"

namespace fs = std::filesystem;
using namespace netkey;
using namespace netkey::fuzz;

namespace {

int g_failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++g_failures;
  }
}

SymmetricKey key_of(uint8_t b) { return SymmetricKey::from_bytes(std::vector<uint8_t>(32, b)); }

// Each field alone makes the snapshots differ, and the difference names it.
void fields_are_compared() {
  auto keys = [](uint8_t net, uint8_t path) {
    KeysSnapshot s;
    s.in_group = true;
    s.epoch = 3;
    s.leaf = 9;
    s.net_key = key_of(net);
    s.held.emplace_back(2, key_of(path));
    return s;
  };
  expect(diff(keys(1, 2), keys(1, 2)).empty(), "equal MemberKeys snapshots compare equal");
  expect(diff(keys(1, 2), keys(7, 2)) == "net_key", "a MemberKeys net key change is seen");
  expect(diff(keys(1, 2), keys(1, 7)) == "held path keys", "a MemberKeys path key change is seen");
  KeysSnapshot moved = keys(1, 2);
  moved.epoch = 4;
  moved.leaf = 10;
  expect(diff(keys(1, 2), moved) == "epoch 3 -> 4, leaf 9 -> 10", "MemberKeys epoch and leaf are seen");
  KeysSnapshot out = keys(1, 2);
  out.in_group = false;
  out.net_key.reset();
  expect(diff(keys(1, 2), out) == "in_group 1 -> 0, net_key", "leaving the group is seen");

  const ReceiverSnapshot rx{true, 1, 0, 0};
  expect(diff(rx, ReceiverSnapshot{true, 1, 1, 0}) == "buffered 0 -> 1", "a buffered packet is seen");
  expect(diff(rx, ReceiverSnapshot{true, 1, 0, 1}) == "delivered 0 -> 1", "a delivered packet is seen");
  expect(diff(rx, ReceiverSnapshot{true, 2, 0, 0}) == "epoch 1 -> 2", "a receiver epoch change is seen");

  ParticipantSnapshot p, q;
  q.state = Participant::State::kRemoved;
  expect(diff(p, q) == "state 0 -> 7", "a participant state change is seen");
  q = ParticipantSnapshot{};
  q.outputs = 1;
  expect(diff(p, q) == "transmits+events 0 -> 1", "a participant's answer is seen");

  RootSnapshot r, t;
  t.pending = 1;
  t.accepts = {true};
  r.accepts = {false};
  expect(diff(r, t) == "pending 0 -> 1, accepts_connection_from", "a Root's pending join and binding are seen");
  r = RootSnapshot{};
  t = RootSnapshot{};
  t.net_key = key_of(1);
  expect(diff(r, t) == "net_key", "a Root net key change is seen");
}

// The replay-counter probes see a counter that moved: a genuine message with seq 5 moves
// it legitimately, and a probe that is told the last genuine seq was 0 (as if the move
// came from a rejected message) must then fail, while one told 5 must pass.
void probes_see_a_moved_counter() {
  {
    Joined w;
    detail::ControlChannel member(w.group, w.member, w.secret, detail::ControlChannel::kToRoot);
    detail::Bytes fifth;
    for (int i = 0; i < 5; ++i) fifth = member.seal(*detail::encode_resync_request(1));
    w.root->handle_control(kMemberPeer, *fifth, w.now);
    expect(genuine_seq(w, *fifth, detail::ControlChannel::kToRoot) == 5, "a genuine message's seq is read");
    expect(!root_still_opens_member(w, 0), "the Root-side probe sees a moved counter");
    expect(root_still_opens_member(w, 5), "the Root-side probe passes above the last genuine seq");
  }
  {
    Joined w;
    detail::ControlChannel root(w.group, w.member, w.secret, detail::ControlChannel::kToMember);
    detail::Bytes fifth;
    std::vector<uint8_t> garbage(8, 0x41);  // well-tagged, but not a Control: does not move it
    for (int i = 0; i < 5; ++i) fifth = root.seal(garbage);
    w.p->handle_control(*fifth, w.now);
    expect(genuine_seq(w, *fifth, detail::ControlChannel::kToMember) == 0, "a malformed inner is not genuine");
    expect(member_still_opens_root(w, 0), "a malformed inner leaves the member's counter alone");
  }
}

struct Target {
  const char* name;
  bool (*run)(std::span<const uint8_t>);
};

// Runs `run` on `input` in a child; true when the child trapped (__builtin_trap: SIGILL
// on x86-64, SIGTRAP on arm64), not when it failed otherwise (a sanitizer report).
bool traps(const Target& t, const std::vector<uint8_t>& input, bool force) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);  // the child's report is expected noise
    set_force_rejected(force);
    (void)t.run(input);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && (WTERMSIG(status) == SIGILL || WTERMSIG(status) == SIGTRAP);
}

void harness_checks_fire(const fs::path& corpus) {
  const Target targets[] = {
      {"whole_body", run_whole_body},       {"sealed_body", run_sealed_body},
      {"rekey", run_rekey},                 {"acl_update", run_acl_update},
      {"traffic", run_traffic},             {"private_channel", run_private_channel},
      {"root_control", run_root_control},
      {"participant_control", run_participant_control},
      {"authenticated", run_authenticated}, {"handshake_init", run_handshake_init},
      {"handshake_response", run_handshake_response},
  };
  for (const Target& t : targets) {
    int seeds = 0, trapped = 0;
    for (const auto& e : fs::directory_iterator(corpus / t.name)) {
      if (e.path().filename().string().rfind("seed", 0) != 0) continue;  // libFuzzer's own finds
      std::ifstream f(e.path(), std::ios::binary);
      const std::vector<uint8_t> input((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      ++seeds;
      if (!traps(t, input, true)) continue;
      ++trapped;
      expect(!traps(t, input, false), std::string(t.name) + ": " + e.path().filename().string() +
                                          " traps without the hook (a real violation? run the target on it)");
      break;  // one firing is the proof; the fuzz label runs every seed unforced
    }
    std::printf("fuzz_invariants_test: %-20s %d seed(s) tried, check fired: %s\n", t.name, seeds,
                trapped ? "yes" : "NO");
    expect(trapped > 0, std::string(t.name) + ": no seed made the all-or-nothing check fire");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_invariants_test CORPUS_DIR (written by fuzz_seeds)\n");
    return 2;
  }
  fields_are_compared();
  probes_see_a_moved_counter();
  harness_checks_fire(argv[1]);
  if (g_failures == 0) std::printf("fuzz_invariants_test: ok\n");
  return g_failures == 0 ? 0 : 1;
}
