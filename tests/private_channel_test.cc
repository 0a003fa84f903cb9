// Private messages (types 5 and 6): keys from the spec by an independent derivation,
// every drop reason of PrivateChannel::open with a positive control, epochs and grace.
#include "netkey/private_channel.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "netkey/random.h"

namespace netkey {
namespace {

using Bytes = std::vector<uint8_t>;
Bytes bytes(const std::string& s) { return {s.begin(), s.end()}; }

constexpr SenderId kAlice = 7, kBob = 8;
constexpr uint64_t kSecond = 1'000'000'000;

// The spec's derivation, written against libsodium directly (docs/PROTOCOL.md "Private
// messages"), not through the runtime: base = crypto_kdf(ms, id 0, "nk-privb"), key =
// BLAKE2b-256(key = base, "nk-privk" || le64(epoch) || u8(direction)).
Bytes spec_key(const SymmetricKey& member_secret, uint64_t epoch, uint8_t direction) {
  Bytes base(32), key(32);
  EXPECT_EQ(crypto_kdf_derive_from_key(base.data(), 32, 0, "nk-privb", member_secret.bytes().data()), 0);
  Bytes msg = bytes("nk-privk");
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<uint8_t>(epoch >> (8 * i)));
  msg.push_back(direction);
  crypto_generichash(key.data(), 32, msg.data(), msg.size(), base.data(), 32);
  return key;
}

// Opens a ChaCha20-Poly1305 private packet with `key` by the spec's nonce and AD.
std::optional<Bytes> spec_open(const Bytes& key, const Bytes& packet, uint64_t group) {
  if (packet.size() < 24) return std::nullopt;
  uint8_t nonce[12] = {0x74, 0x72, 0x61, 0x66};  // le32("traf") || 0 || le64(seq)
  for (int i = 0; i < 4; ++i) nonce[4 + i] = packet[4 + static_cast<size_t>(i)];
  Bytes ad(packet.begin(), packet.begin() + 8);
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<uint8_t>(group >> (8 * i)));
  Bytes out(packet.size() - 24);
  unsigned long long n = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, packet.data() + 8, packet.size() - 8,
                                                ad.data(), ad.size(), nonce, key.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

class PrivateChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    cfg_.group_id = 91;
  }
  PrivateChannel channel(SenderId member, PrivateSide side, const SymmetricKey& secret, uint64_t epoch = 1) {
    auto c = PrivateChannel::create(cfg_, member, side);
    EXPECT_TRUE(c.is_ok());
    c->set_epoch(epoch, private_base_key(secret), 0);
    return std::move(c).value();
  }
  // Alice's Root and member channels at epoch 1, then the Root moved on to `root_epoch`
  // at time 10 while the member has not: base is the key both derive their epochs from.
  struct RootAhead {
    PrivateChannel root, member;
    SymmetricKey base;
  };
  RootAhead alice_with_root_at(uint64_t root_epoch) {
    RootAhead r{channel(kAlice, PrivateSide::kRoot, alice_), channel(kAlice, PrivateSide::kMember, alice_),
                private_base_key(alice_)};
    r.root.set_epoch(root_epoch, r.base, 10);
    return r;
  }
  // Opens at `c` and returns the drop reason, or kCount when it opened.
  static DropReason open_reason(PrivateChannel& c, const Bytes& pkt, uint64_t now,
                                Delivery d = Delivery::kUnreliableSequenced) {
    Bytes out(pkt.size());
    DropReason why = DropReason::kCount;
    auto n = c.open(pkt, now, out, d, &why);
    if (n.is_ok()) return DropReason::kCount;
    EXPECT_EQ(n.status().message(), drop_reason_name(why));
    return why;
  }

  DeterministicRng rng_{17};
  TrafficConfig cfg_;
  SymmetricKey alice_ = rng_.symmetric_key(), bob_ = rng_.symmetric_key();
};

