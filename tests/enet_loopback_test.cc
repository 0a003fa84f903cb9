// The ENet binding over real UDP on 127.0.0.1: a server and clients in one process.
#include <gtest/gtest.h>

#include <enet/enet.h>

#include <thread>

#include "netkey/enet.h"
#include "netkey/testing.h"
#include "support/enet_world.h"

namespace netkey::testing {
namespace {

using enet::ClientHost;
using enet::ServerHost;

struct Loopback : EnetWorld {
  explicit Loopback(size_t subjects) : EnetWorld(3, subjects, 0xe7e7) {}
};

TEST(EnetLoopback, JoinBroadcastRelayLeaveAndTimeout) {
  Loopback lb(10);
  for (size_t i = 1; i <= 4; ++i) lb.add("p" + std::to_string(i));
  ASSERT_TRUE(lb.run_until(5000, [&] { return lb.server->root().member_count() == 4; }));
  ASSERT_TRUE(lb.run_until(2000, [&] {
    for (auto& c : lb.clients) {
      if (!c->participant().has_net_key() || c->participant().epoch() != lb.server->root().epoch()) return false;
    }
    return true;
  }));
  for (auto& c : lb.clients) EXPECT_TRUE(c->participant().net_key() == testing::root_net_key(lb.server->root()));
  EXPECT_EQ(lb.server->stats().connections, 4u);

  // One encrypted broadcast reaches everyone; a member's message is relayed to the others.
  std::vector<uint8_t> snap(300, 9);
  const auto state_sent = [&] { return lb.server->stats().packets_sent[static_cast<size_t>(Channel::kState)]; };
  uint64_t before = state_sent();
  ASSERT_TRUE(lb.server->broadcast(snap).is_ok());
  // One packet per member: the host's own member set, kept from the Root's
  // Transmit::member_change stream (it never asks member_peers()).
  EXPECT_EQ(state_sent() - before, 4u);
  ASSERT_TRUE(lb.clients[0]->send(std::vector<uint8_t>{1, 2, 3}).is_ok());
  std::vector<int> msgs(lb.clients.size(), 0);
  ASSERT_TRUE(lb.run_until(2000, [&] {
    for (size_t i = 0; i < lb.clients.size(); ++i) {
      while (auto e = lb.clients[i]->poll_event()) msgs[i] += e->kind == ParticipantEvent::Kind::kMessage;
    }
    return msgs[0] >= 1 && msgs[1] >= 2 && msgs[2] >= 2 && msgs[3] >= 2;
  }));

  // A goodbye, and a crash: both become leaves; the rest rekey and agree.
  const uint64_t epoch = lb.server->root().epoch();
  lb.clients[1]->leave();
  lb.clients[2]->vanish();
  ASSERT_TRUE(lb.run_until(8000, [&] { return lb.server->root().member_count() == 2; }));
  ASSERT_TRUE(lb.run_until(2000, [&] {
    return lb.clients[0]->participant().epoch() == lb.server->root().epoch() &&
           lb.clients[3]->participant().epoch() == lb.server->root().epoch();
  }));
  EXPECT_GT(lb.server->root().epoch(), epoch);
  EXPECT_TRUE(lb.clients[0]->participant().net_key() == testing::root_net_key(lb.server->root()));
  EXPECT_FALSE(lb.clients[1]->participant().epoch() == lb.server->root().epoch());
  // The leaver (still connected until its goodbye completes) and the crashed one are out
  // of the host's member set.
  before = state_sent();
  ASSERT_TRUE(lb.server->broadcast(snap).is_ok());
  EXPECT_EQ(state_sent() - before, 2u);
  EXPECT_EQ(lb.server->root().member_peers().size(), 2u);
}

int disconnects(ClientHost& c) {
  int n = 0;
  while (auto e = c.poll_event()) n += e->kind == ParticipantEvent::Kind::kDisconnected;
  return n;
}

// Regression: when the server went away, ClientHost swallowed ENet's DISCONNECT and
// nothing above it ever learned (the C ABI's `left` never fired on a timeout). Now the
// timeout is reported once as kDisconnected; a disconnect the client asked for (leave)
// is not.
TEST(EnetLoopback, ServerGoneIsReportedOnceAsDisconnectedButALeaveIsNot) {
  Loopback lb(4);
  enet::ClientOptions quick;  // give up on a silent server after 200..400 ms
  quick.peer_timeout_limit = 2;
  quick.peer_timeout_min_ms = 200;
  quick.peer_timeout_max_ms = 400;
  ClientHost& stays = lb.add("p1", quick);
  ClientHost& leaves = lb.add("p2", quick);
  ASSERT_TRUE(lb.run_until(5000, [&] {
    return stays.participant().has_net_key() && leaves.participant().has_net_key() && stays.connected() &&
           leaves.connected();
  }));
  EXPECT_EQ(disconnects(stays) + disconnects(leaves), 0);

  leaves.leave();
  ASSERT_TRUE(lb.run_until(3000, [&] { return !leaves.connected() && lb.server->root().member_count() == 1; }));
  EXPECT_EQ(disconnects(leaves), 0);

  lb.server.reset();  // gone without a goodbye: the client times out
  int seen = 0;
  const uint64_t end = enet::monotonic_ns() + 3'000'000'000;
  while (seen == 0 && enet::monotonic_ns() < end) {
    ASSERT_TRUE(stays.service(5).is_ok());
    seen += disconnects(stays);
  }
  EXPECT_EQ(seen, 1);
  EXPECT_FALSE(stays.connected());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(stays.service(5).is_ok());
  EXPECT_EQ(disconnects(stays), 0);  // once
}

TEST(EnetLoopback, StrangerIsRefusedAndNeverGetsAPeerSlot) {
  Loopback lb(2);
  ClientHost& stranger = lb.add("stranger");
  ASSERT_TRUE(lb.run_until(3000, [&] { return stranger.participant().state() == Participant::State::kRefused; }));
  // A raw refusal is soft (unauthenticated): the stranger tries twice more, then believes it.
  EXPECT_EQ(lb.server->root().stats().refusals[static_cast<size_t>(RefusalReason::kNotOnAcl)], 3u);
  EXPECT_EQ(lb.server->stats().connections, 0u);
}

TEST(EnetLoopback, ConnectWithoutACookieIsGatedBeforeEnetAllocatesAPeer) {
  Loopback lb(2);
  ASSERT_TRUE(enet_initialize() == 0);
  ENetHost* raw = enet_host_create(nullptr, 1, 4, 0, 0);
  ASSERT_NE(raw, nullptr);
  ENetAddress a;
  enet_address_set_host(&a, "127.0.0.1");
  a.port = lb.server->port();
  ENetPeer* p = enet_host_connect(raw, &a, 4, 0);
  ASSERT_NE(p, nullptr);
  ENetEvent ev;
  bool connected = false;
  for (int i = 0; i < 100 && !connected; ++i) {
    ASSERT_TRUE(lb.server->service(5).is_ok());
    connected = enet_host_service(raw, &ev, 5) > 0 && ev.type == ENET_EVENT_TYPE_CONNECT;
  }
  EXPECT_FALSE(connected);
  EXPECT_GT(lb.server->stats().connects_dropped, 0u);  // no answered handshake, no tag
  EXPECT_EQ(lb.server->stats().connections, 0u);
  enet_host_destroy(raw);
}

}  // namespace
}  // namespace netkey::testing
