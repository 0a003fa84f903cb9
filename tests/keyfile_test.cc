#include "netkey/keyfile.h"

#include <gtest/gtest.h>

#include "netkey/random.h"
#include "netkey/sign.h"

namespace netkey {
namespace {

TEST(KeyFile, SecretRoundTrip) {
  DeterministicRng rng(1);
  auto key = SigningKey::generate(rng);
  std::string text = encode_secret_key_file("identity", "bob", key.seed());
  auto parsed = parse_secret_key_file(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->kind, "identity");
  EXPECT_EQ(parsed->subject, "bob");
  EXPECT_TRUE(parsed->seed == key.seed());
}

TEST(KeyFile, CorruptSeedIsDetectedByChecksumAndErrorHidesTheSecret) {
  DeterministicRng rng(2);
  auto key = SigningKey::generate(rng);
  std::string text = encode_secret_key_file("ca", "root-ca", key.seed());
  size_t at = text.find("seed: ") + 6;
  std::string seed_hex = text.substr(at, 64);
  text[at] = text[at] == '0' ? '1' : '0';
  auto parsed = parse_secret_key_file(text);
  ASSERT_EQ(parsed.code(), Errc::kMalformed);
  EXPECT_NE(parsed.status().message().find("corrupt"), std::string::npos);
  EXPECT_EQ(parsed.status().message().find(seed_hex.substr(2, 20)), std::string::npos);
}

TEST(KeyFile, WrongHeaderAndMissingFields) {
  EXPECT_EQ(parse_secret_key_file("").code(), Errc::kMalformed);
  EXPECT_EQ(parse_secret_key_file("hello\nkind: ca\n").code(), Errc::kMalformed);
  EXPECT_EQ(parse_secret_key_file("netkey-secret-key-v1\nkind: ca\n").code(), Errc::kMalformed);
  EXPECT_EQ(parse_secret_key_file("netkey-secret-key-v1\nkind: x\nsubject: a\nseed: 00\ncheck: 0\n").code(),
            Errc::kMalformed);
}

TEST(KeyFile, CaPublicRoundTripAndKeyIdCheck) {
  DeterministicRng rng(3);
  auto key = SigningKey::generate(rng);
  std::string text = encode_ca_public_file("studio", key.public_key());
  auto parsed = parse_ca_public_file(text);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->subject, "studio");
  EXPECT_EQ(parsed->public_key, key.public_key());
  size_t at = text.find("key-id: ") + 8;
  text[at] = text[at] == 'a' ? 'b' : 'a';
  EXPECT_EQ(parse_ca_public_file(text).code(), Errc::kMalformed);
}

TEST(Hex, RoundTripAndErrors) {
  std::vector<uint8_t> b = {0x00, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "00abff");
  EXPECT_EQ(*from_hex("00ABff"), b);
  EXPECT_EQ(from_hex("abc").code(), Errc::kMalformed);
  EXPECT_EQ(from_hex("zz").code(), Errc::kMalformed);
}

}  // namespace
}  // namespace netkey
