// ENet tuning for rekeys under loss (issue 13): the shortened first retransmission of
// rekey-channel packets (ServerOptions::rekey_retransmit_floor_ms) and the packet
// throttle that no longer drops snapshots after a rekey burst. The rules run on ENet's
// own peer and command structures, built here by hand so every field is known.
#include <enet/enet.h>
#include <gtest/gtest.h>

#include <deque>
#include <tuple>
#include <vector>

#include "netkey/group.h"
#include "src/enet_common.h"

namespace netkey::enet::detail {
namespace {

constexpr uint8_t kRekey = static_cast<uint8_t>(Channel::kRekey);
constexpr uint8_t kState = static_cast<uint8_t>(Channel::kState);

struct FakePeer {
  ENetPeer peer{};
  std::deque<ENetOutgoingCommand> commands;  // stable addresses
  FakePeer(uint32_t rtt, uint32_t variance, uint32_t next_timeout) {
    enet_list_clear(&peer.sentReliableCommands);
    enet_list_clear(&peer.outgoingCommands);
    peer.roundTripTime = rtt;
    peer.roundTripTimeVariance = variance;
    peer.nextTimeout = next_timeout;
  }
  // What ENet's send path leaves on a command: its channel, attempts, send time, and
  // the timeout it chose (RTT + 4 x variance on the first send).
  ENetOutgoingCommand& add(ENetList* list, uint8_t channel, uint16_t attempts, uint32_t sent, uint32_t rto) {
    ENetOutgoingCommand& c = commands.emplace_back();
    c.command.header.channelID = channel;
    c.sendAttempts = attempts;
    c.sentTime = sent;
    c.roundTripTimeout = rto;
    c.roundTripTimeoutLimit = 16 * rto;
    enet_list_insert(enet_list_end(list), &c);
    return c;
  }
  ENetOutgoingCommand& sent(uint8_t ch, uint16_t attempts, uint32_t at, uint32_t rto) {
    return add(&peer.sentReliableCommands, ch, attempts, at, rto);
  }
  ENetOutgoingCommand& queued(uint8_t ch) { return add(&peer.outgoingCommands, ch, 0, 0, 0); }
};

TEST(RekeyRetransmit, FirstWaitOfARekeyShrinksToRttPlusVariance) {
  FakePeer p(/*rtt*/ 30, /*variance*/ 10, /*next_timeout*/ 1000 + 70);
  ENetOutgoingCommand& rekey = p.sent(kRekey, 1, 1000, 70);  // ENet: 30 + 4 x 10
  EXPECT_FALSE(shorten_retransmit(&p.peer, kRekey, 20));
  EXPECT_EQ(rekey.roundTripTimeout, 40u);  // 30 + 10
  EXPECT_EQ(rekey.roundTripTimeoutLimit, 16u * 70);  // the disconnect limit stays ENet's
  EXPECT_EQ(p.peer.nextTimeout, 1040u);  // the peer's timer fires in time for it
}

TEST(RekeyRetransmit, OnlyTheRekeyChannelOnlyTheFirstAttemptNeverLonger) {
  for (auto [channel, attempts, rto] : {std::tuple<uint8_t, uint16_t, uint32_t>{kState, 1, 70},
                                        {kRekey, 2, 140},   // ENet doubled it: keep backing off
                                        {kRekey, 1, 25}}) {  // already shorter: never lengthened
    FakePeer p(30, 10, 1000 + rto);
    ENetOutgoingCommand& c = p.sent(channel, attempts, 1000, rto);
    EXPECT_FALSE(shorten_retransmit(&p.peer, kRekey, 20));
    EXPECT_EQ(c.roundTripTimeout, rto);
    EXPECT_EQ(p.peer.nextTimeout, 1000 + rto);
  }
}

// ENet re-arms its timer only from the front of the sent list: a shortened command
// behind the front would leave the timer in the past once it retransmitted, and every
// send pass would walk the list. Only the front is shortened.
TEST(RekeyRetransmit, OnlyTheOldestUnacknowledgedCommand) {
  FakePeer p(30, 10, 1000 + 70);
  ENetOutgoingCommand& event = p.sent(kState, 1, 1000, 70);
  ENetOutgoingCommand& rekey = p.sent(kRekey, 1, 1010, 70);
  shorten_retransmit(&p.peer, kRekey, 20);
  EXPECT_EQ(rekey.roundTripTimeout, 70u);
  EXPECT_EQ(p.peer.nextTimeout, 1070u);
  // Positive control: once the command before it is acknowledged, the rekey is the front.
  enet_list_remove(&event.outgoingCommandList);
  shorten_retransmit(&p.peer, kRekey, 20);
  EXPECT_EQ(rekey.roundTripTimeout, 40u);
  EXPECT_EQ(p.peer.nextTimeout, 1050u);
}

TEST(RekeyRetransmit, TheFloorHoldsOnAFastLink) {
  FakePeer p(2, 1, 1000 + 6);
  ENetOutgoingCommand& rekey = p.sent(kRekey, 1, 1000, 600);
  shorten_retransmit(&p.peer, kRekey, 20);
  EXPECT_EQ(rekey.roundTripTimeout, 20u);
  EXPECT_EQ(p.peer.nextTimeout, 1006u);  // an earlier timer is never pushed back
}

TEST(RekeyRetransmit, ReportsRekeysStillWaitingForTheirFirstSend) {
  FakePeer p(30, 10, 0);
  p.queued(kState);
  EXPECT_FALSE(shorten_retransmit(&p.peer, kRekey, 20));
  ENetOutgoingCommand& waiting = p.queued(kRekey);
  EXPECT_TRUE(shorten_retransmit(&p.peer, kRekey, 20));
  waiting.sendAttempts = 1;  // sent: nothing left to watch
  EXPECT_FALSE(shorten_retransmit(&p.peer, kRekey, 20));
}

// Redundant rekey copies go only to peers that retransmitted lately.
TEST(RekeyCopies, OnlyToAPeerThatLostPacketsLately) {
  ENetPeer peer{};
  EXPECT_FALSE(lossy(&peer));
  peer.packetsSent = 100;
  peer.packetsLost = 2;  // 2 % in this interval: a spurious retransmission or two
  EXPECT_FALSE(lossy(&peer));
  peer.packetsLost = 3;  // 3 %
  EXPECT_TRUE(lossy(&peer));
  peer.packetsSent = 20;  // 15 %, of too few packets to say anything (a late ack or three)
  EXPECT_FALSE(lossy(&peer));
  peer.packetsLost = 0;
  peer.packetLoss = ENET_PEER_PACKET_LOSS_SCALE / 50;  // 2 % in the smoothed history
  EXPECT_FALSE(lossy(&peer));
  peer.packetLoss = ENET_PEER_PACKET_LOSS_SCALE / 20;  // 5 %
  EXPECT_TRUE(lossy(&peer));
}

// The members' links together: their summed counters, so a new peer (no counts of its
// own yet) is covered under real loss, each link capped at 1/8 lost, so a few members
// that withhold acknowledgements do not switch copies on for everyone.
TEST(RekeyCopies, TheGroupIsLossyWhenItsLinksTogetherAre) {
  std::vector<ENetPeer> peers(10);
  auto group = [&] {
    std::vector<const ENetPeer*> v;
    for (const ENetPeer& p : peers) v.push_back(&p);
    return group_lossy(v);
  };
  EXPECT_FALSE(group_lossy({}));
  for (ENetPeer& p : peers) p.packetsSent = 20;  // 200 packets, none lost, each too few alone
  EXPECT_FALSE(group());
  peers[0].packetsLost = 20;  // one link withholding every acknowledgement: capped at 2 of 20
  EXPECT_FALSE(group());      // 1 % of the group's
  peers[0].packetsLost = 0;
  for (ENetPeer& p : peers) p.packetsLost = 2;  // 10 % each (5 % loss each way)
  EXPECT_TRUE(group());
  EXPECT_FALSE(lossy(&peers[9]));  // not on its own counts: the group covers it
  for (ENetPeer& p : peers) p = ENetPeer{};
  peers[0].packetLoss = ENET_PEER_PACKET_LOSS_SCALE;  // one smoothed 100 %: capped at 1/8
  EXPECT_FALSE(group());  // 1.25 % on average
  for (ENetPeer& p : peers) p.packetLoss = ENET_PEER_PACKET_LOSS_SCALE / 20;  // 5 % everywhere
  EXPECT_TRUE(group());
}

// The throttle: ENet lowers it by the deceleration when a round trip exceeds the last one
// by twice its variance (enet_peer_throttle); a lowered throttle drops unreliable packets.
TEST(PacketThrottle, ARoundTripSpikeNoLongerLowersIt) {
  ASSERT_TRUE(ensure_enet().is_ok());
  ENetAddress any{};
  any.host = ENET_HOST_ANY;
  any.port = 0;
  ENetHost* host = enet_host_create(&any, 1, kChannelCount, 0, 0);
  ASSERT_NE(host, nullptr);
  ENetPeer* peer = &host->peers[0];
  enet_peer_reset(peer);
  peer->state = ENET_PEER_STATE_CONNECTED;
  peer->packetThrottleLimit = ENET_PEER_PACKET_THROTTLE_SCALE;
  auto spike = [&] {
    peer->packetThrottle = ENET_PEER_PACKET_THROTTLE_SCALE;
    peer->lastRoundTripTime = 20;
    peer->lastRoundTripTimeVariance = 2;
    enet_peer_throttle(peer, 200);
    return peer->packetThrottle;
  };
  // Positive control: ENet's defaults lower it.
  EXPECT_LT(spike(), static_cast<enet_uint32>(ENET_PEER_PACKET_THROTTLE_SCALE));
  disable_packet_throttle(peer);
  EXPECT_EQ(spike(), static_cast<enet_uint32>(ENET_PEER_PACKET_THROTTLE_SCALE));
  enet_peer_reset(peer);
  enet_host_destroy(host);
}

}  // namespace
}  // namespace netkey::enet::detail
