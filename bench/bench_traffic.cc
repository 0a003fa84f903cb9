// bench_traffic: encrypt-once traffic.
//
//   BM_TrafficSeal/<suite>/<bytes>, BM_TrafficOpen/<suite>/<bytes>   our framing
//   BM_RawSeal/<suite>/<bytes>,     BM_RawOpen/<suite>/<bytes>       raw libsodium AEAD
//   BM_PrivateSeal/<suite>/<bytes>, BM_PrivateOpen/<suite>/<bytes>   private messages (type 5)
//   BM_TeamSeal/<suite>/<bytes>                                      team broadcast (type 4)
//   BM_Broadcast/peers:1000/mode:group     one seal, shared by every peer (netkey)
//   BM_Broadcast/peers:1000/mode:per_peer  one seal per peer under per-peer keys
//                                          (the netcode / GameNetworkingSockets model)
//   BM_ReplayWindow                        check + mark per packet, with reordering
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netkey/private_channel.h"
#include "netkey/replay_window.h"
#include "netkey/traffic.h"

namespace netkey {
namespace {

const size_t kSizes[] = {64, 256, 1200};
const uint8_t kAd[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

void need_sodium() {
  if (sodium_init() < 0) std::abort();
}

TrafficConfig config(AeadSuite suite) {
  TrafficConfig c;
  c.group_id = 1;
  c.suite = suite;
  c.max_buffered_packets = 0;
  return c;
}

// The timed loop of the seal benchmarks: one seal(payload, out) of a `bytes`-byte payload
// per iteration, after rekey_if_due() (which starts a new epoch before the 2^32 sequences
// of one run out).
template <class Seal, class RekeyIfDue>
void seal_loop(benchmark::State& state, size_t bytes, Seal seal, RekeyIfDue rekey_if_due) {
  std::vector<uint8_t> payload(bytes, 0x42), out(bytes + kTrafficOverhead);
  for (auto _ : state) {
    rekey_if_due();
    benchmark::DoNotOptimize(seal(payload, out));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// kOpenBatch distinct packets of `bytes`-byte payloads from seal(payload): distinct, since
// the replay window refuses a second open of the same one.
constexpr size_t kOpenBatch = 2048;
template <class Seal>
std::vector<std::vector<uint8_t>> sealed_batch(size_t bytes, Seal seal) {
  std::vector<std::vector<uint8_t>> pkts;
  for (size_t i = 0; i < kOpenBatch; ++i) pkts.push_back(*seal(std::vector<uint8_t>(bytes, 0x42)));
  return pkts;
}

// The timed loop of the open benchmarks: open(rx, packet, out) per iteration over `pkts`
// in turn, with a receiver from fresh() (made untimed) for each pass over the batch.
template <class Fresh, class Open>
void open_loop(benchmark::State& state, size_t bytes, const std::vector<std::vector<uint8_t>>& pkts,
               Fresh fresh, Open open) {
  auto rx = fresh();
  std::vector<uint8_t> out(bytes);
  size_t i = 0, failures = 0;
  for (auto _ : state) {
    if (i == pkts.size()) {
      state.PauseTiming();
      rx = fresh();
      i = 0;
      state.ResumeTiming();
    }
    if (!open(rx, pkts[i++], out)) ++failures;
  }
  if (failures) state.SkipWithError("open failed");
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// Sender 7 of epoch `net` (epoch 1).
TrafficSender sender_in_epoch_1(AeadSuite suite, const SymmetricKey& net) {
  auto s = TrafficSender::create(config(suite), 7).value();
  s.set_epoch(1, net);
  return s;
}
// Member 7's private channel, at `side`, in epoch 1 of private base `base`.
PrivateChannel channel_in_epoch_1(AeadSuite suite, PrivateSide side, const SymmetricKey& base) {
  auto c = PrivateChannel::create(config(suite), 7, side).value();
  c.set_epoch(1, base, 0);
  return c;
}

void BM_TrafficSeal(benchmark::State& state, AeadSuite suite, size_t bytes) {
  DeterministicRng rng(1);
  auto net = rng.symmetric_key();
  auto s = sender_in_epoch_1(suite, net);
  seal_loop(
      state, bytes, [&](const auto& payload, auto& out) { return s.seal(payload, out); },
      [&] {
        if (s.next_seq() == kMaxTrafficSeq) s.set_epoch(s.epoch() + 1, net);
      });
}

void BM_TrafficOpen(benchmark::State& state, AeadSuite suite, size_t bytes) {
  DeterministicRng rng(1);
  auto net = rng.symmetric_key();
  auto s = sender_in_epoch_1(suite, net);
  auto fresh = [&] {
    auto rx = TrafficReceiver::create(config(suite)).value();
    rx.set_epoch(1, net, 0);
    return rx;
  };
  open_loop(state, bytes, sealed_batch(bytes, [&](const std::vector<uint8_t>& p) { return s.seal(p); }), fresh,
            [](TrafficReceiver& rx, const std::vector<uint8_t>& pkt, auto& out) {
              return static_cast<bool>(rx.open_into(pkt, 1, out));
            });
}

void BM_PrivateSeal(benchmark::State& state, AeadSuite suite, size_t bytes) {
  DeterministicRng rng(3);
  const SymmetricKey base = private_base_key(rng.symmetric_key());
  auto c = channel_in_epoch_1(suite, PrivateSide::kRoot, base);
  seal_loop(
      state, bytes, [&](const auto& payload, auto& out) { return c.seal(payload, out); },
      [&] {
        if (c.next_seq() == kMaxTrafficSeq) c.set_epoch(c.epoch() + 1, base, 0);
      });
}

void BM_PrivateOpen(benchmark::State& state, AeadSuite suite, size_t bytes) {
  DeterministicRng rng(3);
  const SymmetricKey base = private_base_key(rng.symmetric_key());
  auto root = channel_in_epoch_1(suite, PrivateSide::kRoot, base);
  open_loop(state, bytes, sealed_batch(bytes, [&](const std::vector<uint8_t>& p) { return root.seal(p); }),
            [&] { return channel_in_epoch_1(suite, PrivateSide::kMember, base); },
            [](PrivateChannel& m, const std::vector<uint8_t>& pkt, auto& out) {
              return static_cast<bool>(m.open(pkt, 1, out));
            });
}

void BM_TeamSeal(benchmark::State& state, AeadSuite suite, size_t bytes) {
  DeterministicRng rng(4);
  auto t = TeamSender::create(config(suite)).value();
  t.set_epoch(1);
  t.set_team_key(2, rng.symmetric_key());
  uint64_t sealed = 0;
  seal_loop(
      state, bytes, [&](const auto& payload, auto& out) { return t.seal(2, payload, out); },
      [&] {
        if (++sealed == kMaxTrafficSeq) {
          t.set_epoch(t.epoch() + 1);
          t.set_team_key(2, rng.symmetric_key());
          sealed = 0;
        }
      });
}

using RawSeal = int (*)(unsigned char*, unsigned long long*, const unsigned char*, unsigned long long,
                        const unsigned char*, unsigned long long, const unsigned char*, const unsigned char*,
                        const unsigned char*);
using RawOpen = int (*)(unsigned char*, unsigned long long*, unsigned char*, const unsigned char*,
                        unsigned long long, const unsigned char*, unsigned long long, const unsigned char*,
                        const unsigned char*);
RawSeal raw_seal(AeadSuite s) {
  return s == AeadSuite::kAes256Gcm           ? crypto_aead_aes256gcm_encrypt
         : s == AeadSuite::kXChaCha20Poly1305 ? crypto_aead_xchacha20poly1305_ietf_encrypt
                                              : crypto_aead_chacha20poly1305_ietf_encrypt;
}
RawOpen raw_open(AeadSuite s) {
  return s == AeadSuite::kAes256Gcm           ? crypto_aead_aes256gcm_decrypt
         : s == AeadSuite::kXChaCha20Poly1305 ? crypto_aead_xchacha20poly1305_ietf_decrypt
                                              : crypto_aead_chacha20poly1305_ietf_decrypt;
}

void BM_RawSeal(benchmark::State& state, AeadSuite suite, size_t bytes) {
  need_sodium();
  std::vector<uint8_t> key(32, 3), payload(bytes, 0x42), out(bytes + 16);
  uint8_t nonce[24] = {};
  uint64_t seq = 0;
  RawSeal fn = raw_seal(suite);
  for (auto _ : state) {
    std::memcpy(nonce, &seq, 8);
    ++seq;
    unsigned long long len;
    benchmark::DoNotOptimize(fn(out.data(), &len, payload.data(), bytes, kAd, 16, nullptr, nonce, key.data()));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void BM_RawOpen(benchmark::State& state, AeadSuite suite, size_t bytes) {
  need_sodium();
  std::vector<uint8_t> key(32, 3), payload(bytes, 0x42), ct(bytes + 16), out(bytes);
  uint8_t nonce[24] = {};
  unsigned long long len;
  raw_seal(suite)(ct.data(), &len, payload.data(), bytes, kAd, 16, nullptr, nonce, key.data());
  RawOpen fn = raw_open(suite);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fn(out.data(), &len, nullptr, ct.data(), ct.size(), kAd, 16, nonce, key.data()));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// One 1 KB snapshot to `peers` peers.
void BM_Broadcast(benchmark::State& state, size_t peers, bool per_peer) {
  DeterministicRng rng(2);
  std::vector<uint8_t> snapshot(1024, 0x5a);
  if (!per_peer) {
    auto root = TrafficSender::create(config(AeadSuite::kChaCha20Poly1305), kRootSender).value();
    root.set_epoch(1, rng.symmetric_key());
    std::vector<uint8_t> out(snapshot.size() + kTrafficOverhead);
    for (auto _ : state) {
      benchmark::DoNotOptimize(root.seal(snapshot, out));  // the same bytes go to every peer
    }
    state.counters["seals"] = 1;
  } else {
    std::vector<TrafficSender> conns;
    for (size_t i = 0; i < peers; ++i) {
      conns.push_back(TrafficSender::create(config(AeadSuite::kChaCha20Poly1305), kRootSender).value());
      conns.back().set_epoch(1, rng.symmetric_key());  // a key per connection
    }
    std::vector<uint8_t> out(snapshot.size() + kTrafficOverhead);
    for (auto _ : state) {
      for (auto& c : conns) benchmark::DoNotOptimize(c.seal(snapshot, out));
    }
    state.counters["seals"] = static_cast<double>(peers);
  }
  state.counters["bytes_sealed"] = benchmark::Counter(
      static_cast<double>(snapshot.size()) * (per_peer ? static_cast<double>(peers) : 1.0));
}

void BM_ReplayWindow(benchmark::State& state) {
  // Mostly in order, with one packet in 8 arriving 5 places late.
  std::vector<uint64_t> order;
  for (uint64_t s = 0; s < 4096; ++s) order.push_back(s);
  for (size_t i = 0; i + 5 < order.size(); i += 8) std::swap(order[i], order[i + 5]);
  ReplayWindow w;
  uint64_t base = 0;
  size_t i = 0, accepted = 0;
  for (auto _ : state) {
    if (i == order.size()) {
      i = 0;
      base += order.size();
    }
    const uint64_t seq = base + order[i++];
    if (w.is_fresh(seq)) {
      w.mark(seq);
      ++accepted;
    }
  }
  state.counters["accepted"] = static_cast<double>(accepted);
}

BENCHMARK(BM_ReplayWindow);

int register_all() {
  benchmark::RegisterBenchmark("BM_Broadcast/peers:1000/mode:group", BM_Broadcast, 1000, false)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Broadcast/peers:1000/mode:per_peer", BM_Broadcast, 1000, true)
      ->Unit(benchmark::kMicrosecond);
  for (AeadSuite s : {AeadSuite::kChaCha20Poly1305, AeadSuite::kAes256Gcm, AeadSuite::kXChaCha20Poly1305}) {
    if (!aead_suite_available(s)) continue;
    for (size_t n : kSizes) {
      std::string tail = "/";
      tail += aead_suite_name(s);
      tail += '/';
      tail += std::to_string(n);
      auto name = [&](const char* head) {
        std::string out = head;
        out += tail;
        return out;
      };
      benchmark::RegisterBenchmark(name("BM_TrafficSeal").c_str(), BM_TrafficSeal, s, n);
      benchmark::RegisterBenchmark(name("BM_RawSeal").c_str(), BM_RawSeal, s, n);
      benchmark::RegisterBenchmark(name("BM_TrafficOpen").c_str(), BM_TrafficOpen, s, n);
      benchmark::RegisterBenchmark(name("BM_RawOpen").c_str(), BM_RawOpen, s, n);
      benchmark::RegisterBenchmark(name("BM_PrivateSeal").c_str(), BM_PrivateSeal, s, n);
      benchmark::RegisterBenchmark(name("BM_PrivateOpen").c_str(), BM_PrivateOpen, s, n);
      benchmark::RegisterBenchmark(name("BM_TeamSeal").c_str(), BM_TeamSeal, s, n);
    }
  }
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace netkey

BENCHMARK_MAIN();
