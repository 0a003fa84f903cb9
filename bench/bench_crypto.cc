// bench_crypto: our crypto wrappers against the raw libsodium calls, in one binary.
//
//   BM_Seal/<suite>/<bytes>    Aead::seal          BM_RawSeal/<suite>/<bytes>   libsodium
//   BM_Open/<suite>/<bytes>    Aead::open          BM_RawOpen/<suite>/<bytes>   libsodium
//   BM_Sign, BM_Verify, BM_X25519, BM_Kdf          and their BM_Raw* twins
//
// Run: build/release/bench/bench_crypto --benchmark_filter='Seal|Open'
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "netkey/aead.h"
#include "netkey/kdf.h"
#include "netkey/random.h"
#include "netkey/sign.h"
#include "netkey/x25519.h"

namespace netkey {
namespace {

const size_t kSizes[] = {32, 256, 1200};

using RawSealFn = int (*)(unsigned char*, unsigned long long*, const unsigned char*,
                          unsigned long long, const unsigned char*, unsigned long long,
                          const unsigned char*, const unsigned char*, const unsigned char*);
using RawOpenFn = int (*)(unsigned char*, unsigned long long*, unsigned char*,
                          const unsigned char*, unsigned long long, const unsigned char*,
                          unsigned long long, const unsigned char*, const unsigned char*);

RawSealFn raw_seal(AeadSuite s) {
  switch (s) {
    case AeadSuite::kChaCha20Poly1305: return crypto_aead_chacha20poly1305_ietf_encrypt;
    case AeadSuite::kAes256Gcm: return crypto_aead_aes256gcm_encrypt;
    case AeadSuite::kXChaCha20Poly1305: return crypto_aead_xchacha20poly1305_ietf_encrypt;
  }
  return nullptr;
}
RawOpenFn raw_open(AeadSuite s) {
  switch (s) {
    case AeadSuite::kChaCha20Poly1305: return crypto_aead_chacha20poly1305_ietf_decrypt;
    case AeadSuite::kAes256Gcm: return crypto_aead_aes256gcm_decrypt;
    case AeadSuite::kXChaCha20Poly1305: return crypto_aead_xchacha20poly1305_ietf_decrypt;
  }
  return nullptr;
}

void sodium_ready() {
  if (sodium_init() < 0) std::abort();
}

// A 12-byte AD, the size of a traffic header.
const uint8_t kAd[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

void BM_Seal(benchmark::State& state, AeadSuite suite, size_t bytes) {
  auto aead = Aead::create(suite);
  DeterministicRng rng(1);
  auto key = rng.symmetric_key();
  std::vector<uint8_t> pt(bytes, 0x5a), ct(bytes + kAeadTagSize);
  uint64_t counter = 0;
  for (auto _ : state) {
    // Nonce from a counter, as the traffic layer does; unique per iteration.
    aead->seal(key, Nonce::from_counter(aead->nonce_size(), 0, counter++), kAd, pt, ct);
    benchmark::DoNotOptimize(ct.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void BM_RawSeal(benchmark::State& state, AeadSuite suite, size_t bytes) {
  sodium_ready();
  RawSealFn fn = raw_seal(suite);
  size_t nonce_size = suite == AeadSuite::kXChaCha20Poly1305 ? 24 : 12;
  std::vector<uint8_t> key(32, 7), pt(bytes, 0x5a), ct(bytes + 16);
  uint64_t counter = 0;
  for (auto _ : state) {
    uint8_t nonce[24] = {};
    for (size_t i = 0; i < 8; ++i) nonce[nonce_size - 8 + i] = static_cast<uint8_t>(counter >> (8 * i));
    ++counter;
    unsigned long long clen;
    fn(ct.data(), &clen, pt.data(), pt.size(), kAd, sizeof kAd, nullptr, nonce, key.data());
    benchmark::DoNotOptimize(ct.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void BM_Open(benchmark::State& state, AeadSuite suite, size_t bytes) {
  auto aead = Aead::create(suite);
  DeterministicRng rng(1);
  auto key = rng.symmetric_key();
  std::vector<uint8_t> pt(bytes, 0x5a), ct(bytes + kAeadTagSize), out(bytes);
  Nonce nonce = Nonce::from_counter(aead->nonce_size(), 0, 1);
  aead->seal(key, nonce, kAd, pt, ct);
  for (auto _ : state) {
    Status s = aead->open(key, nonce, kAd, ct, out);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void BM_RawOpen(benchmark::State& state, AeadSuite suite, size_t bytes) {
  sodium_ready();
  std::vector<uint8_t> key(32, 7), pt(bytes, 0x5a), ct(bytes + 16), out(bytes);
  uint8_t nonce[24] = {1};
  unsigned long long len;
  raw_seal(suite)(ct.data(), &len, pt.data(), pt.size(), kAd, sizeof kAd, nullptr, nonce, key.data());
  RawOpenFn fn = raw_open(suite);
  for (auto _ : state) {
    int rc = fn(out.data(), &len, nullptr, ct.data(), ct.size(), kAd, sizeof kAd, nonce, key.data());
    benchmark::DoNotOptimize(rc);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void BM_Sign(benchmark::State& state) {
  DeterministicRng rng(2);
  auto key = SigningKey::generate(rng);
  std::vector<uint8_t> msg(256, 1);
  for (auto _ : state) benchmark::DoNotOptimize(key.sign(msg));
}
void BM_RawSign(benchmark::State& state) {
  sodium_ready();
  uint8_t pk[32], sk[64], sig[64];
  crypto_sign_keypair(pk, sk);
  std::vector<uint8_t> msg(256, 1);
  for (auto _ : state) {
    crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
    benchmark::DoNotOptimize(sig);
  }
}
void BM_Verify(benchmark::State& state) {
  DeterministicRng rng(2);
  auto key = SigningKey::generate(rng);
  std::vector<uint8_t> msg(256, 1);
  auto sig = key.sign(msg);
  for (auto _ : state) benchmark::DoNotOptimize(verify_signature(key.public_key(), msg, sig));
}
void BM_RawVerify(benchmark::State& state) {
  sodium_ready();
  uint8_t pk[32], sk[64], sig[64];
  crypto_sign_keypair(pk, sk);
  std::vector<uint8_t> msg(256, 1);
  crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
  for (auto _ : state) benchmark::DoNotOptimize(crypto_sign_verify_detached(sig, msg.data(), msg.size(), pk));
}
void BM_X25519(benchmark::State& state) {
  DeterministicRng rng(3);
  auto a = X25519KeyPair::generate(rng), b = X25519KeyPair::generate(rng);
  for (auto _ : state) benchmark::DoNotOptimize(a.agree(b.public_key()));
}
void BM_RawX25519(benchmark::State& state) {
  sodium_ready();
  uint8_t a[32], b[32], bp[32], out[32];
  randombytes_buf(a, 32);
  randombytes_buf(b, 32);
  crypto_scalarmult_base(bp, b);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto_scalarmult(out, a, bp));
  }
}
void BM_Kdf(benchmark::State& state) {
  DeterministicRng rng(4);
  auto master = rng.symmetric_key();
  uint64_t id = 0;
  for (auto _ : state) benchmark::DoNotOptimize(kdf_derive(master, kdf_ctx::kTraffic, id++));
}
void BM_RawKdf(benchmark::State& state) {
  sodium_ready();
  uint8_t master[32] = {9}, out[32];
  uint64_t id = 0;
  for (auto _ : state) {
    crypto_kdf_derive_from_key(out, 32, id++, "nk-trafk", master);
    benchmark::DoNotOptimize(out);
  }
}

BENCHMARK(BM_Sign);
BENCHMARK(BM_RawSign);
BENCHMARK(BM_Verify);
BENCHMARK(BM_RawVerify);
BENCHMARK(BM_X25519);
BENCHMARK(BM_RawX25519);
BENCHMARK(BM_Kdf);
BENCHMARK(BM_RawKdf);

int register_aead() {
  for (AeadSuite s : {AeadSuite::kChaCha20Poly1305, AeadSuite::kAes256Gcm,
                      AeadSuite::kXChaCha20Poly1305}) {
    if (!aead_suite_available(s)) continue;
    std::string suite(aead_suite_name(s));
    for (size_t n : kSizes) {
      std::string tail = "/" + suite + "/" + std::to_string(n);
      benchmark::RegisterBenchmark(("BM_Seal" + tail).c_str(), BM_Seal, s, n);
      benchmark::RegisterBenchmark(("BM_RawSeal" + tail).c_str(), BM_RawSeal, s, n);
      benchmark::RegisterBenchmark(("BM_Open" + tail).c_str(), BM_Open, s, n);
      benchmark::RegisterBenchmark(("BM_RawOpen" + tail).c_str(), BM_RawOpen, s, n);
    }
  }
  return 0;
}
const int kRegistered = register_aead();

}  // namespace
}  // namespace netkey

BENCHMARK_MAIN();
