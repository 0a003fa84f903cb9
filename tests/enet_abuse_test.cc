// Abuse over real UDP: a handshake flood while legitimate players join, and a connected
// peer sending oversized and malformed packets on every channel.
#include <enet/enet.h>
#include <gtest/gtest.h>

#include "netkey/enet.h"
#include "support/enet_world.h"
#include "src/group/messages.h"

namespace netkey::testing {
namespace {

struct World : EnetWorld {
  World() : EnetWorld(5, 20, 0xab05e) {}
};

// Raw UDP from fake clients: Hellos, HandshakeInits with forged cookies, ENet CONNECTs
// and junk, from many source ports.
struct Flooder {
  std::vector<ENetSocket> sockets;
  ENetAddress server{};
  explicit Flooder(uint16_t port, int n) {
    enet_address_set_host(&server, "127.0.0.1");
    server.port = port;
    for (int i = 0; i < n; ++i) {
      ENetSocket s = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
      enet_socket_set_option(s, ENET_SOCKOPT_NONBLOCK, 1);
      sockets.push_back(s);
    }
  }
  ~Flooder() {
    for (ENetSocket s : sockets) enet_socket_destroy(s);
  }
  void send(ENetSocket s, const std::vector<uint8_t>& bytes) {
    ENetBuffer b{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    enet_socket_send(s, &server, &b, 1);
  }
  void burst(const Identities& ids, const std::vector<uint8_t>& cert, uint64_t session, int round) {
    std::vector<uint8_t> prefix = {0xFF, 0x4E, 0x4B, 0x01};
    DeterministicRng rng(static_cast<uint64_t>(round) + 1);
    for (size_t i = 0; i < sockets.size(); ++i) {
      auto hello = *detail::encode_hello(session);
      std::vector<uint8_t> raw = prefix;
      raw.insert(raw.end(), hello.begin(), hello.end());
      send(sockets[i], raw);
      std::vector<uint8_t> forged(detail::kCookieSize);
      rng.fill(forged);
      X25519PublicKey eph;
      rng.fill(eph.bytes);
      auto init = *detail::encode_handshake_init(forged, session, std::vector<uint8_t>(32, 1), cert, eph);
      raw = prefix;
      raw.insert(raw.end(), init.begin(), init.end());
      send(sockets[i], raw);
      std::vector<uint8_t> junk(64 + i % 100);
      rng.fill(junk);
      send(sockets[i], junk);  // looks like ENet to the gate: dropped before ENet
    }
    (void)ids;
  }
};

TEST(EnetAbuse, HandshakeFloodCostsNoPublicKeyWorkAndLegitimatePlayersStillJoin) {
  World w;
  Flooder flood(w.server->port(), 200);
  const auto& cert = w.ids.get("p20").certificate;  // a real certificate, stolen
  for (int i = 1; i <= 6; ++i) w.add("p" + std::to_string(i));
  int round = 0;
  ASSERT_TRUE(w.run_until(15000, [&] {
    if (round < 20) flood.burst(w.ids, cert, w.server->root().charter().session_id, round++);
    return w.server->root().member_count() == 6;
  }));
  const RootStats& st = w.server->root().stats();
  // Each legitimate admission costs exactly 4 public-key operations (certificate check,
  // X25519, the Root's transcript signature, the participant's signature check); the
  // 200 fake clients x 20 rounds cost none.
  EXPECT_EQ(st.public_key_ops, 4u * 6);
  EXPECT_GE(st.refusals[static_cast<size_t>(RefusalReason::kBadCookie)], 1000u);
  EXPECT_GE(st.cookies_issued, 1000u);
  EXPECT_GT(w.server->stats().gated_datagrams, 1000u);
  EXPECT_EQ(w.server->stats().connections, 6u);
}

TEST(EnetAbuse, MalformedAndOversizedPacketsOnEveryChannelAreDroppedAndCounted) {
  World w;
  enet::ClientHost& evil = w.add("p1");
  enet::ClientHost& good = w.add("p2");
  ASSERT_TRUE(w.run_until(8000, [&] { return good.participant().has_net_key() && evil.participant().has_net_key(); }));
  DeterministicRng rng(9);
  std::vector<std::vector<uint8_t>> payloads;
  payloads.push_back({});
  payloads.push_back({0x00});
  std::vector<uint8_t> junk(300);
  rng.fill(junk);
  payloads.push_back(junk);
  payloads.push_back(std::vector<uint8_t>(60 * 1024, 0x41));  // oversized for every parser
  std::vector<uint8_t> fake_nkcp(200, 0);
  std::memcpy(fake_nkcp.data() + 4, "NKCP", 4);
  payloads.push_back(fake_nkcp);
  for (uint8_t ch = 0; ch < 4; ++ch) {
    for (const auto& p : payloads) {
      ASSERT_TRUE(evil.send_raw_for_testing(static_cast<Channel>(ch), p, ch < 2));
    }
  }
  const uint64_t malformed_before = w.server->root().stats().malformed_control;
  // The server keeps serving: a broadcast still reaches the good player afterwards.
  int got = 0;
  ASSERT_TRUE(w.run_until(5000, [&] {
    (void)w.server->broadcast(std::vector<uint8_t>{1, 2, 3});
    while (auto e = good.poll_event()) got += e->kind == ParticipantEvent::Kind::kMessage;
    return got > 0 && w.server->root().stats().malformed_control >= malformed_before + payloads.size() &&
           w.server->stats().wrong_channel >= 2 * payloads.size() - 2;
  }));
  // Control (0): every payload counted as malformed control. Member (3): dropped by the
  // relay with a reason. Rekey and state (1, 2) are not accepted from players at all
  // (ENet drops empty packets before delivery, hence the -2).
  EXPECT_GE(w.server->root().stats().malformed_control, payloads.size());
  EXPECT_GE(w.server->stats().wrong_channel, 2 * payloads.size() - 2);
  EXPECT_GE(w.server->root().traffic_drops().total(), payloads.size() - 1);
  EXPECT_EQ(w.server->root().member_count(), 2u);
  EXPECT_GT(got, 0);
}

}  // namespace
}  // namespace netkey::testing
