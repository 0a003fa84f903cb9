// bench_group: the Root's CPU for admission and for churn batches.
//
//   BM_Admit               Root CPU per admitted participant: cookie, certificate check,
//                          X25519, both transcript signatures, and its share of the
//                          Welcome batch (the participant's own CPU is not counted)
//   BM_AdmitAll/n:1000     admitting 1000 participants, Root CPU only
//   BM_ChurnBatch/n:1000   one batch of a 10 %-per-second churn (at the 100 ms window:
//                          10 joins' commits + 10 leaves), Slices to every member
//   BM_TeamBroadcast/peers:1000/teams:2
//                          Root::broadcast_to_team of 200 bytes, alternating teams, in a
//                          match of 1000 members in 2 teams: counter `seals` (AEAD seals
//                          per call: 1, whatever the team's size), `transmits` (1: one
//                          shared buffer the transport fans out), `team_members`
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "netkey/participant.h"
#include "netkey/root.h"
#include "sim/identities.h"

namespace netkey::testing {
namespace {

// Drives one Root and N participants with instant delivery; only Root calls are timed
// when `timed_root_only` (participant work runs with the timer paused).
class Direct {
 public:
  explicit Direct(size_t subjects, RootConfig::RekeyEncoding enc = RootConfig::RekeyEncoding::kAuto,
                  uint32_t window_ms = 100, uint8_t teams = 0)
      : ids_(1) {
    std::vector<std::string> acl;
    for (size_t i = 0; i < subjects; ++i) acl.push_back("p" + std::to_string(i));
    auto f = Identities::default_fields(9);
    f.batch_window_ms = window_ms;
    f.max_batch = 100000;
    f.member_cap = 65535;
    f.teams = teams;
    charter_ = ids_.charter(f, acl);
    RootConfig rc = ids_.root_config(charter_, kSimUnixTime);
    rc.max_handshakes_per_ip_per_s = 1u << 30;
    rc.rekey_encoding = enc;
    root_ = std::make_unique<Root>(Root::create(std::move(rc), std::make_unique<DeterministicRng>(2), 0).value());
  }

  // Runs the handshake of participant `i`; Root time is accumulated in `state` only
  // between ResumeTiming/PauseTiming. Returns the participant (welcome pending).
  std::unique_ptr<Participant> handshake(size_t i, benchmark::State* state) {
    ParticipantConfig pc = ids_.participant_config(ids_.get("p" + std::to_string(i)), charter_, kSimUnixTime);
    auto p = std::make_unique<Participant>(
        Participant::create(std::move(pc), std::make_unique<DeterministicRng>(100 + i), now_).value());
    const PeerId peer = static_cast<PeerId>(i + 1);
    const std::string addr = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":4000";
    p->start(now_);
    for (int step = 0; step < 3; ++step) {  // Hello, Init (raw), then Finish (connected)
      auto t = p->poll_transmit();
      if (!t) break;
      if (state) state->ResumeTiming();
      if (step < 2) {
        root_->handle_datagram(addr, *t->bytes, now_);
      } else {
        if (!root_->peer_connected(peer, addr, now_)) std::abort();
        root_->handle_control(peer, *t->bytes, now_);
      }
      if (state) state->PauseTiming();
      while (auto r = root_->poll_transmit()) {
        if (r->to == Transmit::To::kAddress && r->address == addr) p->handle_datagram(*r->bytes, now_);
      }
    }
    return p;
  }
  void commit(benchmark::State* state) {
    now_ += 200'000'000;
    if (state) state->ResumeTiming();
    root_->handle_timeout(now_);
    size_t sent = 0;
    while (auto t = root_->poll_transmit()) sent += t->bytes->size();
    if (state) state->PauseTiming();
    benchmark::DoNotOptimize(sent);
  }
  Root& root() { return *root_; }

