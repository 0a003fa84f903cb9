// Config fields the charter decides (issue 14): a RootConfig or ParticipantConfig that
// sets one to a conflicting value is refused, naming the field, instead of being
// overwritten. Part of group_test.
#include <gtest/gtest.h>

#include "sim/sim_group.h"

namespace netkey::testing {
namespace {

// Issue 14: a config field the charter decides (traffic group id, suite, signed
// broadcasts) set to a conflicting value used to be overwritten silently; create() now
// refuses it, naming the field. Defaults, and values equal to the charter's, are taken.
struct CharterDecides {
  Identities ids{3};
  std::vector<uint8_t> charter;
  explicit CharterDecides(bool signed_broadcasts) {
    CharterFields f = Identities::default_fields(0x77);
    f.suite = AeadSuite::kXChaCha20Poly1305;  // not TrafficConfig's default
    f.signed_broadcasts = signed_broadcasts;
    charter = ids.charter(f, {"p1"});
  }
  Status root(void (*edit)(TrafficConfig&)) {
    RootConfig rc = ids.root_config(charter, kSimUnixTime);
    edit(rc.traffic);
    return Root::create(std::move(rc), std::make_unique<DeterministicRng>(1), 0).status();
  }
  Status participant(void (*edit)(TrafficConfig&)) {
    ParticipantConfig pc = ids.participant_config(ids.get("p1"), charter, kSimUnixTime);
    edit(pc.traffic);
    return Participant::create(std::move(pc), std::make_unique<DeterministicRng>(2), 0).status();
  }
};

void expect_refused_naming(const Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), Errc::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find(field), std::string::npos) << s.to_string();
}

TEST(Group, ConfigTrafficGroupIdConflictingWithTheCharterIsRefused) {
  CharterDecides c(false);
  auto set = [](TrafficConfig& t) { t.group_id = 0x77; };
  expect_refused_naming(c.root(set), "RootConfig.traffic.group_id");
  expect_refused_naming(c.participant(set), "ParticipantConfig.traffic.group_id");
}

TEST(Group, ConfigTrafficRootPublicKeyIsRefused) {
  CharterDecides c(true);
  auto set = [](TrafficConfig& t) { t.root_public_key.bytes[0] = 1; };
  expect_refused_naming(c.root(set), "RootConfig.traffic.root_public_key");
  expect_refused_naming(c.participant(set), "ParticipantConfig.traffic.root_public_key");
  auto keep = [](TrafficConfig&) {};
  EXPECT_TRUE(c.root(keep).is_ok());
  EXPECT_TRUE(c.participant(keep).is_ok());
}

TEST(Group, ConfigTrafficSuiteConflictingWithTheCharterIsRefused) {
  CharterDecides c(false);
  auto aes = [](TrafficConfig& t) { t.suite = AeadSuite::kAes256Gcm; };
  expect_refused_naming(c.root(aes), "RootConfig.traffic.suite");
  expect_refused_naming(c.participant(aes), "ParticipantConfig.traffic.suite");
  auto same = [](TrafficConfig& t) { t.suite = AeadSuite::kXChaCha20Poly1305; };
  EXPECT_TRUE(c.root(same).is_ok());
  EXPECT_TRUE(c.participant(same).is_ok());
  auto keep = [](TrafficConfig&) {};  // the default: take the charter's
  EXPECT_TRUE(c.root(keep).is_ok());
  EXPECT_TRUE(c.participant(keep).is_ok());
}

TEST(Group, ConfigTrafficSignedBroadcastsConflictingWithTheCharterIsRefused) {
  auto sign = [](TrafficConfig& t) { t.signed_broadcasts = true; };
  CharterDecides unsigned_charter(false);
  expect_refused_naming(unsigned_charter.root(sign), "RootConfig.traffic.signed_broadcasts");
  expect_refused_naming(unsigned_charter.participant(sign),
                        "ParticipantConfig.traffic.signed_broadcasts");
  CharterDecides signed_charter(true);
  EXPECT_TRUE(signed_charter.root(sign).is_ok());
  EXPECT_TRUE(signed_charter.participant(sign).is_ok());
  auto keep = [](TrafficConfig&) {};  // false: take the charter's (signed)
  EXPECT_TRUE(signed_charter.root(keep).is_ok());
  EXPECT_TRUE(signed_charter.participant(keep).is_ok());
}

}  // namespace
}  // namespace netkey::testing
