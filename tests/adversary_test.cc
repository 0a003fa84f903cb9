// The demo adversary (samples/common/adversary.h) is an oracle: its "0 decryptions"
// means something only if it opens what a removed member could open. Each rule it
// relies on has a positive control here that must report decryptions > 0 when the rule
// is broken, next to a negative run against the real code that must report 0 with
// attempts > 0.
#include "common/adversary.h"

#include <gtest/gtest.h>

#include <map>

#include "netkey/random.h"
#include "netkey/rekey_codec.h"
#include "netkey/sign.h"
#include "netkey/traffic.h"
#include "sim/sim_group.h"
#include "src/keytree/sealed.h"
#include "src/keytree/wrap.h"

namespace netkey::demo {
namespace {

using testing::kMs;
using testing::kSec;

constexpr uint64_t kGroup = 77;

std::vector<uint8_t> root_packet(uint64_t group, uint64_t epoch, const SymmetricKey& net, uint8_t tag = 1) {
  TrafficConfig cfg;
  cfg.group_id = group;
  auto s = TrafficSender::create(cfg, kRootSender).value();
  s.set_epoch(epoch, net);
  return s.seal(std::vector<uint8_t>{tag, 2, 3}).value();
}

// A key tree run by the test itself, with the member secrets it handed out, so that a
// test can build a member's loot and a broken rekey.
struct TreeWorld {
  DeterministicRng rng{5};
  KeyTree tree;
  SigningKey root_key = SigningKey::generate(rng);
  std::map<MemberId, SymmetricKey> secrets;

