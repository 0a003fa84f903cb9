// MemberKeys: applies every encoding all or nothing and rejects each bad input with
// its typed reason, leaving its state untouched.
#include "netkey/member_keys.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "netkey/rekey_codec.h"
#include "netkey/wire/rekey_generated.h"
#include "src/keytree/sealed.h"
#include "src/keytree/wrap.h"
#include "support/key_sim.h"

namespace netkey {
namespace {

constexpr uint64_t kGroupTeams = 0x7ea5;

class MemberKeysTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kGroup = 0xfeed;
  DeterministicRng rng_{21};
  SigningKey root_ = SigningKey::generate(rng_);
  KeyTree tree_{kGroup, TreePolicy{}};
  std::map<MemberId, SymmetricKey> secrets_;
  std::map<MemberId, MemberKeys> members_;

  void SetUp() override {
    Batch b;
    for (MemberId id = 1; id <= 20; ++id) {
      secrets_.emplace(id, rng_.symmetric_key());
      b.joins.push_back({id, secrets_.at(id).clone()});
    }
    ASSERT_TRUE(tree_.commit(std::move(b), rng_).is_ok());
    for (MemberId id = 1; id <= 20; ++id) {
      members_.emplace(id, MemberKeys(kGroup, id, secrets_.at(id), root_.public_key()));
      auto w = encode_welcome(tree_, id);
      ASSERT_TRUE(w.is_ok());
      ASSERT_TRUE(members_.at(id).apply(*w).is_ok());
      ASSERT_TRUE(members_.at(id).net_key() == tree_.net_key());
    }
  }
  RekeyPlan leave(MemberId id) {
    Batch b;
    b.leaves = {id};
    return tree_.commit(std::move(b), rng_).value();
  }
  // State snapshot for all-or-nothing checks.
  struct Snap {
    uint64_t epoch;
    NodeId leaf;
    std::vector<uint8_t> net;
  };
  static Snap snap(const MemberKeys& m) {
    return {m.epoch(), m.leaf(), {m.net_key().data(), m.net_key().data() + 32}};
  }
  static void expect_unchanged(const MemberKeys& m, const Snap& s) {
    EXPECT_EQ(m.epoch(), s.epoch);
    EXPECT_EQ(m.leaf(), s.leaf);
    EXPECT_EQ(std::vector<uint8_t>(m.net_key().data(), m.net_key().data() + 32), s.net);
  }
};

TEST_F(MemberKeysTest, WholeAndSliceBothReachAgreement) {
  auto plan = leave(7);
  auto whole = encode_whole(plan, root_);
  SliceEncoder slicer(plan);
  for (auto& [id, m] : members_) {
    if (id == 7) continue;
    if (id % 2 == 0) {
      ASSERT_TRUE(m.apply(whole).is_ok()) << id;
    } else {
      auto s = slicer.encode(tree_, id);
      ASSERT_TRUE(s.is_ok());
      ASSERT_TRUE(m.apply(*s).is_ok()) << id;
    }
    EXPECT_EQ(m.epoch(), tree_.epoch());
    EXPECT_TRUE(m.net_key() == tree_.net_key());
  }
}

TEST_F(MemberKeysTest, RemovedMemberHoldsNoKeyForTheNewEpoch) {
  auto plan = leave(7);
  MemberKeys& gone = members_.at(7);
  Snap before = snap(gone);
  EXPECT_EQ(gone.apply(encode_whole(plan, root_)).code(), Errc::kUnknownKey);
  expect_unchanged(gone, before);
  EXPECT_EQ(SliceEncoder(plan).encode(tree_, 7).code(), Errc::kInvalidArgument);
}

// Regression (found by secrecy_test, seed 16): when every member left in one batch the
// Whole carried no entries, and a removed member kept its old keys and reported
// success for the new epoch.
TEST_F(MemberKeysTest, EveryoneLeavingDoesNotLeaveAnyoneInTheGroup) {
  Batch b;
  for (MemberId id = 1; id <= 20; ++id) b.leaves.push_back(id);
  auto plan = tree_.commit(std::move(b), rng_);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_FALSE(tree_.has_net_key());
  auto whole = encode_whole(*plan, root_);
  for (auto& [id, m] : members_) {
    Snap before = snap(m);
    EXPECT_EQ(m.apply(whole).code(), Errc::kUnknownKey) << id;
    expect_unchanged(m, before);
  }
}

TEST_F(MemberKeysTest, WrongGroup) {
  auto plan = leave(3);
  MemberKeys other(kGroup + 1, 1, secrets_.at(1), root_.public_key());
  auto w = encode_welcome(tree_, 1);
  EXPECT_EQ(other.apply(*w).code(), Errc::kWrongGroup);
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  // Same Root, another group: signed correctly, refused by group.
  KeyTree t2(kGroup + 1, TreePolicy{});
  Batch b;
  b.joins.push_back({1, secrets_.at(1).clone()});
  b.joins.push_back({2, secrets_.at(2).clone()});
  ASSERT_TRUE(t2.commit(std::move(b), rng_).is_ok());
  Batch b2;
  b2.leaves = {2};
  auto p2 = t2.commit(std::move(b2), rng_);
  ASSERT_TRUE(p2.is_ok());
  EXPECT_EQ(m.apply(encode_whole(*p2, root_)).code(), Errc::kWrongGroup);
  expect_unchanged(m, before);
  // A slice sealed for member 2 is refused by member 1.
  auto s = SliceEncoder(plan).encode(tree_, 2);
  EXPECT_EQ(m.apply(*s).code(), Errc::kWrongGroup);
  expect_unchanged(m, before);
}

TEST_F(MemberKeysTest, StaleAndReplayedEpochs) {
  auto plan = leave(3);
  auto whole = encode_whole(plan, root_);
  MemberKeys& m = members_.at(1);
  ASSERT_TRUE(m.apply(whole).is_ok());
  Snap after = snap(m);
  EXPECT_EQ(m.apply(whole).code(), Errc::kStaleEpoch);  // replay
  expect_unchanged(m, after);
  // A replayed Welcome from an earlier epoch is stale as well.
  auto w = encode_welcome(tree_, 1);
  ASSERT_TRUE(w.is_ok());
  auto p2 = leave(4);
  ASSERT_TRUE(m.apply(encode_whole(p2, root_)).is_ok());
  Snap later = snap(m);
  EXPECT_EQ(m.apply(*w).code(), Errc::kStaleEpoch);
  expect_unchanged(m, later);
}

TEST_F(MemberKeysTest, EpochGapNeedsResyncAndResyncRecovers) {
  auto p1 = leave(3);
  auto p2 = leave(4);
  auto p3 = leave(5);
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  EXPECT_EQ(m.apply(encode_whole(p3, root_)).code(), Errc::kNeedsResync);
  EXPECT_EQ(m.apply(encode_whole(p2, root_)).code(), Errc::kNeedsResync);
  expect_unchanged(m, before);
  auto r = encode_resync(tree_, 1);
  ASSERT_TRUE(r.is_ok());
  ASSERT_TRUE(m.apply(*r).is_ok());
  EXPECT_EQ(m.epoch(), tree_.epoch());
  EXPECT_TRUE(m.net_key() == tree_.net_key());
  // The old batches are now stale.
  EXPECT_EQ(m.apply(encode_whole(p1, root_)).code(), Errc::kStaleEpoch);
  // A replayed Resync is stale too.
  EXPECT_EQ(m.apply(*r).code(), Errc::kStaleEpoch);
  // And the next batch applies normally.
  auto p4 = leave(6);
  EXPECT_TRUE(m.apply(encode_whole(p4, root_)).is_ok());
  EXPECT_TRUE(m.net_key() == tree_.net_key());
}

TEST_F(MemberKeysTest, RekeyBeforeWelcomeNeedsResync) {
  MemberKeys fresh(kGroup, 1, secrets_.at(1), root_.public_key());
  auto plan = leave(3);
  EXPECT_EQ(fresh.apply(encode_whole(plan, root_)).code(), Errc::kNeedsResync);
  EXPECT_FALSE(fresh.in_group());
}

TEST_F(MemberKeysTest, BadSignature) {
  auto plan = leave(3);
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  SigningKey impostor = SigningKey::generate(rng_);
  EXPECT_EQ(m.apply(encode_whole(plan, impostor)).code(), Errc::kBadSignature);
  auto whole = encode_whole(plan, root_);
  whole[whole.size() / 2] ^= 0x10;  // a byte inside the signed body or the signature
  Status s = m.apply(whole);
  EXPECT_TRUE(s.code() == Errc::kBadSignature || s.code() == Errc::kMalformed) << s.to_string();
  expect_unchanged(m, before);
}

TEST_F(MemberKeysTest, InsiderCannotForgeAWholeRekey) {
  // Member 1 holds its path, including the key of its root child c, which it shares
  // with every member under c. It forges the next batch: the root's new key is one it
  // chose, wrapped correctly under c's key, so the wrapped key itself verifies for
  // everyone under c. Only the Root's signature stands in the way.
  auto genuine = leave(3);
  const MemberKeys& insider = members_.at(1);
  auto held = insider.held_keys();
  ASSERT_GE(held.size(), 2u);
  const NodeId c = held[held.size() - 2].first;  // the root's child on the insider's path
  const SymmetricKey& c_key = *held[held.size() - 2].second;
  // Members are still at the previous epoch; the forgery claims the next one.
  SymmetricKey evil = rng_.symmetric_key();
  RekeyPlan forged = genuine;
  forged.entries.clear();
  forged.entries.push_back(detail::wrap_key(evil, c_key, kGroup, genuine.epoch, kRootNode, c));
  SigningKey insider_key = SigningKey::generate(rng_);
  auto bytes = encode_whole(forged, insider_key);
  size_t under_c = 0;
  for (auto& [id, m] : members_) {
    if (id == 3) continue;
    Snap before = snap(m);
    EXPECT_EQ(m.apply(bytes).code(), Errc::kBadSignature) << id;
    expect_unchanged(m, before);
    auto h = m.held_keys();
    if (h.size() >= 2 && h[h.size() - 2].first == c) ++under_c;
  }
  ASSERT_GT(under_c, 1u);
  // Control: had the same bytes carried the Root's signature, every member under c
  // would have taken the insider's key. The signature is what stops the forgery.
  auto would_be = encode_whole(forged, root_);
  for (auto& [id, m] : members_) {
    auto h = m.held_keys();
    if (id == 3 || h.size() < 2 || h[h.size() - 2].first != c) continue;
    ASSERT_TRUE(m.apply(would_be).is_ok()) << id;
    EXPECT_TRUE(m.net_key() == net_key_from_root(evil, genuine.epoch));
  }
}

TEST_F(MemberKeysTest, BadWrappedKeyTagLeavesStateUntouched) {
  // A Root bug or a bit flip before signing: the root-level entry is corrupt. The
  // lower entries apply first in the member's walk; the failure must undo them all.
  auto plan = leave(3);
  for (WrappedKey& e : plan.entries) {
    if (e.node == kRootNode) e.ciphertext[5] ^= 0x80;
  }
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  EXPECT_EQ(m.apply(encode_whole(plan, root_)).code(), Errc::kBadTag);
  expect_unchanged(m, before);
}

TEST_F(MemberKeysTest, BadSealedTag) {
  auto plan = leave(3);
  auto s = SliceEncoder(plan).encode(tree_, 1);
  ASSERT_TRUE(s.is_ok());
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  auto bad = *s;
  bad[bad.size() - 20] ^= 0x01;  // inside the ciphertext
  EXPECT_EQ(m.apply(bad).code(), Errc::kBadTag);
  expect_unchanged(m, before);
  EXPECT_TRUE(m.apply(*s).is_ok());  // the genuine one still applies
}

// What a buggy Root could send: `msg`'s plaintext sealed again under a header that names
// another epoch. (Test only: it reuses the Root's seq under the same key.)
std::vector<uint8_t> reseal_with_epoch(const std::vector<uint8_t>& msg, const SymmetricKey& secret, uint64_t epoch) {
  const auto* s = flatbuffers::GetRoot<wire::Sealed>(msg.data());
  const auto unicast = MemberDerivedKeys::from_secret(secret).unicast;
  detail::SealedHeader h = detail::header_of(*s);
  auto plain = detail::open_sealed(unicast, h, {s->ciphertext()->data(), s->ciphertext()->size()});
  EXPECT_TRUE(plain.is_ok());
  h.epoch = epoch;
  flatbuffers::FlatBufferBuilder b;
  return detail::build_sealed(b, unicast, h, *plain);
}

TEST_F(MemberKeysTest, SealedHeaderAndBodyMustAgreeOnTheEpoch) {
  auto plan = leave(3);
  auto slice = SliceEncoder(plan).encode(tree_, 1);
  ASSERT_TRUE(slice.is_ok());
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  EXPECT_EQ(m.apply(reseal_with_epoch(*slice, secrets_.at(1), plan.epoch + 1)).code(), Errc::kMalformed);
  expect_unchanged(m, before);
  ASSERT_TRUE(m.apply(*slice).is_ok());
  // The same rule for a Resync (checked before the epoch's freshness).
  auto resync = encode_resync(tree_, 1);
  ASSERT_TRUE(resync.is_ok());
  Snap now = snap(m);
  EXPECT_EQ(m.apply(reseal_with_epoch(*resync, secrets_.at(1), tree_.epoch() + 1)).code(), Errc::kMalformed);
  expect_unchanged(m, now);
}

TEST_F(MemberKeysTest, MalformedAndOversized) {
  MemberKeys& m = members_.at(1);
  Snap before = snap(m);
  EXPECT_EQ(m.apply({}).code(), Errc::kMalformed);
  std::vector<uint8_t> junk(100, 0xab);
  EXPECT_EQ(m.apply(junk).code(), Errc::kMalformed);
  std::vector<uint8_t> huge(kMaxWholeBytes + 1, 0);
  std::memcpy(huge.data() + 4, "NKRW", 4);
  EXPECT_EQ(m.apply(huge).code(), Errc::kTooLarge);
  std::vector<uint8_t> huge_sealed(kMaxSealedBytes + 1, 0);
  std::memcpy(huge_sealed.data() + 4, "NKSL", 4);
  EXPECT_EQ(m.apply(huge_sealed).code(), Errc::kTooLarge);
  auto plan = leave(3);
  auto whole = encode_whole(plan, root_);
  auto slice = *SliceEncoder(plan).encode(tree_, 1);
  for (const auto* msg : {&whole, &slice}) {
    for (size_t n = 0; n < msg->size(); n += 3) {
      std::vector<uint8_t> cut(msg->begin(), msg->begin() + static_cast<long>(n));
      EXPECT_FALSE(m.apply(cut).is_ok()) << n;
    }
  }
  expect_unchanged(m, before);
}

TEST_F(MemberKeysTest, HashForwardJoinAppliesWithoutEntries) {
  TreePolicy p;
  p.hash_forward_joins = true;
  KeyTree t(kGroup, p);
  Batch b;
  for (MemberId id = 1; id <= 4; ++id) b.joins.push_back({id, secrets_.at(id).clone()});
  ASSERT_TRUE(t.commit(std::move(b), rng_).is_ok());
  std::map<MemberId, MemberKeys> ms;
  for (MemberId id = 1; id <= 4; ++id) {
    ms.emplace(id, MemberKeys(kGroup, id, secrets_.at(id), root_.public_key()));
    ASSERT_TRUE(ms.at(id).apply(*encode_welcome(t, id)).is_ok());
  }
  // The root is full (4 children): a fifth member splits a leaf; its member moves.
  Batch b2;
  b2.joins.push_back({5, secrets_.at(5).clone()});
  auto plan = t.commit(std::move(b2), rng_);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_EQ(plan->kind, RekeyKind::kHashForward);
  ASSERT_EQ(plan->moves.size(), 1u);
  auto whole = encode_whole(*plan, root_);
  SliceEncoder slicer(*plan);
  for (auto& [id, m] : ms) {
    auto bytes = id % 2 ? whole : *slicer.encode(t, id);
    ASSERT_TRUE(m.apply(bytes).is_ok()) << id;
    EXPECT_TRUE(m.net_key() == t.net_key()) << id;
  }
  MemberKeys joiner(kGroup, 5, secrets_.at(5), root_.public_key());
  ASSERT_TRUE(joiner.apply(*encode_welcome(t, 5)).is_ok());
  EXPECT_TRUE(joiner.net_key() == t.net_key());
}

// Regression for security finding 1, the member's side. One LKH+ batch may split a
// member's leaf k times: with d members at the root's children and d^k + 1 - d joiners,
// member 1 (at node 1) is split at every level and moves k levels down the leftmost
// spine. It must derive each of the k split nodes on its new path from its secret and
// the node id (PROTOCOL.md "nk-split"), by Whole and by Slice, and agree with the Root.
TEST(MemberKeysSplits, AMemberSplitKTimesInOneBatchDerivesEverySplitNode) {
  constexpr uint64_t kGroup = 0x5917;
  DeterministicRng rng(23);
  SigningKey root = SigningKey::generate(rng);
  const std::vector<std::pair<unsigned, unsigned>> cases = {{2, 2}, {2, 3}, {2, 4}, {3, 2}, {3, 3},
                                                            {4, 2}, {4, 3}, {8, 2}, {16, 2}};
  for (const auto& [d, k] : cases) {
    SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
    TreePolicy policy;
    policy.degree = static_cast<uint8_t>(d);
    policy.hash_forward_joins = true;
    KeyTree t(kGroup, policy);
    std::map<MemberId, SymmetricKey> secrets;
    auto join = [&](MemberId from, MemberId to) {
      Batch b;
      for (MemberId id = from; id < to; ++id) {
        secrets.emplace(id, rng.symmetric_key());
        b.joins.push_back({id, secrets.at(id).clone()});
      }
      return t.commit(std::move(b), rng);
    };
    ASSERT_TRUE(join(1, static_cast<MemberId>(d + 1)).is_ok());
    // Each existing member twice: one copy applies the Whole, the other its Slice.
    std::map<MemberId, MemberKeys> by_whole, by_slice;
    for (MemberId id = 1; id <= d; ++id) {
      for (auto* ms : {&by_whole, &by_slice}) {
        ms->emplace(id, MemberKeys(kGroup, id, secrets.at(id), root.public_key()));
        ASSERT_TRUE(ms->at(id).apply(*encode_welcome(t, id)).is_ok());
      }
    }
    size_t total = 1;
    for (unsigned i = 0; i < k; ++i) total *= d;
    auto plan = join(static_cast<MemberId>(d + 1), static_cast<MemberId>(total + 2));
    ASSERT_TRUE(plan.is_ok());
    ASSERT_EQ(plan->kind, RekeyKind::kHashForward);
    // The leftmost spine below node 1: the k nodes member 1 was split under.
    std::vector<NodeId> spine = {1};
    for (unsigned i = 1; i <= k; ++i) spine.push_back(spine.back() * d + 1);
    ASSERT_EQ(t.leaf_of(1), spine.back());
    const auto whole = encode_whole(*plan, root);
    SliceEncoder slicer(*plan);
    for (MemberId id = 1; id <= d; ++id) {
      for (auto* ms : {&by_whole, &by_slice}) {
        const bool slice = ms == &by_slice;
        MemberKeys& m = ms->at(id);
        Status st = m.apply(slice ? *slicer.encode(t, id) : whole);
        ASSERT_TRUE(st.is_ok()) << "member " << id << (slice ? " slice: " : " whole: ") << st.to_string();
        EXPECT_TRUE(m.net_key() == t.net_key()) << "member " << id;
        EXPECT_EQ(m.leaf(), *t.leaf_of(id));
      }
    }
    // Member 1 holds k distinct split keys, each the one the spec derives.
    const auto held = by_whole.at(1).held_keys();
    for (unsigned i = 0; i < k; ++i) {
      const NodeId node = spine[k - 1 - i];
      ASSERT_EQ(held[i].first, node);
      ASSERT_NE(t.node_key(node), nullptr);
      EXPECT_TRUE(*held[i].second == *t.node_key(node)) << "node " << node;
      EXPECT_TRUE(*held[i].second == split_node_key(secrets.at(1), plan->epoch, node)) << "node " << node;
      if (i > 0) {
        EXPECT_FALSE(*held[i].second == *held[i - 1].second) << "node " << node;
      }
    }
    for (MemberId id = static_cast<MemberId>(d + 1); id <= total + 1; id += 7) {
      MemberKeys joiner(kGroup, id, secrets.at(id), root.public_key());
      ASSERT_TRUE(joiner.apply(*encode_welcome(t, id)).is_ok());
      EXPECT_TRUE(joiner.net_key() == t.net_key());
    }
  }
}

// --- Teams: the member computes its team from its leaf and its team key from its path.

// An empty tree of group kGroupTeams with `teams` team subtrees.
KeyTree team_tree(uint8_t degree, uint8_t teams) {
  TreePolicy p;
  p.degree = degree;
  p.teams = teams;
  return KeyTree(kGroupTeams, p);
}

TEST(MemberKeysTeams, TeamAndTeamKeyFollowTheLeafAndTheRoot) {
  DeterministicRng rng(40);
  const SigningKey root = SigningKey::generate(rng);
  KeyTree t = team_tree(3, 3);
  std::map<MemberId, SymmetricKey> secrets;
  Batch b;
  for (MemberId id = 1; id <= 12; ++id) {
    secrets.emplace(id, rng.symmetric_key());
    b.joins.push_back({id, secrets.at(id).clone(), static_cast<uint8_t>(id % 3)});
  }
  ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
  MemberKeys m(kGroupTeams, 4, secrets.at(4), root.public_key(), 3);
  EXPECT_EQ(m.team(), std::nullopt) << "no team before the Welcome";
  EXPECT_DEATH((void)m.team_key(), "");
  ASSERT_TRUE(m.apply(*encode_welcome(t, 4)).is_ok());
  EXPECT_EQ(m.team(), 1);
  EXPECT_TRUE(m.team_key() == *t.team_key(1));
  EXPECT_FALSE(m.team_key() == *t.team_key(0));
  // A switch under a Whole, then under a Slice: the member follows its LeafMove.
  for (uint8_t to : {uint8_t{2}, uint8_t{0}}) {
    const SymmetricKey before = m.team_key().clone();
    Batch s;
    s.switches = {{4, to}};
    auto plan = t.commit(std::move(s), rng);
    ASSERT_TRUE(plan.is_ok());
    SliceEncoder slicer(*plan);
    ASSERT_TRUE(m.apply(to == 2 ? encode_whole(*plan, root) : *slicer.encode(t, 4)).is_ok());
    EXPECT_EQ(m.team(), to);
    EXPECT_EQ(m.leaf(), *t.leaf_of(4));
    EXPECT_TRUE(m.team_key() == *t.team_key(to));
    EXPECT_FALSE(m.team_key() == before);
    EXPECT_TRUE(m.net_key() == t.net_key());
  }
  // Without teams a member has no team.
  MemberKeys plain(kGroupTeams, 5, secrets.at(5), root.public_key());
  ASSERT_TRUE(plain.apply(*encode_welcome(t, 5)).is_ok());
  EXPECT_EQ(plain.team(), std::nullopt);
}

// A Welcome placing us outside the teams' subtrees (a Root with more teams than our
// charter says, or one without teams) is refused and changes nothing.
TEST(MemberKeysTeams, APositionOutsideTheTeamsIsMalformed) {
  DeterministicRng rng(41);
  const SigningKey root = SigningKey::generate(rng);
  KeyTree t = team_tree(4, 3);
  const SymmetricKey secret = rng.symmetric_key();
  Batch b;
  b.joins.push_back({1, secret.clone(), 2});
  ASSERT_TRUE(t.commit(std::move(b), rng).is_ok());
  MemberKeys m(kGroupTeams, 1, secret, root.public_key(), 2);
  EXPECT_EQ(m.apply(*encode_welcome(t, 1)).code(), Errc::kMalformed);
  EXPECT_FALSE(m.in_group());
  KeyTree flat(kGroupTeams, TreePolicy{});  // one member: its leaf is node 1, depth 1
  Batch b2;
  b2.joins.push_back({1, secret.clone()});
  ASSERT_TRUE(flat.commit(std::move(b2), rng).is_ok());
  EXPECT_EQ(m.apply(*encode_welcome(flat, 1)).code(), Errc::kMalformed);
  EXPECT_FALSE(m.in_group());
}

// Random traces with teams under every encoding the tree produces (Whole, Slices, LKH+
// hash-forward joins): joins, leaves, switches and bulk changes, with the splits and
// rebuilds they cause. KeySim checks after every batch that every member applied it
// and holds the Root's net key, team and team key.
TEST(MemberKeysTeams, MembersInTeamsApplyEveryEncodingThroughSwitches) {
  size_t switches = 0, moves = 0;
  for (uint64_t seed = 0; seed < 48; ++seed) {
    DeterministicRng pick(seed + 500);
    TreePolicy p;
    p.degree = static_cast<uint8_t>(2 + pick.uniform(7));
    p.teams = static_cast<uint8_t>(2 + pick.uniform(std::min<uint64_t>(3, p.degree - 1)));
    p.hash_forward_joins = seed % 2 == 1;
    testing::KeySim sim(seed, p, /*use_slices=*/seed % 4 >= 2);
    sim.step_teams(2 + pick.uniform(60), 0, 0);
    for (int s = 0; s < 8; ++s) {
      const size_t n = sim.current().size();
      sim.step_teams(pick.uniform(n / 2 + 2), pick.uniform(3) == 0 ? pick.uniform(n / 2 + 1) : 0,
                     pick.uniform(3) == 0 ? 0 : 1 + pick.uniform(n / 4 + 1));
    }
    ASSERT_EQ(sim.agreement_failures(), 0u) << "seed " << seed;
    for (const testing::SimBatch& b : sim.batches()) {
      switches += b.plan.switched.size();
      moves += b.plan.moves.size() - b.plan.switched.size();
    }
  }
  EXPECT_GT(switches, 200u);
  EXPECT_GT(moves, 20u) << "no split or rebuild moved a member that did not switch";
}

}  // namespace
}  // namespace netkey