 private:
  Identities ids_;
  std::vector<uint8_t> charter_;
  std::unique_ptr<Root> root_;
  uint64_t now_ = 1'000'000;
};

void BM_Admit(benchmark::State& state) {
  Direct d(8000);
  size_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto p = d.handshake(i++, &state);
    if (i % 64 == 0) d.commit(&state);  // the Welcome batch, amortised
    state.ResumeTiming();
  }
  state.counters["members"] = static_cast<double>(d.root().member_count());
}

void BM_AdmitAll(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    Direct d(n);
    std::vector<std::unique_ptr<Participant>> ps;
    for (size_t i = 0; i < n; ++i) ps.push_back(d.handshake(i, &state));
    d.commit(&state);
    if (d.root().member_count() != n) state.SkipWithError("not everyone was admitted");
    state.ResumeTiming();
  }
}

void BM_ChurnBatch(benchmark::State& state, RootConfig::RekeyEncoding enc) {
  const size_t n = 1000;
  const size_t per_batch = n / 100;  // 10 %/s at a 100 ms window: 1 % joins + 1 % leaves
  Direct d(n + 8000, enc);
  for (size_t i = 0; i < n; ++i) (void)d.handshake(i, nullptr);
  d.commit(nullptr);
  size_t next = n;
  uint64_t wrapped = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t k = 0; k < per_batch; ++k) {
      (void)d.handshake(next++, nullptr);                 // joins (handshake CPU is BM_Admit's)
      d.root().peer_disconnected(static_cast<PeerId>(next - n), 0);  // leaves of early members
    }
    d.commit(&state);  // timed: planning, wrapping, Slices for every member, Welcomes
    while (auto e = d.root().poll_event()) {
      if (e->kind == RootEvent::Kind::kRekeyed) wrapped += e->wrapped_keys;
    }
    state.ResumeTiming();
  }
  state.counters["wrapped_keys"] = benchmark::Counter(static_cast<double>(wrapped), benchmark::Counter::kAvgIterations);
  state.counters["members"] = static_cast<double>(d.root().member_count());
  state.counters["rekey_bytes_per_member"] =
      static_cast<double>(d.root().stats().rekey_bytes_sent) /
      static_cast<double>(state.iterations() + 1) / static_cast<double>(n);
}

void BM_TeamBroadcast(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto teams = static_cast<uint8_t>(state.range(1));
  Direct d(n, RootConfig::RekeyEncoding::kAuto, 100, teams);
  for (size_t i = 0; i < n; ++i) (void)d.handshake(i, nullptr);  // unassigned: balanced teams
  d.commit(nullptr);
  if (d.root().member_count() != n) state.SkipWithError("not everyone was admitted");
  const std::vector<uint8_t> payload(200, 7);
  const uint64_t seals0 = d.root().stats().seals;
  uint64_t transmits = 0, calls = 0;
  for (auto _ : state) {
    const TeamId team = static_cast<TeamId>(calls++ % teams);
    if (!d.root().broadcast_to_team(team, payload, 0).is_ok()) state.SkipWithError("broadcast_to_team failed");
    while (auto t = d.root().poll_transmit()) {
      ++transmits;
      benchmark::DoNotOptimize(t->bytes->data());
    }
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["seals"] = static_cast<double>(d.root().stats().seals - seals0) / it;
  state.counters["transmits"] = static_cast<double>(transmits) / it;
  state.counters["team_members"] = static_cast<double>(d.root().team_size(0));
}

BENCHMARK(BM_Admit)->Unit(benchmark::kMicrosecond)->Iterations(4000);
BENCHMARK(BM_AdmitAll)->ArgName("n")->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_ChurnBatch, n:1000/encoding:auto, RootConfig::RekeyEncoding::kAuto)
    ->Unit(benchmark::kMicrosecond)->Iterations(500);
BENCHMARK_CAPTURE(BM_ChurnBatch, n:1000/encoding:slices, RootConfig::RekeyEncoding::kSlices)
    ->Unit(benchmark::kMicrosecond)->Iterations(500);
BENCHMARK_CAPTURE(BM_ChurnBatch, n:1000/encoding:whole, RootConfig::RekeyEncoding::kWhole)
    ->Unit(benchmark::kMicrosecond)->Iterations(500);

BENCHMARK(BM_TeamBroadcast)->ArgNames({"peers", "teams"})->Args({1000, 2})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace netkey::testing

BENCHMARK_MAIN();