  explicit TreeWorld(uint8_t degree, bool hash_forward = false) : tree(kGroup, policy(degree, hash_forward)) {}
  static TreePolicy policy(uint8_t degree, bool hash_forward) {
    TreePolicy p;
    p.degree = degree;
    p.hash_forward_joins = hash_forward;
    return p;
  }
  RekeyPlan commit(std::vector<MemberId> joins, std::vector<MemberId> leaves = {}) {
    Batch b;
    for (MemberId id : joins) {
      secrets.insert_or_assign(id, rng.symmetric_key());
      b.joins.push_back({id, secrets.at(id).clone()});
    }
    b.leaves = std::move(leaves);
    auto plan = tree.commit(std::move(b), rng);
    EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
    return std::move(plan).value();
  }
  std::vector<uint8_t> whole(const RekeyPlan& plan) const { return encode_whole(plan, root_key); }
  // Everything member `id` holds now.
  Loot loot(MemberId id) const {
    Loot l;
    l.member = id;
    l.epoch = tree.epoch();
    l.leaf = tree.leaf_of(id).value();
    l.secret = secrets.at(id).clone();
    MemberDerivedKeys d = MemberDerivedKeys::from_secret(secrets.at(id));
    l.leaf_key = std::move(d.leaf);
    l.unicast_key = std::move(d.unicast);
    l.net_key = tree.net_key().clone();
    for (const auto& [node, key] : tree.path_of(id)) l.path.emplace_back(node, key->clone());
    return l;
  }
};

// Only the member secret: what the adversary derives from it is its own work.
Loot secret_only(MemberId id, uint64_t epoch, const SymmetricKey& secret) {
  Loot l;
  l.member = id;
  l.epoch = epoch;
  l.secret = secret.clone();
  return l;
}

TEST(Adversary, TriesNothingBeforeARemovalAndReadsOnlyItsOwnEpochsAfter) {
  DeterministicRng rng(1);
  SymmetricKey k5 = rng.symmetric_key(), k6 = rng.symmetric_key();
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  Loot l;
  l.member = 9;
  l.epoch = 5;
  l.net_key = k5.clone();
  adv.absorb(std::move(l));
  adv.observe(Channel::kState, root_packet(kGroup, 5, k5));  // escrow: nothing tried yet
  EXPECT_EQ(adv.attempts(), 0u);
  adv.removed(9, 6);
  EXPECT_EQ(adv.members(), 1u);
  adv.observe(Channel::kState, root_packet(kGroup, 6, k6));  // the new epoch: unreadable
  EXPECT_GT(adv.attempts(), 0u);
  EXPECT_EQ(adv.decryptions(), 0u);
}

TEST(Adversary, ARemovalReportedBeforeTheLootStillCounts) {
  DeterministicRng rng(2);
  SymmetricKey k5 = rng.symmetric_key();
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  adv.removed(9, 6);  // the bot noticed its lost connection after the Root removed it
  Loot l;
  l.member = 9;
  l.epoch = 5;
  l.net_key = k5.clone();
  adv.absorb(std::move(l));
  EXPECT_EQ(adv.members(), 1u);
  adv.observe(Channel::kState, root_packet(kGroup, 6, k5));  // epoch 6 under epoch 5's key
  EXPECT_EQ(adv.decryptions(), 1u);
}

// The real Root over the simulated network: a member leaves, keeping everything. After
// its removal nothing the Root sends opens (negative); a Root that kept sending under
// the old net key with the new epoch byte is caught (positive control).
TEST(Adversary, RealRootAfterARemovalGivesNothingAndAReusedOldKeyIsCaught) {
  testing::SimGroupOptions o;
  o.subjects = 8;
  o.encoding = RootConfig::RekeyEncoding::kWhole;
  o.link.delay_ns = 5 * kMs;
  testing::SimGroup g(std::move(o));
  const uint64_t group = g.root().group_id();
  Adversary adv(group, AeadSuite::kChaCha20Poly1305);
  g.set_root_tap([&](Channel ch, std::span<const uint8_t> b) { adv.observe(ch, b); });
  std::vector<uint32_t> nodes;
  for (size_t i = 1; i <= 6; ++i) nodes.push_back(g.add_subject(i));
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  ASSERT_EQ(g.members().size(), 6u);

  Participant& victim = g.participant(nodes[0]);
  const MemberId vm = victim.member_id();
  const SymmetricKey old_net = victim.net_key().clone();
  adv.absorb(victim);
  victim.leave(g.now());
  g.pump_node_transmits(nodes[0]);
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  uint64_t removal_epoch = 0;
  for (const RootEvent& e : g.root_events()) {
    if (e.kind == RootEvent::Kind::kLeft && e.member == vm) removal_epoch = e.epoch;
  }
  ASSERT_GT(removal_epoch, 0u);
  adv.removed(vm, removal_epoch);
  EXPECT_GT(adv.rekey_trials(), 0u);  // it tried its keys on the removal's Whole

  // Negative: the real Root's broadcasts, and one more batch (a join), then more.
  for (uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(g.root().broadcast(std::vector<uint8_t>{i}, g.now()).is_ok());
  g.pump_root_transmits();
  g.add_subject(7);
  ASSERT_TRUE(g.run_until_quiet(10 * kSec));
  ASSERT_TRUE(g.root().broadcast(std::vector<uint8_t>{9}, g.now()).is_ok());
  g.pump_root_transmits();
  EXPECT_EQ(adv.packets(), 4u);
  EXPECT_GT(adv.attempts(), adv.packets());  // several keys per packet
  EXPECT_EQ(adv.decryptions(), 0u);
  EXPECT_EQ(g.disagreeing(), 0u);

  // Positive control: the Root's broadcasts sealed under the old net key, labelled with
  // the current epoch (no relabelling of the key, only of the byte).
  const uint64_t now_epoch = g.root().epoch();
  ASSERT_GE(now_epoch, removal_epoch);
  for (uint8_t i = 0; i < 2; ++i) adv.observe(Channel::kState, root_packet(group, now_epoch, old_net, i));
  EXPECT_EQ(adv.decryptions(), 2u);
}

// A member that left keeps listening until the Root removes it: the rekeys sent in
// between are used once its loot joins the coalition (they were logged).
TEST(Adversary, UsesTheRekeysSentBetweenADepartureAndItsRemoval) {
  TreeWorld w(4);
  w.commit({1, 2, 3, 4});
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  adv.absorb(w.loot(1));                       // it leaves at epoch 1...
  const RekeyPlan between = w.commit({5});     // ...epoch 2 still includes it...
  adv.observe(Channel::kRekey, w.whole(between));
  const SymmetricKey net2 = w.tree.net_key().clone();
  const RekeyPlan removal = w.commit({}, {1});  // ...and epoch 3 removes it
  adv.observe(Channel::kRekey, w.whole(removal));
  adv.removed(1, removal.epoch);
  adv.observe(Channel::kState, root_packet(kGroup, removal.epoch, w.tree.net_key()));
  EXPECT_EQ(adv.decryptions(), 0u);
  // Epoch 2's key was reachable (through the logged Whole): a Root still sending under
  // it after the removal is caught.
  adv.observe(Channel::kState, root_packet(kGroup, between.epoch, net2));
  EXPECT_EQ(adv.decryptions(), 1u);
}

// A Whole whose new root key is wrapped under a key the removed member held, with a
// `wrapper` field that names another node: the adversary tries every key on every entry.
TEST(Adversary, UnwrapsEveryEntryWhateverItsWrapperFieldSays) {
  TreeWorld w(2);
  w.commit({1, 2, 3, 4});
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  adv.absorb(w.loot(1));
  const NodeId leaf1 = w.tree.leaf_of(1).value();
  RekeyPlan plan = w.commit({}, {1});
  adv.removed(1, plan.epoch);
  adv.observe(Channel::kRekey, w.whole(plan));
  const auto packet = root_packet(kGroup, plan.epoch, w.tree.net_key());
  adv.observe(Channel::kState, packet);
  EXPECT_GT(adv.attempts(), 0u);
  EXPECT_EQ(adv.decryptions(), 0u);  // negative: the real tree's rekey

  const MemberDerivedKeys d = MemberDerivedKeys::from_secret(w.secrets.at(1));
  const NodeId liar = leaf1 == 3 ? 4 : 3;  // any node but the removed leaf
  plan.entries.push_back(netkey::detail::wrap_key(*w.tree.node_key(kRootNode), d.leaf, kGroup, plan.epoch,
                                                  kRootNode, liar));
  adv.observe(Channel::kRekey, w.whole(plan));
  adv.observe(Channel::kState, packet);
  EXPECT_EQ(adv.decryptions(), 1u);  // positive: the broken rekey is caught
}

// An LKH+ batch moves every key forward: had the Root hash-forwarded across a removal
// (the spec allows it only for batches without leaves), the adversary follows.
TEST(Adversary, FollowsHashForwardedKeys) {
  TreeWorld w(2, /*hash_forward=*/true);
  w.commit({1, 2, 3, 4});
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  adv.absorb(w.loot(1));
  const RekeyPlan plan = w.commit({5});
  ASSERT_EQ(plan.kind, RekeyKind::kHashForward);
  ASSERT_TRUE(plan.entries.empty());
  adv.removed(1, plan.epoch);  // what the broken Root claims
  adv.observe(Channel::kRekey, w.whole(plan));
  adv.observe(Channel::kState, root_packet(kGroup, plan.epoch, w.tree.net_key()));
  EXPECT_EQ(adv.decryptions(), 1u);
}

// A leaf split in an LKH+ batch: the new node's key comes from the moved member's
// secret. An adversary holding only that secret derives it (whichever split derivation
// the runtime implements) and unwraps what a later batch wraps under it.
TEST(Adversary, DerivesSplitNodeKeysFromMemberSecrets) {
  TreeWorld w(2, /*hash_forward=*/true);
  w.commit({1, 2});
  const RekeyPlan split = w.commit({3});
  ASSERT_EQ(split.kind, RekeyKind::kHashForward);
  ASSERT_EQ(split.moves.size(), 1u);
  const NodeId from = split.moves[0].from;
  MemberId moved = 0, other = 0;
  for (MemberId m : {1u, 2u}) (w.tree.leaf_of(m) == split.moves[0].to ? moved : other) = m;
  ASSERT_NE(moved, 0u);
  ASSERT_NE(other, 0u);
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  adv.absorb(secret_only(moved, split.epoch - 1, w.secrets.at(moved)));
  adv.removed(moved, split.epoch);  // as if it were gone: it must not reach later epochs
  adv.observe(Channel::kRekey, w.whole(split));
  const RekeyPlan full = w.commit({}, {other});
  ASSERT_EQ(full.kind, RekeyKind::kFull);
  bool root_under_split = false;
  for (const WrappedKey& e : full.entries) root_under_split |= e.node == kRootNode && e.wrapper == from;
  ASSERT_TRUE(root_under_split) << "the test needs the new root wrapped under the split node";
  adv.observe(Channel::kRekey, w.whole(full));
  adv.observe(Channel::kState, root_packet(kGroup, full.epoch, w.tree.net_key()));
  EXPECT_EQ(adv.decryptions(), 1u);
}

// Sealed messages: a Resync sent to a member whose unicast key the coalition holds is
// opened, whatever member the header names.
TEST(Adversary, OpensSealedMessagesWithHeldUnicastKeysWhateverTheMemberField) {
  TreeWorld w(4);
  w.commit({1, 2, 3, 4, 5});
  const auto resync = encode_resync(w.tree, 2).value();
  const auto packet = root_packet(kGroup, w.tree.epoch(), w.tree.net_key());
  auto unicast_only = [&](MemberId id) {
    Loot l;
    l.member = id;
    l.epoch = w.tree.epoch();
    l.unicast_key = MemberDerivedKeys::from_secret(w.secrets.at(id)).unicast;
    return l;
  };
  Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
  adv.absorb(unicast_only(2));
  adv.removed(2, w.tree.epoch());  // as if the Root had sent it to a removed member
  adv.observe(Channel::kRekey, resync);
  adv.observe(Channel::kState, packet);
  EXPECT_EQ(adv.decryptions(), 1u);

  // The same path sealed under member 2's key, but with a header naming member 3.
  std::vector<uint8_t> copy(resync.begin(), resync.end());
  const wire::Sealed* m = flatbuffers::GetRoot<wire::Sealed>(copy.data());
  netkey::detail::SealedHeader h = netkey::detail::header_of(*m);
  const SymmetricKey u2 = MemberDerivedKeys::from_secret(w.secrets.at(2)).unicast;
  auto plain = netkey::detail::open_sealed(u2, h, {m->ciphertext()->data(), m->ciphertext()->size()}).value();
  h.member = 3;
  flatbuffers::FlatBufferBuilder b;
  const auto relabelled = netkey::detail::build_sealed(b, u2, h, plain);
  Adversary adv2(kGroup, AeadSuite::kChaCha20Poly1305);
  adv2.absorb(unicast_only(2));
  adv2.removed(2, w.tree.epoch());
  adv2.observe(Channel::kRekey, relabelled);
  adv2.observe(Channel::kState, packet);
  EXPECT_EQ(adv2.decryptions(), 1u);

  // A Slice (a RekeyBody with path keys) of the next batch, sent to member 2.
  Adversary adv3(kGroup, AeadSuite::kChaCha20Poly1305);
  adv3.absorb(unicast_only(2));
  const RekeyPlan plan = w.commit({}, {5});
  adv3.removed(2, plan.epoch);
  adv3.observe(Channel::kRekey, SliceEncoder(plan).encode(w.tree, 2).value());
  adv3.observe(Channel::kState, root_packet(kGroup, plan.epoch, w.tree.net_key()));
  EXPECT_EQ(adv3.decryptions(), 1u);
}

// Every member of a 20-member tree, one at a time, leaves with everything it held, and
// the Full rekey that removes it must give it nothing.
void expect_no_removed_member_reads_the_next_epoch(bool hash_forward) {
  for (MemberId leaver = 1; leaver <= 20; ++leaver) {
    TreeWorld w(2, hash_forward);
    std::vector<MemberId> all;
    for (MemberId m = 1; m <= 20; ++m) all.push_back(m);
    w.commit(all);
    Adversary adv(kGroup, AeadSuite::kChaCha20Poly1305);
    adv.absorb(w.loot(leaver));
    const RekeyPlan plan = w.commit({21, 22}, {leaver});
    adv.observe(Channel::kRekey, w.whole(plan));
    adv.removed(leaver, plan.epoch);
    adv.observe(Channel::kState, root_packet(kGroup, plan.epoch, w.tree.net_key()));
    EXPECT_GT(adv.attempts(), 0u);
    EXPECT_EQ(adv.decryptions(), 0u) << "member " << leaver;
  }
}

// Negative control over many shapes.
TEST(Adversary, NoRemovedMemberOfAFullRekeyTreeReadsTheNextEpoch) {
  expect_no_removed_member_reads_the_next_epoch(/*hash_forward=*/false);
}

// The same under the hash-forward join policy, where the first batch builds the tree by
// splitting leaves. Regression test for the LKH+ split-key bug (every node split above
// one member in one batch got KDF(secret, "nk-split", epoch), the same key, so a member
// that held one of them unwraps what the next Full rekey wraps under another). It fails
// (16 of 20 members) on a runtime that derives split keys without the node id.
TEST(Adversary, NoRemovedMemberOfAHashForwardTreeReadsTheNextEpoch) {
  expect_no_removed_member_reads_the_next_epoch(/*hash_forward=*/true);
}

}  // namespace
}  // namespace netkey::demo
