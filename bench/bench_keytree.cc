// bench_keytree: the Root's cost of rekeying, and the member's cost of applying.
//
// Counters (per iteration):
//   wrapped_keys      AEAD-wrapped keys the batch produced
//   bytes             size of the signed Whole message (one multicast message)
//   bytes_per_member  what one member receives: the Whole (BM_Leave..BM_Flat) or the
//                     mean Slice (BM_SliceBytes)
//   tree_bytes        approximate memory held by the tree (trees, for BM_SeparateGroupsJoin)
// Teams: BM_TeamJoin (teams:0 is a plain join), BM_SeparateGroupsJoin (the alternative,
// one tree per team plus one for the match), BM_TeamSwitch (one switch per batch).
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

TreePolicy tree_policy(uint8_t degree, bool hash_forward_joins, uint8_t teams) {
  TreePolicy p;
  p.degree = degree;
  p.hash_forward_joins = hash_forward_joins;
  p.teams = teams;
  return p;
}

struct Group {
  DeterministicRng rng{7};
  SigningKey root = SigningKey::generate(rng);
  KeyTree tree;
  std::vector<MemberId> cur;
  MemberId next = 0;

  Group(size_t n, uint8_t degree, bool hf = false) : tree(1, tree_policy(degree, hf, 0)) {
    Batch b;
    for (size_t i = 0; i < n; ++i) b.joins.push_back({next, rng.symmetric_key()}), cur.push_back(next++);
    (void)tree.commit(std::move(b), rng);
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

// The counters of a commit + Whole benchmark, summed over its iterations.
struct WholeTotals {
  double wrapped = 0, bytes = 0;
  // Encodes `p` as a Whole signed by `root` (inside the caller's timed loop) and counts it.
  void add(const RekeyPlan& p, const SigningKey& root) {
    auto whole = encode_whole(p, root);
    wrapped += static_cast<double>(p.wrapped_keys());
    bytes += static_cast<double>(whole.size());
  }
  // bytes_per_member = bytes: every member receives the whole message.
  void report(benchmark::State& state, size_t tree_bytes) const {
    netkey::report(state, wrapped, bytes, bytes, tree_bytes);
  }
};

// Times commit(joins, leaves) + encode_whole; restores the group size untimed.
void run_batch(benchmark::State& state, Group& g, size_t joins, size_t leaves) {
  WholeTotals totals;
  for (auto _ : state) {
    Batch b = g.batch(joins, leaves);
    RekeyPlan p = g.commit(std::move(b));
    totals.add(p, g.root);
    if (joins != leaves) {
      state.PauseTiming();
      (void)g.commit(joins > leaves ? g.batch(0, joins - leaves) : g.batch(leaves - joins, 0));
      state.ResumeTiming();
    }
  }
  totals.report(state, g.tree.memory_bytes());
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
  WholeTotals totals;
  for (auto _ : state) totals.add(g.commit(g.batch(jl, jl)), g.root);
  totals.report(state, g.tree.memory_bytes());
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

// --- Teams (policy.teams): one tree whose root's children are the team subtrees. ---

// A tree of n members spread round-robin over `teams` team subtrees (0: a plain tree).
struct TeamGroup {
  DeterministicRng rng{9};
  SigningKey root = SigningKey::generate(rng);
  KeyTree tree;
  std::vector<std::vector<MemberId>> cur;  // per team (one list without teams)
  MemberId next = 0;

  TeamGroup(size_t n, uint8_t degree, uint8_t teams) : tree(1, tree_policy(degree, false, teams)), cur(std::max<size_t>(1, teams)) {
    Batch b;
    for (size_t i = 0; i < n; ++i) b.joins.push_back(join(static_cast<uint8_t>(i % cur.size())));
    (void)tree.commit(std::move(b), rng);
  }
  JoinRequest join(uint8_t team) {
    cur[team].push_back(next);
    return {next++, rng.symmetric_key(), team};
  }
  MemberId take_random(uint8_t team) {
    std::vector<MemberId>& v = cur[team];
    const size_t j = rng.uniform(v.size());
    const MemberId id = v[j];
    v[j] = v.back();
    v.pop_back();
    return id;
  }
};

// One joiner into a random team (teams = 0: a plain join), commit + Whole; the group
// size is restored untimed by a leave from the same team.
void BM_TeamJoin(benchmark::State& state) {
  TeamGroup g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)), static_cast<uint8_t>(state.range(2)));
  WholeTotals totals;
  for (auto _ : state) {
    const uint8_t team = static_cast<uint8_t>(g.rng.uniform(g.cur.size()));
    Batch b;
    b.joins.push_back(g.join(team));
    totals.add(g.tree.commit(std::move(b), g.rng).value(), g.root);
    state.PauseTiming();
    Batch l;
    l.leaves.push_back(g.take_random(team));
    (void)g.tree.commit(std::move(l), g.rng);
    state.ResumeTiming();
  }
  totals.report(state, g.tree.memory_bytes());
}

