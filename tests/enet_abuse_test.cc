// Abuse over real UDP: a handshake flood while legitimate players join, and a connected
// peer sending oversized and malformed packets on every channel.
#include <enet/enet.h>
#include <gtest/gtest.h>

#include <set>

#include "netkey/enet.h"
#include "support/enet_world.h"
#include "src/enet_common.h"
#include "src/group/messages.h"
#include "src/util/clock.h"
#include "netkey/enet_testing.h"

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
      Ed25519Signature junk_proof;  // a stolen certificate, but not its key
      rng.fill(junk_proof.bytes);
      auto init = *detail::encode_handshake_init(forged, session, std::vector<uint8_t>(32, 1), cert, eph, junk_proof);
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
  // Each legitimate admission costs exactly 5 public-key operations (certificate check,
  // proof of possession, X25519, the Root's transcript signature, the participant's
  // signature check); the 200 fake clients x 20 rounds cost none.
  EXPECT_EQ(st.public_key_ops, 5u * 6);
  EXPECT_GE(st.refusals[static_cast<size_t>(RefusalReason::kBadCookie)], 1000u);
  EXPECT_GE(st.cookies_issued, 1000u);
  EXPECT_GT(w.server->stats().gated_datagrams, 1000u);
  EXPECT_EQ(w.server->stats().connections, 6u);
  // Thousands of datagrams from unknown addresses spent no PeerId (they used to spend
  // one each, and the counter wrapped onto live members).
  EXPECT_EQ(w.server->stats().peer_ids_issued, 6u);
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
      ASSERT_TRUE(testing::send_raw(evil, static_cast<Channel>(ch), p, ch < 2));
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

TEST(EnetAbuse, PeerIdsWrapWithoutReusingALiveId) {
  enet::detail::PeerIdAllocator ids(0xfffffffeu);
  std::set<PeerId> live = {0xfffffffeu, 1, 2};  // a member holds 1 and 2 across the wrap
  EXPECT_EQ(ids.allocate(live), 0xffffffffu);
  live.insert(0xffffffffu);
  EXPECT_EQ(ids.allocate(live), 3u);  // skips 0, and the live 1 and 2
  live.insert(3);
  live.erase(1);
  EXPECT_EQ(ids.allocate(live), 4u);
}

// An insider (a real player, with its key) that completes one handshake and then opens
// many ENet connections from the same address, and talks raw from its connected
// address. Regression for the review's findings 2 and 4: one admitted address opened
// every ENet slot, and a raw Hello from a member's address ended that member.
struct SlotGrabber {
  static inline SlotGrabber* self = nullptr;
  ENetHost* host = nullptr;
  ENetAddress server{};
  std::unique_ptr<Participant> p;
  std::vector<std::vector<uint8_t>> finish;
  std::vector<ENetPeer*> peers;
  int connected = 0, disconnected = 0;

  SlotGrabber(Identities& ids, const std::vector<uint8_t>& charter, uint64_t unix_zero, uint16_t port,
              size_t slots) {
    host = enet_host_create(nullptr, slots, kChannelCount, 0, 0);
    enet_address_set_host(&server, "127.0.0.1");
    server.port = port;
    host->intercept = &SlotGrabber::intercept;
    host->checksum = enet_crc32;
    p = std::make_unique<Participant>(Participant::create(ids.participant_config(ids.get("p3"), charter, unix_zero),
                                                          std::make_unique<SystemRng>(), enet::monotonic_ns())
                                          .value());
    self = this;
    p->start(enet::monotonic_ns());
    pump();
  }
  ~SlotGrabber() {
    self = nullptr;
    enet_host_destroy(host);
  }
  void raw(std::span<const uint8_t> bytes) {
    std::vector<uint8_t> b = {0xFF, 0x4E, 0x4B, 0x01};
    b.insert(b.end(), bytes.begin(), bytes.end());
    ENetBuffer buf{b.data(), b.size()};
    enet_socket_send(host->socket, &server, &buf, 1);
  }
  void pump() {
    while (auto t = p->poll_transmit()) {
      if (!t->reliable) {
        raw(*t->bytes);
      } else {
        finish.push_back(*t->bytes);  // the Finish: open every slot we can, from one address
        host->randomSeed = p->connect_tag() - 1;  // the first with the handshake's tag
        for (size_t i = 0; i < host->peerCount; ++i) {
          peers.push_back(enet_host_connect(host, &server, kChannelCount, 0));
          host->randomSeed = static_cast<enet_uint32>(0x5eed0000u + i * 7919u);  // the rest: guesses
        }
      }
    }
  }
  static int intercept(ENetHost* h, ENetEvent*) {
    if (h->receivedDataLength < 4 || h->receivedData[0] != 0xFF || self == nullptr) return 0;
    self->p->handle_datagram({h->receivedData + 4, h->receivedDataLength - 4}, enet::monotonic_ns());
    self->pump();
    return 1;
  }
  void service() {
    ENetEvent ev;
    while (enet_host_service(host, &ev, 0) > 0) {
      if (ev.type == ENET_EVENT_TYPE_CONNECT) {
        if (connected++ == 0 && !finish.empty()) {
          ENetPacket* pkt = enet_packet_create(finish[0].data(), finish[0].size(), ENET_PACKET_FLAG_RELIABLE);
          enet_peer_send(ev.peer, 0, pkt);
        }
      } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
        ++disconnected;
      } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
        std::span<const uint8_t> d(ev.packet->data, ev.packet->dataLength);
        const uint64_t now = enet::monotonic_ns();
        if (ev.channelID == 0) p->handle_control(d, now);
        else if (ev.channelID == 1) p->handle_rekey(d, now);
        else p->handle_traffic(d, now);
        enet_packet_destroy(ev.packet);
      }
    }
    enet_host_flush(host);
  }
};

