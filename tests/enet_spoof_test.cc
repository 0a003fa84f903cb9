// An off-path attacker with no key and no certificate, who knows a member's ip:port and
// spoofs ENet datagrams from it (the attack review of the security fix, findings F1, F2
// and F7). Spoofing a source port on loopback takes a raw socket, so this test needs
// CAP_NET_RAW: CI and `make test` run as root. Without it the test fails and says so;
// it never skips. Traffic goes to 127.0.0.1 only.
#include <arpa/inet.h>
#include <enet/enet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "netkey/enet.h"
#include "src/util/clock.h"
#include "support/enet_world.h"

namespace netkey::testing {
namespace {

// UDP datagrams with a chosen source port, to 127.0.0.1 only.
struct Spoofer {
  int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
  ~Spoofer() {
    if (fd >= 0) ::close(fd);
  }
  void send(uint16_t src_port, uint16_t dst_port, const std::vector<uint8_t>& payload) const {
    std::vector<uint8_t> b(8 + payload.size());
    const uint16_t sp = htons(src_port), dp = htons(dst_port), len = htons(static_cast<uint16_t>(b.size()));
    std::memcpy(&b[0], &sp, 2);
    std::memcpy(&b[2], &dp, 2);
    std::memcpy(&b[4], &len, 2);  // UDP checksum 0: none (IPv4)
    std::memcpy(&b[8], payload.data(), payload.size());
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(dst_port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
};

// The local UDP ports of this process's sockets (the attacker "knows" the victim's port;
// the test finds it by diffing before and after the victim's ClientHost exists).
std::set<uint16_t> own_udp_ports() {
  std::set<std::string> inodes;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto t = std::filesystem::read_symlink(e.path(), ec).string();
    if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
  }
  std::set<uint16_t> ports;
  std::ifstream f("/proc/net/udp");
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string sl, local, rem, st, q, tr, rt, uid, to, inode;
    is >> sl >> local >> rem >> st >> q >> tr >> rt >> uid >> to >> inode;
    if (inodes.count(inode)) {
      ports.insert(static_cast<uint16_t>(std::stoul(local.substr(local.find(':') + 1), nullptr, 16)));
    }
  }
  return ports;
}

uint16_t new_port(const std::set<uint16_t>& before) {
  std::set<uint16_t> fresh;
  for (uint16_t p : own_udp_ports()) {
    if (!before.count(p)) fresh.insert(p);
  }
  EXPECT_EQ(fresh.size(), 1u);
  return fresh.empty() ? 0 : *fresh.begin();
}

// Writes ENet's CRC-32 into bytes 4..7 (the header has a sent time), seeded with `seed`
// as ENet does: the connect ID for a known peer, 0 for a CONNECT.
void checksum(std::vector<uint8_t>& b, uint32_t seed) {
  std::memcpy(b.data() + 4, &seed, 4);
  ENetBuffer buf{b.data(), b.size()};
  const uint32_t crc = enet_crc32(&buf, 1);
  std::memcpy(b.data() + 4, &crc, 4);
}

// A well-formed, correctly checksummed CONNECT with a guessed connect ID.
std::vector<uint8_t> connect_packet(uint32_t connect_id) {
  ENetProtocolConnect c{};
  c.header.command = static_cast<enet_uint8>(int{ENET_PROTOCOL_COMMAND_CONNECT} | int{ENET_PROTOCOL_COMMAND_FLAG_ACKNOWLEDGE});
  c.header.channelID = 0xFF;
  c.header.reliableSequenceNumber = ENET_HOST_TO_NET_16(1);
  c.outgoingPeerID = ENET_HOST_TO_NET_16(0);
  c.mtu = ENET_HOST_TO_NET_32(1400);
  c.windowSize = ENET_HOST_TO_NET_32(32768);
  c.channelCount = ENET_HOST_TO_NET_32(kChannelCount);
  c.packetThrottleInterval = ENET_HOST_TO_NET_32(ENET_PEER_PACKET_THROTTLE_INTERVAL);
  c.packetThrottleAcceleration = ENET_HOST_TO_NET_32(2);
  c.packetThrottleDeceleration = ENET_HOST_TO_NET_32(2);
  c.connectID = connect_id;
  std::vector<uint8_t> b(8 + sizeof c);
  const uint16_t hdr = ENET_HOST_TO_NET_16(int{ENET_PROTOCOL_MAXIMUM_PEER_ID} | int{ENET_PROTOCOL_HEADER_FLAG_SENT_TIME});
  const uint16_t sent = ENET_HOST_TO_NET_16(1);
  std::memcpy(b.data(), &hdr, 2);
  std::memcpy(b.data() + 2, &sent, 2);
  std::memcpy(b.data() + 8, &c, sizeof c);
  checksum(b, 0);
  return b;
}

// An unreliable DISCONNECT for (peer id, session), checksummed with a guessed seed.
std::vector<uint8_t> disconnect_packet(uint16_t peer_id, uint8_t session, uint32_t guess) {
  ENetProtocolDisconnect d{};
  d.header.command = ENET_PROTOCOL_COMMAND_DISCONNECT;  // unreliable: acted on at once
  d.header.channelID = 0xFF;
  std::vector<uint8_t> b(8 + sizeof d);
  const uint16_t hdr = ENET_HOST_TO_NET_16(
      static_cast<uint16_t>(peer_id | session << ENET_PROTOCOL_HEADER_SESSION_SHIFT | ENET_PROTOCOL_HEADER_FLAG_SENT_TIME));
  const uint16_t sent = ENET_HOST_TO_NET_16(1);
  std::memcpy(b.data(), &hdr, 2);
  std::memcpy(b.data() + 2, &sent, 2);
  std::memcpy(b.data() + 8, &d, sizeof d);
  checksum(b, guess);
  return b;
}

// F1: a spoofed ENet DISCONNECT "from" a member's address used to kick it (ENet
// authenticated nothing). Packets are now checksummed with the secret connect tag.
TEST(EnetSpoof, ASpoofedDisconnectDoesNotKickAMember) {
  Spoofer spoof;
  ASSERT_GE(spoof.fd, 0) << "this test needs a raw socket (CAP_NET_RAW): run it as root, as CI does";
  EnetWorld w(5, 4, 0xa77ac);
  const auto before = own_udp_ports();
  enet::ClientHost& victim = w.add("p1");
  w.tick();  // the client's socket exists from its first service
  const uint16_t vport = new_port(before);
  ASSERT_TRUE(w.run_until(8000, [&] { return victim.participant().has_net_key(); }));
  const uint64_t epoch = w.server->root().epoch();
  for (uint16_t peer = 0; peer < 64; ++peer) {
    for (uint8_t session = 0; session < 4; ++session) {
      for (uint32_t guess : {0u, 1u, 0xdeadbeefu}) {
        spoof.send(vport, w.server->port(), disconnect_packet(peer, session, guess));
      }
    }
  }
  EXPECT_FALSE(w.run_until(2000, [&] { return w.server->root().member_count() == 0; }));
  EXPECT_EQ(w.server->stats().disconnections, 0u);
  EXPECT_EQ(w.server->root().epoch(), epoch);
  EXPECT_TRUE(victim.participant().has_net_key());
}

// F2/F7: CONNECTs spoofed from a member's address made half-open ENet peers that filled
// its IP's peer cap (16), locking every other player behind that IP (NAT) out. A CONNECT
// now passes only with an answered handshake's secret connect tag, never from a
// connected address.
TEST(EnetSpoof, SpoofedConnectsFromAMembersAddressDoNotLockItsIpOut) {
  Spoofer spoof;
  ASSERT_GE(spoof.fd, 0) << "this test needs a raw socket (CAP_NET_RAW): run it as root, as CI does";
  Identities ids(5);
  auto charter = ids.charter(Identities::default_fields(0xa77ad), {"p1", "p2", "p3"});
  const uint64_t unix_zero = detail::unix_zero_for(kSimUnixTime, enet::monotonic_ns());
  enet::ServerOptions so;  // defaults: 16 peers per IP; every player here is 127.0.0.1 (one NAT)
  auto server = enet::ServerHost::create(ids.root_config(charter, unix_zero), std::make_unique<SystemRng>(), so).value();
  enet::ClientOptions co;
  co.server_port = server->port();
  const auto before = own_udp_ports();
  auto p1 = enet::ClientHost::create(ids.participant_config(ids.get("p1"), charter, unix_zero),
                                     std::make_unique<SystemRng>(), co)
                .value();
  ASSERT_TRUE(p1->service(0).is_ok());
  const uint16_t p1_port = new_port(before);
  std::vector<enet::ClientHost*> clients = {p1.get()};
  auto run = [&](int ms, auto done) {
    const uint64_t end = enet::monotonic_ns() + static_cast<uint64_t>(ms) * 1'000'000;
    while (enet::monotonic_ns() < end && !done()) {
      EXPECT_TRUE(server->service(1).is_ok());
      for (auto* c : clients) EXPECT_TRUE(c->service(0).is_ok());
    }
    return done();
  };
  ASSERT_TRUE(run(8000, [&] { return p1->participant().has_net_key(); }));
  for (uint32_t i = 0; i < 40; ++i) spoof.send(p1_port, server->port(), connect_packet(0x5eed0000 + i));
  run(300, [] { return false; });
  EXPECT_GE(server->stats().connects_dropped, 40u);
  auto p2 = enet::ClientHost::create(ids.participant_config(ids.get("p2"), charter, unix_zero),
                                     std::make_unique<SystemRng>(), co)
                .value();
  clients.push_back(p2.get());
  EXPECT_TRUE(run(5000, [&] { return server->root().member_count() == 2; }));
  EXPECT_EQ(server->stats().connections, 2u);
  EXPECT_TRUE(p1->participant().has_net_key());
}

}  // namespace
}  // namespace netkey::testing
