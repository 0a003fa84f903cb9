// bench_keytree: the Root's cost of rekeying, and the member's cost of applying.
//
// Counters (per iteration):
//   wrapped_keys      AEAD-wrapped keys the batch produced
//   bytes             size of the signed Whole message (one multicast message)
//   bytes_per_member  what one member receives: the Whole (BM_Leave..BM_Flat) or the
//                     mean Slice (BM_SliceBytes)
//   tree_bytes        approximate memory held by the tree
// Timing covers planning, wrapping and signing the Whole. Filter by argument names,
// e.g. --benchmark_filter='BM_Batch/n:4096/d:4/jl:64'.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "netkey/flat_rekey.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/rekey_codec.h"

namespace netkey {
namespace {

struct Group {
  DeterministicRng rng{7};
  SigningKey root = SigningKey::generate(rng);
  KeyTree tree;
  std::vector<MemberId> cur;
  MemberId next = 0;

  Group(size_t n, uint8_t degree, bool hf = false) : tree(1, policy(degree, hf)) {
    Batch b;
    for (size_t i = 0; i < n; ++i) b.joins.push_back({next, rng.symmetric_key()}), cur.push_back(next++);
    (void)tree.commit(std::move(b), rng);
  }
  static TreePolicy policy(uint8_t d, bool hf) {
    TreePolicy p;
    p.degree = d;
    p.hash_forward_joins = hf;
    return p;
  }
  // L uniformly random departures and J fresh joiners.
  Batch batch(size_t joins, size_t leaves) {
    Batch b;
    for (size_t i = 0; i < leaves; ++i) {
      size_t j = rng.uniform(cur.size());
      b.leaves.push_back(cur[j]);
      cur[j] = cur.back();
      cur.pop_back();
    }
    for (size_t i = 0; i < joins; ++i) b.joins.push_back({next, rng.symmetric_key()}), cur.push_back(next++);
    return b;
  }
  RekeyPlan commit(Batch b) { return tree.commit(std::move(b), rng).value(); }
};

void report(benchmark::State& state, double wrapped, double bytes, double per_member, size_t tree_bytes) {
  const double it = static_cast<double>(state.iterations());
  state.counters["wrapped_keys"] = wrapped / it;
  state.counters["bytes"] = bytes / it;
  state.counters["bytes_per_member"] = per_member / it;
  state.counters["tree_bytes"] = static_cast<double>(tree_bytes);
}

// Times commit(joins, leaves) + encode_whole; restores the group size untimed.
void run_batch(benchmark::State& state, Group& g, size_t joins, size_t leaves) {
  double wrapped = 0, bytes = 0;
  for (auto _ : state) {
    Batch b = g.batch(joins, leaves);
    RekeyPlan p = g.commit(std::move(b));
    auto whole = encode_whole(p, g.root);
    wrapped += static_cast<double>(p.wrapped_keys());
    bytes += static_cast<double>(whole.size());
    if (joins != leaves) {
      state.PauseTiming();
      (void)g.commit(joins > leaves ? g.batch(0, joins - leaves) : g.batch(leaves - joins, 0));
      state.ResumeTiming();
    }
  }
  report(state, wrapped, bytes, bytes, g.tree.memory_bytes());
}

void BM_Leave(benchmark::State& state) {
  Group g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)));
  run_batch(state, g, 0, 1);
}
void BM_Join(benchmark::State& state) {
  Group g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)));
  run_batch(state, g, 1, 0);
}
void BM_JoinHashForward(benchmark::State& state) {
  Group g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)), true);
  run_batch(state, g, 1, 0);
}
void BM_Batch(benchmark::State& state) {
  Group g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)));
  const size_t jl = static_cast<size_t>(state.range(2));
  run_batch(state, g, jl, jl);
}
void BM_BulkRemove(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Group g(n, static_cast<uint8_t>(state.range(1)));
  run_batch(state, g, 0, n * static_cast<size_t>(state.range(2)) / 100);
}

// The flat baseline on the same cases: op 0 = single leave, 1 = J=L batch, 2 = bulk remove.
void BM_Flat(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(1));
  const int op = static_cast<int>(state.range(0));
  const size_t arg = static_cast<size_t>(state.range(2));
  DeterministicRng rng(7);
  FlatScheme flat(1);
  std::vector<MemberId> cur;
  MemberId next = 0;
  auto joins = [&](size_t k) {
    Batch b;
    for (size_t i = 0; i < k; ++i) b.joins.push_back({next, rng.symmetric_key()}), cur.push_back(next++);
    return b;
  };
  auto pick = [&](Batch& b, size_t k) {
    for (size_t i = 0; i < k; ++i) {
      size_t j = rng.uniform(cur.size());
      b.leaves.push_back(cur[j]);
      cur[j] = cur.back();
      cur.pop_back();
    }
  };
  (void)flat.commit_batch(joins(n), rng);
  double wrapped = 0, bytes = 0;
  for (auto _ : state) {
    Batch b;
    pick(b, op == 0 ? 1 : op == 1 ? arg : n * arg / 100);  // leavers first: never a joiner
    if (op == 1) b.joins = joins(arg).joins;
    auto c = flat.commit_batch(std::move(b), rng).value();
    wrapped += static_cast<double>(c.wrapped_keys);
    bytes += static_cast<double>(c.multicast_bytes);
    if (op != 1) {
      state.PauseTiming();
      (void)flat.commit_batch(joins(n - flat.member_count()), rng);
      state.ResumeTiming();
    }
  }
  // A flat member needs only its own entry out of the message (id + wrapped key).
  const double it = static_cast<double>(state.iterations());
  report(state, wrapped, bytes, (4.0 + kWrappedKeySize) * it, 0);
}