TEST(EnetAbuse, OneAnsweredHandshakeBindsOneConnectionAndRawFromAMemberIsIgnored) {
  Identities ids(5);
  auto charter = ids.charter(Identities::default_fields(0xab06), {"p1", "p2", "p3"});
  const uint64_t unix_zero = detail::unix_zero_for(kSimUnixTime, enet::monotonic_ns());
  enet::ServerOptions so;
  so.max_peers = 6;
  so.max_peers_per_ip = 6;  // loopback: every player shares 127.0.0.1
  auto server = enet::ServerHost::create(ids.root_config(charter, unix_zero), std::make_unique<SystemRng>(), so).value();
  SlotGrabber grab(ids, charter, unix_zero, server->port(), 5);
  const uint64_t end = enet::monotonic_ns() + 5'000'000'000;
  while (enet::monotonic_ns() < end &&
         !(server->root().member_count() == 1 && server->stats().connects_dropped >= 4)) {
    ASSERT_TRUE(server->service(1).is_ok());
    grab.service();
  }
  EXPECT_EQ(grab.peers.size(), 5u);
  EXPECT_EQ(server->root().member_count(), 1u);  // the grabber is a member...
  EXPECT_EQ(server->stats().connections, 1u);      // ...with one connection
  EXPECT_GE(server->stats().connects_dropped, 4u);  // the others never reached ENet
  // Its own connected address now talks raw: a Hello with a wrong session (which used to
  // earn a Refusal and a disconnect for whoever held the address). Dropped unread.
  std::vector<uint8_t> hello = *detail::encode_hello(0xbad);
  for (int i = 0; i < 5; ++i) grab.raw(hello);
  // Two honest players still get slots and join.
  enet::ClientOptions co;
  co.server_port = server->port();
  auto p1 = enet::ClientHost::create(ids.participant_config(ids.get("p1"), charter, unix_zero),
                                     std::make_unique<SystemRng>(), co).value();
  auto p2 = enet::ClientHost::create(ids.participant_config(ids.get("p2"), charter, unix_zero),
                                     std::make_unique<SystemRng>(), co).value();
  const uint64_t end2 = enet::monotonic_ns() + 8'000'000'000;
  while (enet::monotonic_ns() < end2 && server->root().member_count() < 3) {
    ASSERT_TRUE(server->service(1).is_ok());
    grab.service();
    ASSERT_TRUE(p1->service(0).is_ok());
    ASSERT_TRUE(p2->service(0).is_ok());
  }
  EXPECT_EQ(server->root().member_count(), 3u);
  EXPECT_GE(server->stats().raw_from_connected, 5u);
  EXPECT_EQ(server->root().stats().refusals_total(), 0u);
  EXPECT_TRUE(grab.p->has_net_key());  // still a member, on the current epoch
  EXPECT_EQ(grab.p->epoch(), server->root().epoch());
}

}  // namespace
}  // namespace netkey::testing