TEST_F(PrivateChannelTest, BothDirectionsMatchTheSpecDerivationWith24BytesOverhead) {
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  auto member = channel(kAlice, PrivateSide::kMember, alice_);
  const Bytes down = *root.seal(bytes("your inventory: 3 potions"));
  const Bytes up = *member.seal(bytes("buy sword"));
  EXPECT_EQ(down.size(), 25u + 24u);
  EXPECT_EQ(down[0], 0x15);  // version 1, type 5
  EXPECT_EQ(up[0], 0x16);    // version 1, type 6
  EXPECT_EQ(down[2] | down[3] << 8, kAlice);
  EXPECT_EQ(up[2] | up[3] << 8, kAlice);
  // Independent oracle: each direction opens under its own spec key, not the other's.
  EXPECT_EQ(spec_open(spec_key(alice_, 1, 0), down, 91), bytes("your inventory: 3 potions"));
  EXPECT_EQ(spec_open(spec_key(alice_, 1, 1), up, 91), bytes("buy sword"));
  EXPECT_FALSE(spec_open(spec_key(alice_, 1, 1), down, 91).has_value());
  EXPECT_FALSE(spec_open(spec_key(alice_, 2, 0), down, 91).has_value());
  Bytes out(64);
  auto n = member.open(down, 1, out);
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(*n)), bytes("your inventory: 3 potions"));
  n = root.open(up, 1, out);
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(*n)), bytes("buy sword"));
  EXPECT_EQ(member.drops().total() + root.drops().total(), 0u);
}

TEST_F(PrivateChannelTest, ReplayIsDropped) {
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  auto member = channel(kAlice, PrivateSide::kMember, alice_);
  const Bytes p = *root.seal(bytes("once"));
  EXPECT_EQ(open_reason(member, p, 1), DropReason::kCount);  // positive control
  EXPECT_EQ(open_reason(member, p, 2), DropReason::kReplay);
  EXPECT_EQ(member.drops()[DropReason::kReplay], 1u);
}

TEST_F(PrivateChannelTest, APacketRelayedToAnotherMemberIsWrongMember) {
  auto root_a = channel(kAlice, PrivateSide::kRoot, alice_);
  auto bob = channel(kBob, PrivateSide::kMember, bob_);
  auto alice = channel(kAlice, PrivateSide::kMember, alice_);
  const Bytes for_alice = *root_a.seal(bytes("secret of alice"));
  EXPECT_EQ(open_reason(bob, for_alice, 1), DropReason::kWrongMember);
  EXPECT_EQ(bob.drops()[DropReason::kWrongMember], 1u);
  EXPECT_EQ(bob.drops()[DropReason::kBadTag], 0u);  // refused before any key
  EXPECT_EQ(open_reason(alice, for_alice, 1), DropReason::kCount);  // positive control
  // Alice's input handed to the Root's channel of bob (a relay that crossed channels).
  auto root_b = channel(kBob, PrivateSide::kRoot, bob_);
  EXPECT_EQ(open_reason(root_b, *alice.seal(bytes("input")), 1), DropReason::kWrongMember);
}

TEST_F(PrivateChannelTest, APacketSealedForAnotherMemberThatNamesThisOneIsBadTag) {
  auto root_a = channel(kAlice, PrivateSide::kRoot, alice_);
  auto bob = channel(kBob, PrivateSide::kMember, bob_);
  Bytes p = *root_a.seal(bytes("secret of alice"));
  p[2] = static_cast<uint8_t>(kBob);  // the header now names bob; the key is alice's
  p[3] = 0;
  EXPECT_EQ(open_reason(bob, p, 1), DropReason::kBadTag);
  // Also sealed by a channel that believes bob is member 7 (bob's key, alice's id): the
  // member id is authenticated and bound to the channel.
  auto wrong_root = channel(kAlice, PrivateSide::kRoot, bob_);
  Bytes q = *wrong_root.seal(bytes("x"));
  EXPECT_EQ(open_reason(bob, q, 1), DropReason::kWrongMember);
  q[2] = static_cast<uint8_t>(kBob);
  EXPECT_EQ(open_reason(bob, q, 1), DropReason::kBadTag);  // AD covers the member id
}

TEST_F(PrivateChannelTest, AReflectedPacketIsWrongDirection) {
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  auto member = channel(kAlice, PrivateSide::kMember, alice_);
  const Bytes up = *member.seal(bytes("input"));
  const Bytes down = *root.seal(bytes("state"));
  EXPECT_EQ(open_reason(member, up, 1), DropReason::kWrongDirection);  // own packet echoed back
  EXPECT_EQ(open_reason(root, down, 1), DropReason::kWrongDirection);
  EXPECT_EQ(member.drops()[DropReason::kWrongDirection], 1u);
  EXPECT_EQ(root.drops()[DropReason::kWrongDirection], 1u);
  // With the type nibble flipped the direction check passes, but the direction is in
  // the key: the tag fails.
  Bytes flipped = up;
  flipped[0] = 0x15;
  EXPECT_EQ(open_reason(member, flipped, 1), DropReason::kBadTag);
  EXPECT_EQ(open_reason(root, up, 1), DropReason::kCount);  // positive control
}

