// The charter's team count (tree_teams): carried and checked; absent when 0, so a
// charter without teams keeps its exact bytes.
#include "netkey/charter.h"

#include <gtest/gtest.h>

#include "common/pki.h"
#include "netkey/sign.h"

namespace netkey {
namespace {

using demo::Identities;
using demo::Identity;

TEST(Charter, TeamCountRoundTripsAndIsBoundedByTheDegree) {
  Identities ids(5);
  const Identity& init = ids.get("lobby", Role::kInitiator, 9);
  for (uint8_t teams : {uint8_t{0}, uint8_t{2}, uint8_t{4}}) {
    CharterFields f = Identities::default_fields(1);
    f.degree = 4;
    f.teams = teams;
    auto bytes = ids.charter(f, {"a", "b"});
    auto back = verify_charter(bytes, ids.ca().public_key(), demo::kSimUnixTime);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->teams, teams);
  }
  CharterFields f = Identities::default_fields(1);
  f.degree = 4;
  f.teams = 5;
  auto refused = sign_charter(f, SigningKey::from_seed(init.seed), init.certificate);
  EXPECT_EQ(refused.code(), Errc::kInvalidArgument);
}

// The field is a scalar with default 0: FlatBuffers leaves it out when 0 (so charters
// without teams keep their bytes; vectors_current checks the handshake vectors' charter)
// and writes it otherwise.
TEST(Charter, ANonzeroTeamCountIsWritten) {
  Identities a(6), b(6);
  CharterFields f = Identities::default_fields(1);
  CharterFields g = f;
  g.teams = 2;
  const auto plain = a.charter(f, {"a"});
  const auto with = b.charter(g, {"a"});
  EXPECT_NE(with, plain);
  EXPECT_EQ(plain, Identities(6).charter(f, {"a"})) << "charters are deterministic here";
}

}  // namespace
}  // namespace netkey