// Bytes per member at n = 1024 with a 10 %-churn batch (J = L = 102).
void BM_SliceBytes(benchmark::State& state) {
  Group g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)));
  const size_t jl = static_cast<size_t>(state.range(0)) / 10;
  double per_member = 0, wrapped = 0, total = 0;
  for (auto _ : state) {
    RekeyPlan p = g.commit(g.batch(jl, jl));
    SliceEncoder slicer(p);
    size_t sum = 0, count = 0;
    for (const auto& [id, leaf] : g.tree.members()) {
      if (std::find(p.joined.begin(), p.joined.end(), id) != p.joined.end()) continue;
      sum += slicer.encode(g.tree, id)->size();
      ++count;
    }
    per_member += static_cast<double>(sum) / static_cast<double>(count);
    total += static_cast<double>(sum);
    wrapped += static_cast<double>(p.wrapped_keys());
  }
  report(state, wrapped, total, per_member, g.tree.memory_bytes());
}
void BM_WholeBytes(benchmark::State& state) {
  Group g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)));
  const size_t jl = static_cast<size_t>(state.range(0)) / 10;
  double bytes = 0, wrapped = 0;
  for (auto _ : state) {
    RekeyPlan p = g.commit(g.batch(jl, jl));
    auto whole = encode_whole(p, g.root);
    bytes += static_cast<double>(whole.size());
    wrapped += static_cast<double>(p.wrapped_keys());
  }
  report(state, wrapped, bytes, bytes, g.tree.memory_bytes());
}

// Member apply time per encoding (enc 0 = whole, 1 = slice, 2 = welcome) at n = 1024,
// after a 10 %-churn batch. Each iteration restores the member to the previous epoch
// (untimed) from a saved Welcome, then applies the message (timed).
void BM_Apply(benchmark::State& state) {
  const int enc = static_cast<int>(state.range(0));
  Group g(static_cast<size_t>(state.range(1)), 4);
  SymmetricKey secret = g.rng.symmetric_key();
  const MemberId me = 0xfffffff0;
  Batch b;
  b.joins.push_back({me, secret.clone()});
  (void)g.commit(std::move(b));
  const std::vector<uint8_t> before = *encode_welcome(g.tree, me);
  const size_t jl = g.tree.member_count() / 10;
  Batch churn = g.batch(jl, jl);
  churn.leaves.erase(std::remove(churn.leaves.begin(), churn.leaves.end(), me), churn.leaves.end());
  RekeyPlan p = g.commit(std::move(churn));
  const std::vector<uint8_t> msg = enc == 0   ? encode_whole(p, g.root)
                                   : enc == 1 ? *SliceEncoder(p).encode(g.tree, me)
                                              : *encode_welcome(g.tree, me);
  size_t failures = 0;
  for (auto _ : state) {
    state.PauseTiming();
    MemberKeys m(1, me, secret, g.root.public_key());
    if (enc != 2) (void)m.apply(before);
    state.ResumeTiming();
    if (!m.apply(msg).is_ok()) ++failures;
  }
  if (failures != 0) state.SkipWithError("apply failed");
  state.counters["bytes"] = static_cast<double>(msg.size());
}

void args_n_d(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "d"});
  for (int64_t n : {1024, 4096, 100000})
    for (int64_t d : {2, 3, 4, 8}) b->Args({n, d});
}

BENCHMARK(BM_Leave)->Apply(args_n_d)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Join)->Apply(args_n_d)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JoinHashForward)->ArgNames({"n", "d"})->Args({1024, 4})->Args({4096, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Batch)
    ->ArgNames({"n", "d", "jl"})
    ->Args({4096, 4, 1})->Args({4096, 4, 16})->Args({4096, 4, 64})->Args({4096, 4, 256})
    ->Args({100000, 4, 500})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BulkRemove)->ArgNames({"n", "d", "pct"})->Args({4096, 4, 10})->Args({4096, 4, 50})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Flat)
    ->ArgNames({"op", "n", "arg"})
    ->Args({0, 1024, 0})->Args({0, 4096, 0})->Args({0, 100000, 0})
    ->Args({1, 4096, 64})->Args({1, 4096, 256})
    ->Args({2, 4096, 10})->Args({2, 4096, 50})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Apply)->ArgNames({"enc", "n"})->Args({0, 1024})->Args({1, 1024})->Args({2, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SliceBytes)->ArgNames({"n", "d"})->Args({1024, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WholeBytes)->ArgNames({"n", "d"})->Args({1024, 4})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace netkey

BENCHMARK_MAIN();
