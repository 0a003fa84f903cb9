// Certificates: issue, verify, and every typed rejection.
#include "netkey/certificate.h"

#include <gtest/gtest.h>

#include "netkey/random.h"

namespace netkey {
namespace {

constexpr uint64_t kNow = 1'800'000'000;

class CertificateTest : public ::testing::Test {
 protected:
  DeterministicRng rng_{11};
  SigningKey ca_ = SigningKey::generate(rng_);
  SigningKey subject_ = SigningKey::generate(rng_);

  CertificateFields fields(Role role = Role::kParticipant) {
    CertificateFields f;
    f.serial = 77;
    f.subject_id = "alice";
    f.role = role;
    f.public_key = subject_.public_key();
    f.clearance = 3;
    f.not_before = kNow - 100;
    f.not_after = kNow + 100;
    return f;
  }
  std::vector<uint8_t> issue(CertificateFields f) {
    auto r = issue_certificate(ca_, std::move(f));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return *r;
  }
};

TEST_F(CertificateTest, IssuedCertificateVerifiesWithAllFields) {
  auto cert = issue(fields(Role::kListController));
  auto v = verify_certificate(cert, ca_.public_key(), kNow, Role::kListController);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->subject_id, "alice");
  EXPECT_EQ(v->role, Role::kListController);
  EXPECT_EQ(v->serial, 77u);
  EXPECT_EQ(v->clearance, 3);
  EXPECT_EQ(v->public_key, subject_.public_key());
  EXPECT_EQ(v->issuer_key_id, ca_.key_id());
  EXPECT_EQ(v->not_before, kNow - 100);
  EXPECT_EQ(v->not_after, kNow + 100);
}

TEST_F(CertificateTest, ValidityBoundsAreInclusive) {
  auto cert = issue(fields());
  EXPECT_TRUE(verify_certificate(cert, ca_.public_key(), kNow - 100).is_ok());
  EXPECT_TRUE(verify_certificate(cert, ca_.public_key(), kNow + 100).is_ok());
}

TEST_F(CertificateTest, MalformedBytes) {
  std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  EXPECT_EQ(verify_certificate(junk, ca_.public_key(), kNow).code(), Errc::kMalformed);
  EXPECT_EQ(verify_certificate({}, ca_.public_key(), kNow).code(), Errc::kMalformed);
  // Truncation at every length is refused without crashing.
  auto cert = issue(fields());
  for (size_t n = 0; n < cert.size(); ++n) {
    std::vector<uint8_t> cut(cert.begin(), cert.begin() + static_cast<long>(n));
    auto r = verify_certificate(cut, ca_.public_key(), kNow);
    EXPECT_FALSE(r.is_ok()) << "length " << n;
  }
}

TEST_F(CertificateTest, OversizedBytes) {
  std::vector<uint8_t> big(kMaxCertificateBytes + 1, 0);
  EXPECT_EQ(verify_certificate(big, ca_.public_key(), kNow).code(), Errc::kTooLarge);
}

TEST_F(CertificateTest, BadSignatureWhenBodyTampered) {
  auto cert = issue(fields());
  // Flip one byte of the subject id inside the signed body ("alice" -> "blice").
  bool flipped = false;
  for (size_t i = 0; i + 5 <= cert.size(); ++i) {
    if (std::string(cert.begin() + static_cast<long>(i), cert.begin() + static_cast<long>(i) + 5) == "alice") {
      cert[i] = 'b';
      flipped = true;
      break;
    }
  }
  ASSERT_TRUE(flipped);
  EXPECT_EQ(verify_certificate(cert, ca_.public_key(), kNow).code(), Errc::kBadSignature);
}

TEST_F(CertificateTest, BadSignatureWhenForgedWithMatchingIssuerId) {
  // A forger signs with its own key but claims our CA's key id.
  SigningKey forger = SigningKey::generate(rng_);
  auto cert = issue_certificate(forger, fields());
  ASSERT_TRUE(cert.is_ok());
  auto parsed = parse_certificate(*cert);
  ASSERT_TRUE(parsed.is_ok());
  // Under the forger's own key id it is "another CA"...
  EXPECT_EQ(verify_certificate(*cert, ca_.public_key(), kNow).code(), Errc::kUnknownIssuer);
  // ...and if the issuer id is rewritten to ours, the signature fails.
  auto bytes = *cert;
  auto forger_id = forger.key_id().bytes, our_id = ca_.key_id().bytes;
  auto it = std::search(bytes.begin(), bytes.end(), forger_id.begin(), forger_id.end());
  ASSERT_NE(it, bytes.end());
  std::copy(our_id.begin(), our_id.end(), it);
  EXPECT_EQ(verify_certificate(bytes, ca_.public_key(), kNow).code(), Errc::kBadSignature);
}

TEST_F(CertificateTest, UnknownIssuer) {
  auto cert = issue(fields());
  SigningKey other_ca = SigningKey::generate(rng_);
  auto r = verify_certificate(cert, other_ca.public_key(), kNow);
  EXPECT_EQ(r.code(), Errc::kUnknownIssuer);
  EXPECT_NE(r.status().message().find("another CA"), std::string::npos);
}

TEST_F(CertificateTest, Expired) {
  auto cert = issue(fields());
  EXPECT_EQ(verify_certificate(cert, ca_.public_key(), kNow + 101).code(), Errc::kExpired);
}

TEST_F(CertificateTest, NotYetValid) {
  auto cert = issue(fields());
  EXPECT_EQ(verify_certificate(cert, ca_.public_key(), kNow - 101).code(), Errc::kNotYetValid);
}

TEST_F(CertificateTest, WrongRole) {
  auto cert = issue(fields(Role::kParticipant));
  EXPECT_EQ(verify_certificate(cert, ca_.public_key(), kNow, Role::kRoot).code(), Errc::kWrongRole);
  EXPECT_TRUE(verify_certificate(cert, ca_.public_key(), kNow, Role::kParticipant).is_ok());
}

TEST_F(CertificateTest, ErrorsNeverLeakKeyMaterial) {
  auto cert = issue(fields());
  auto r = verify_certificate(cert, ca_.public_key(), kNow + 1000);
  ASSERT_FALSE(r.is_ok());
  // The message names the subject and times only.
  EXPECT_EQ(r.status().message().find("\x00", 0, 1), std::string::npos);
  EXPECT_LT(r.status().message().size(), 200u);
}

TEST_F(CertificateTest, IssueRejectsBadFields) {
  auto f = fields();
  f.subject_id = "";
  EXPECT_EQ(issue_certificate(ca_, f).code(), Errc::kInvalidArgument);
  f = fields();
  f.subject_id = std::string(65, 'x');
  EXPECT_EQ(issue_certificate(ca_, f).code(), Errc::kInvalidArgument);
  f = fields();
  f.not_before = f.not_after + 1;
  EXPECT_EQ(issue_certificate(ca_, f).code(), Errc::kInvalidArgument);
}

TEST(Role, NamesRoundTrip) {
  for (Role r : {Role::kRoot, Role::kListController, Role::kInitiator, Role::kParticipant}) {
    auto p = parse_role(role_name(r));
    ASSERT_TRUE(p.is_ok());
    EXPECT_EQ(*p, r);
  }
  EXPECT_EQ(parse_role("admin").code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace netkey