// One member of the largest team switches to the smallest other one, commit + Whole.
void BM_TeamSwitch(benchmark::State& state) {
  TeamGroup g(static_cast<size_t>(state.range(0)), static_cast<uint8_t>(state.range(1)), static_cast<uint8_t>(state.range(2)));
  WholeTotals totals;
  for (auto _ : state) {
    auto size_less = [](const auto& a, const auto& b) { return a.size() < b.size(); };
    const auto from = static_cast<uint8_t>(std::max_element(g.cur.begin(), g.cur.end(), size_less) - g.cur.begin());
    uint8_t to = from == 0 ? 1 : 0;  // the smallest other team
    for (uint8_t t = 0; t < g.cur.size(); ++t) {
      if (t != from && g.cur[t].size() < g.cur[to].size()) to = t;
    }
    const MemberId id = g.take_random(from);
    g.cur[to].push_back(id);
    Batch b;
    b.switches.push_back({id, to});
    totals.add(g.tree.commit(std::move(b), g.rng).value(), g.root);
  }
  totals.report(state, g.tree.memory_bytes());
}

// The alternative to team subtrees: one KeyTree per team plus one for the match. A
// joiner commits in its team's tree and in the match tree (two batches, two Wholes).
void BM_SeparateGroupsJoin(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto d = static_cast<uint8_t>(state.range(1));
  const auto teams = static_cast<uint8_t>(state.range(2));
  TeamGroup match(n, d, 0);  // its member lists are per team below
  std::vector<KeyTree> team_trees;
  std::vector<std::vector<MemberId>> cur(teams);
  for (uint8_t t = 0; t < teams; ++t) team_trees.emplace_back(2 + t, tree_policy(d, false, 0));
  for (MemberId id : match.cur[0]) {  // the same members, round-robin into the team trees
    const uint8_t t = static_cast<uint8_t>(id % teams);
    Batch b;
    b.joins.push_back({id, match.rng.symmetric_key()});
    (void)team_trees[t].commit(std::move(b), match.rng);
    cur[t].push_back(id);
  }
  WholeTotals totals;
  for (auto _ : state) {
    const uint8_t t = static_cast<uint8_t>(match.rng.uniform(teams));
    const MemberId id = match.next++;
    const SymmetricKey secret = match.rng.symmetric_key();
    Batch bt, bm;
    bt.joins.push_back({id, secret.clone()});
    bm.joins.push_back({id, secret.clone()});
    RekeyPlan pt = team_trees[t].commit(std::move(bt), match.rng).value();
    RekeyPlan pm = match.tree.commit(std::move(bm), match.rng).value();
    totals.add(pt, match.root);
    totals.add(pm, match.root);
    state.PauseTiming();
    cur[t].push_back(id);
    const size_t j = match.rng.uniform(cur[t].size());
    const MemberId gone = cur[t][j];
    cur[t][j] = cur[t].back();
    cur[t].pop_back();
    Batch lt, lm;
    lt.leaves.push_back(gone);
    lm.leaves.push_back(gone);
    (void)team_trees[t].commit(std::move(lt), match.rng);
    (void)match.tree.commit(std::move(lm), match.rng);
    state.ResumeTiming();
  }
  size_t tree_bytes = match.tree.memory_bytes();
  for (const KeyTree& tt : team_trees) tree_bytes += tt.memory_bytes();
  totals.report(state, tree_bytes);
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
BENCHMARK(BM_TeamJoin)->ArgNames({"n", "d", "teams"})->Args({1000, 4, 0})->Args({1000, 4, 2})->Args({1000, 4, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SeparateGroupsJoin)->ArgNames({"n", "d", "teams"})->Args({1000, 4, 2})->Args({1000, 4, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TeamSwitch)->ArgNames({"n", "d", "teams"})->Args({1000, 4, 2})->Args({1000, 4, 4})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace netkey

BENCHMARK_MAIN();