TEST_F(PrivateChannelTest, GroupPacketsAndPrivatePacketsNeverCrossPaths) {
  auto member = channel(kAlice, PrivateSide::kMember, alice_);
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  const SymmetricKey net = rng_.symmetric_key();
  auto group = TrafficSender::create(cfg_, kAlice).value();
  group.set_epoch(1, net);
  EXPECT_EQ(open_reason(root, *group.seal(bytes("relay me")), 1), DropReason::kWrongChannel);
  const Bytes up = *member.seal(bytes("private"));
  auto relay = TrafficRelay::create(cfg_).value();
  relay.set_epoch(1, net, 0);
  const Status s = relay.check(up, kAlice, 1);
  EXPECT_EQ(s.message(), "wrong_channel");
  EXPECT_EQ(relay.drops()[DropReason::kWrongChannel], 1u);
  auto rx = TrafficReceiver::create(cfg_).value();
  rx.set_epoch(1, net, 0);
  rx.handle(*root.seal(bytes("private down")), 1);
  EXPECT_EQ(rx.drops()[DropReason::kWrongChannel], 1u);
  EXPECT_FALSE(rx.poll().has_value());
}

TEST_F(PrivateChannelTest, FramingDropsAreCounted) {
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  auto member = channel(kAlice, PrivateSide::kMember, alice_);
  const Bytes p = *root.seal(bytes("hello"));
  EXPECT_EQ(open_reason(member, Bytes(23, 0x15), 1), DropReason::kMalformed);
  EXPECT_EQ(open_reason(member, Bytes(1200 + 25, 0x15), 1), DropReason::kTooLarge);
  Bytes v = p;
  v[0] = 0x25;  // version 2
  EXPECT_EQ(open_reason(member, v, 1), DropReason::kBadVersion);
  Bytes t = p;
  t[0] = 0x17;  // type 7
  EXPECT_EQ(open_reason(member, t, 1), DropReason::kMalformed);
  Bytes e = p;
  e[1] = 9;  // an epoch it holds no key for
  EXPECT_EQ(open_reason(member, e, 1), DropReason::kUnknownEpoch);
  Bytes tag = p;
  tag.back() ^= 1;
  EXPECT_EQ(open_reason(member, tag, 1), DropReason::kBadTag);
  Bytes small(3);
  DropReason why = DropReason::kCount;
  EXPECT_FALSE(member.open(p, 1, small, Delivery::kUnreliable, &why).is_ok());
  EXPECT_EQ(why, DropReason::kTooLarge);
  EXPECT_EQ(open_reason(member, p, 1), DropReason::kCount);  // nothing above marked it
  EXPECT_EQ(member.drops().total(), 7u);
}

TEST_F(PrivateChannelTest, OldEpochsOpenUnderTheirGraceByDeliveryClass) {
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  auto member = channel(kAlice, PrivateSide::kMember, alice_);
  const Bytes r1 = *root.seal(bytes("reliable, epoch 1"));
  const Bytes u1 = *root.seal(bytes("unreliable, epoch 1"));
  const Bytes late = *root.seal(bytes("reliable, too late"));
  const SymmetricKey base = private_base_key(alice_);
  for (uint64_t e = 2; e <= 4; ++e) {
    ASSERT_TRUE(root.set_epoch(e, base, e * 100));
    ASSERT_TRUE(member.set_epoch(e, base, e * 100));
  }
  const uint64_t t = 400 + cfg_.previous_epoch_grace_ns;
  EXPECT_EQ(open_reason(member, u1, t, Delivery::kUnreliableSequenced), DropReason::kEpochExpired);
  EXPECT_EQ(open_reason(member, r1, t, Delivery::kReliableOrdered), DropReason::kCount);
  // Epoch 1 retired at 200: its reliable grace ends at 200 + 5 s.
  EXPECT_EQ(open_reason(member, late, 200 + cfg_.reliable_grace_ns + 1, Delivery::kReliableOrdered),
            DropReason::kEpochExpired);
  // The previous epoch keeps the unreliable rule.
  const Bytes u3 = [&] {
    auto c = channel(kAlice, PrivateSide::kRoot, alice_, 3);
    return *c.seal(bytes("epoch 3"));
  }();
  EXPECT_EQ(open_reason(member, u3, 400 + cfg_.previous_epoch_grace_ns, Delivery::kUnreliable), DropReason::kCount);
}

