// Known-answer tests (tests/vectors/) and properties of the crypto core.
#include <gtest/gtest.h>

#include <set>

#include "netkey/aead.h"
#include "netkey/kdf.h"
#include "netkey/keys.h"
#include "netkey/random.h"
#include "netkey/sign.h"
#include "netkey/x25519.h"
#include "support/vectors.h"

namespace netkey {
namespace {

using testing::hex;
using testing::load_vectors;
using testing::unhex;

void run_aead_vectors(AeadSuite suite, const char* file) {
  auto aead = Aead::create(suite);
  ASSERT_TRUE(aead.is_ok()) << aead.status().to_string();
  for (const auto& v : load_vectors(file)) {
    SCOPED_TRACE(v.at("name"));
    auto key = SymmetricKey::from_bytes(unhex(v.at("key")));
    auto nonce = Nonce::from_bytes(unhex(v.at("nonce")));
    auto ad = unhex(v.at("ad"));
    auto pt = unhex(v.at("plaintext"));
    auto expected = unhex(v.at("ciphertext") + v.at("tag"));

    std::vector<uint8_t> ct(pt.size() + kAeadTagSize);
    aead->seal(key, nonce, ad, pt, ct);
    EXPECT_EQ(hex(ct), hex(expected));

    std::vector<uint8_t> back(pt.size());
    ASSERT_TRUE(aead->open(key, nonce, ad, ct, back).is_ok());
    EXPECT_EQ(back, pt);

    // Every single-bit flip in ciphertext or tag is rejected.
    for (size_t i = 0; i < ct.size(); i += 7) {
      auto bad = ct;
      bad[i] ^= 0x01;
      EXPECT_EQ(aead->open(key, nonce, ad, bad, back).code(), Errc::kBadTag) << "byte " << i;
    }
    // The AD is authenticated.
    auto bad_ad = ad;
    bad_ad.push_back(0);
    EXPECT_EQ(aead->open(key, nonce, bad_ad, ct, back).code(), Errc::kBadTag);
  }
}

TEST(AeadKat, ChaCha20Poly1305Rfc8439) {
  run_aead_vectors(AeadSuite::kChaCha20Poly1305, "rfc8439_chacha20poly1305.json");
}

TEST(AeadKat, XChaCha20Poly1305Draft) {
  run_aead_vectors(AeadSuite::kXChaCha20Poly1305, "xchacha20poly1305.json");
}

TEST(AeadKat, Aes256GcmWhenCpuSupportsIt) {
  if (!aead_suite_available(AeadSuite::kAes256Gcm)) {
    // The only legitimate skip: the CPU lacks AES-NI. The refusal itself is tested below.
    GTEST_SKIP() << "CPU lacks AES-NI/PCLMUL";
  }
  run_aead_vectors(AeadSuite::kAes256Gcm, "aes256gcm.json");
}

TEST(Aead, Aes256GcmRefusedWithClearErrorWhenUnavailable) {
  auto r = Aead::create(AeadSuite::kAes256Gcm);
  if (aead_suite_available(AeadSuite::kAes256Gcm)) {
    EXPECT_TRUE(r.is_ok());
  } else {
    ASSERT_EQ(r.code(), Errc::kUnsupported);
    EXPECT_NE(r.status().message().find("chacha20poly1305"), std::string::npos);
  }
}

TEST(Aead, ShortCiphertextIsMalformedNotACrash) {
  auto aead = Aead::create(AeadSuite::kChaCha20Poly1305);
  DeterministicRng rng(1);
  auto key = rng.symmetric_key();
  std::vector<uint8_t> ct(5), out;
  EXPECT_EQ(aead->open(key, Nonce(12), {}, ct, out).code(), Errc::kMalformed);
}

TEST(Aead, SuiteNamesRoundTrip) {
  for (AeadSuite s : {AeadSuite::kChaCha20Poly1305, AeadSuite::kAes256Gcm,
                      AeadSuite::kXChaCha20Poly1305}) {
    auto parsed = parse_aead_suite(aead_suite_name(s));
    ASSERT_TRUE(parsed.is_ok());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(parse_aead_suite("rot13").code(), Errc::kInvalidArgument);
}

TEST(Nonce, FromCounterIsInjective) {
  std::set<std::vector<uint8_t>> seen;
  for (uint32_t d = 0; d < 4; ++d) {
    for (uint64_t c : {0ull, 1ull, 255ull, 256ull, 1ull << 32, ~0ull}) {
      auto n = Nonce::from_counter(12, d, c);
      EXPECT_TRUE(seen.insert({n.bytes().begin(), n.bytes().end()}).second);
    }
  }
}

TEST(Ed25519Kat, Rfc8032) {
  for (const auto& v : load_vectors("rfc8032_ed25519.json")) {
    SCOPED_TRACE(v.at("name"));
    auto key = SigningKey::from_seed(SigningSeed::from_bytes(unhex(v.at("seed"))));
    EXPECT_EQ(hex({key.public_key().bytes.begin(), key.public_key().bytes.end()}), v.at("public"));
    auto msg = unhex(v.at("message"));
    auto sig = key.sign(msg);
    EXPECT_EQ(hex({sig.bytes.begin(), sig.bytes.end()}), v.at("signature"));
    EXPECT_TRUE(verify_signature(key.public_key(), msg, sig).is_ok());
    // A changed message or signature is refused with the typed error.
    auto msg2 = msg;
    msg2.push_back(0x00);
    EXPECT_EQ(verify_signature(key.public_key(), msg2, sig).code(), Errc::kBadSignature);
    auto sig2 = sig;
    sig2.bytes[10] ^= 0x40;
    EXPECT_EQ(verify_signature(key.public_key(), msg, sig2).code(), Errc::kBadSignature);
    EXPECT_EQ(key.seed(), SigningSeed::from_bytes(unhex(v.at("seed"))));
  }
}

TEST(X25519Kat, Rfc7748) {
  for (const auto& v : load_vectors("rfc7748_x25519.json")) {
    SCOPED_TRACE(v.at("name"));
    auto alice = X25519KeyPair::from_secret(X25519Secret::from_bytes(unhex(v.at("alice_private"))));
    auto bob = X25519KeyPair::from_secret(X25519Secret::from_bytes(unhex(v.at("bob_private"))));
    EXPECT_EQ(hex({alice.public_key().bytes.begin(), alice.public_key().bytes.end()}),
              v.at("alice_public"));
    EXPECT_EQ(hex({bob.public_key().bytes.begin(), bob.public_key().bytes.end()}),
              v.at("bob_public"));
    auto s1 = alice.agree(bob.public_key());
    auto s2 = bob.agree(alice.public_key());
    ASSERT_TRUE(s1.is_ok() && s2.is_ok());
    auto expected = X25519Secret::from_bytes(unhex(v.at("shared")));
    EXPECT_TRUE(*s1 == expected);
    EXPECT_TRUE(*s2 == expected);
  }
}

TEST(X25519, SmallOrderPeerIsRefused) {
  DeterministicRng rng(7);
  auto kp = X25519KeyPair::generate(rng);
  X25519PublicKey zero;  // the all-zero point has small order
  EXPECT_EQ(kp.agree(zero).code(), Errc::kWeakKey);
}

TEST(Kdf, ContextsAndIdsSeparateKeys) {
  DeterministicRng rng(3);
  auto master = rng.symmetric_key();
  auto a = kdf_derive(master, kdf_ctx::kNetKey, 1);
  EXPECT_TRUE(a == kdf_derive(master, kdf_ctx::kNetKey, 1));  // deterministic
  EXPECT_FALSE(a == kdf_derive(master, kdf_ctx::kNetKey, 2));
  EXPECT_FALSE(a == kdf_derive(master, kdf_ctx::kForward, 1));
  EXPECT_FALSE(a == master);
  auto other = rng.symmetric_key();
  EXPECT_FALSE(a == kdf_derive(other, kdf_ctx::kNetKey, 1));
}

TEST(Kdf, ExtractBindsInfo) {
  std::vector<uint8_t> ikm(32, 0x11), info1(32, 1), info2(32, 2);
  EXPECT_TRUE(kdf_extract(ikm, kdf_ctx::kHandshake, info1) ==
              kdf_extract(ikm, kdf_ctx::kHandshake, info1));
  EXPECT_FALSE(kdf_extract(ikm, kdf_ctx::kHandshake, info1) ==
               kdf_extract(ikm, kdf_ctx::kHandshake, info2));
}

TEST(Keys, MoveWipesTheSource) {
  DeterministicRng rng(4);
  SymmetricKey a = rng.symmetric_key();
  SymmetricKey copy = a.clone();
  SymmetricKey b = std::move(a);
  EXPECT_TRUE(b == copy);
  SymmetricKey zero;
  // NOLINTNEXTLINE(bugprone-use-after-move): checking the wipe is the point.
  EXPECT_TRUE(a == zero);
}

TEST(Random, DeterministicRngIsReproducibleAndSeedSensitive) {
  DeterministicRng r1(42), r2(42), r3(43);
  uint64_t a = r1.next_u64(), b = r2.next_u64(), c = r3.next_u64();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(r1.next_u64(), a);  // successive outputs differ
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r1.uniform(7), 7u);
}

TEST(Keys, KeyIdDependsOnKey) {
  DeterministicRng rng(5);
  auto k1 = SigningKey::generate(rng), k2 = SigningKey::generate(rng);
  EXPECT_FALSE(k1.key_id() == k2.key_id());
  EXPECT_TRUE(k1.key_id() == key_id_of(k1.public_key()));
}

}  // namespace
}  // namespace netkey