TEST_F(PrivateChannelTest, TheMemberOpensTheNextEpochBeforeItsRekeyAndKeepsItsWindow) {
  auto [root, member, base] = alice_with_root_at(2);
  const Bytes p = *root.seal(bytes("sent right after the commit"));
  EXPECT_EQ(open_reason(member, p, 11, Delivery::kReliableOrdered), DropReason::kCount);
  member.set_epoch(2, base, 12);
  EXPECT_EQ(open_reason(member, p, 13, Delivery::kReliableOrdered), DropReason::kReplay);
  // The Root side never derives ahead: a member packet of an epoch the Root lacks.
  auto ahead = channel(kAlice, PrivateSide::kMember, alice_, 3);
  EXPECT_EQ(open_reason(root, *ahead.seal(bytes("x")), 14), DropReason::kUnknownEpoch);
}

// A member whose rekeys lag: the Root's reliable packets of up to kReliableEpochsAhead
// epochs ahead open (and keep their window through set_epoch); unreliable ones only
// the next epoch's; nothing past the reach.
TEST_F(PrivateChannelTest, ALaggingMemberOpensReliablePacketsSeveralEpochsAhead) {
  auto [root, member, base] = alice_with_root_at(4);
  const Bytes three_ahead = *root.seal(bytes("kill feed"));
  const Bytes three_ahead_unreliable = *root.seal(bytes("health"));
  EXPECT_EQ(open_reason(member, three_ahead_unreliable, 11, Delivery::kUnreliableSequenced),
            DropReason::kUnknownEpoch);
  EXPECT_EQ(open_reason(member, three_ahead, 11, Delivery::kReliableOrdered), DropReason::kCount);
  member.set_epoch(2, base, 12);
  member.set_epoch(4, base, 13);
  EXPECT_EQ(open_reason(member, three_ahead, 14, Delivery::kReliableOrdered), DropReason::kReplay);
  root.set_epoch(4 + kReliableEpochsAhead + 1, base, 15);
  EXPECT_EQ(open_reason(member, *root.seal(bytes("too far")), 16, Delivery::kReliableOrdered),
            DropReason::kUnknownEpoch);
  root.set_epoch(4 + kReliableEpochsAhead + 2, base, 17);
  EXPECT_EQ(open_reason(member, *root.seal(bytes("too far")), 18, Delivery::kReliableOrdered),
            DropReason::kUnknownEpoch);
}

TEST_F(PrivateChannelTest, ARejoinedMemberIdWithANewSecretCannotReadTheOldChannel) {
  // Alice is removed; the id is given to a new member (a new handshake, a new secret).
  // The old member keeps its channel object but the Root's new channel for the id
  // seals under the new secret: the old member cannot open it, at any delivery class.
  auto old_member = channel(kAlice, PrivateSide::kMember, alice_, 1);
  const SymmetricKey fresh = rng_.symmetric_key();
  auto root_new = channel(kAlice, PrivateSide::kRoot, fresh, 2);
  const Bytes p = *root_new.seal(bytes("for the new member"));
  EXPECT_EQ(open_reason(old_member, p, 1, Delivery::kReliableOrdered), DropReason::kBadTag);
  auto new_member = channel(kAlice, PrivateSide::kMember, fresh, 2);
  EXPECT_EQ(open_reason(new_member, p, 1, Delivery::kReliableOrdered), DropReason::kCount);
}

TEST_F(PrivateChannelTest, SequencesNeverRestartUnderAUsedKey) {
  auto root = channel(kAlice, PrivateSide::kRoot, alice_);
  const SymmetricKey base = private_base_key(alice_);
  (void)*root.seal(bytes("a"));
  EXPECT_FALSE(root.set_epoch(1, base, 5));  // same epoch: ignored
  EXPECT_EQ(root.next_seq(), 1u);
  EXPECT_TRUE(root.set_epoch(2, base, 5));
  EXPECT_EQ(root.next_seq(), 0u);
  EXPECT_EQ(PrivateChannel::create(cfg_, kRootSender, PrivateSide::kRoot).code(), Errc::kInvalidArgument);
  auto unset = PrivateChannel::create(cfg_, kAlice, PrivateSide::kRoot).value();
  EXPECT_EQ(unset.seal(bytes("x")).code(), Errc::kInvalidArgument);
  EXPECT_EQ(root.seal(Bytes(1201, 0)).code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace netkey
