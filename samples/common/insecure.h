// The --insecure baseline of netkey-arena and netkey-loadbots: the same game traffic
// (snapshots on the state channel, input on the member channel, churn) over the same
// ENet, with nothing of netkey: no handshake, no rekeys, plaintext payloads. It exists
// only to be measured against; never deploy it.
//
// The server's events reuse RootEvent (kJoined when a bot connects, kLeft when it goes,
// kMessage for its input) and the bots' reuse ParticipantEvent (kMessage: a snapshot,
// sender 0, type kRootBroadcast), so the drivers treat both modes alike. Loopback or
// LAN only; single-threaded like the netkey hosts.
#ifndef NETKEY_SAMPLES_COMMON_INSECURE_H_
#define NETKEY_SAMPLES_COMMON_INSECURE_H_

#include <enet/enet.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "netkey/participant.h"
#include "netkey/root.h"

namespace netkey::demo {

class InsecureServer {
 public:
  // Binds 127.0.0.1:port (0: any free port). nullptr when the socket cannot be opened.
  static std::unique_ptr<InsecureServer> create(uint16_t port);
  ~InsecureServer();
  InsecureServer(const InsecureServer&) = delete;
  InsecureServer& operator=(const InsecureServer&) = delete;

  // Services ENet for up to timeout_ms and queues events. False when the host failed.
  bool service(uint32_t timeout_ms);
  // One shared packet to every connected bot: unreliable on the state channel, or
  // reliable and ordered on the events channel (as netkey's Delivery::kReliableOrdered).
  void broadcast(std::span<const uint8_t> payload, bool reliable = false);
  // One bot's own reliable, ordered message on the events channel (netkey's private
  // message without its seal). False when no such bot is connected.
  bool send_to(MemberId member, std::span<const uint8_t> payload);
  std::optional<RootEvent> poll_event();

  uint16_t port() const { return port_; }
  size_t member_count() const { return members_; }
  uint64_t bytes_sent() const { return bytes_sent_; }  // payload bytes, per recipient

 private:
  InsecureServer() = default;
  ENetHost* host_ = nullptr;
  uint16_t port_ = 0;
  size_t members_ = 0;
  MemberId next_member_ = 1;
  uint64_t bytes_sent_ = 0;
  std::unordered_map<MemberId, ENetPeer*> peers_;
  std::deque<RootEvent> events_;
};

class InsecureClient {
 public:
  // Starts connecting to host:port. nullptr when no ENet host can be made.
  static std::unique_ptr<InsecureClient> create(const std::string& host, uint16_t port);
  ~InsecureClient();
  InsecureClient(const InsecureClient&) = delete;
  InsecureClient& operator=(const InsecureClient&) = delete;

  void service();  // ENet timeout 0
  // Snapshots (state channel: kRootBroadcast, unreliable) and the server's reliable
  // messages (events channel: kRootBroadcast, kReliableOrdered), all counted in
  // state_bytes() as a netkey participant counts its traffic.
  std::optional<ParticipantEvent> poll_event();
  bool connected() const { return connected_; }
  // Input to the server on the member channel (unreliable). Dropped when not connected.
  void send(std::span<const uint8_t> payload);
  void leave();   // a disconnect the server hears at once
  void vanish();  // no goodbye: the server times the bot out
  uint64_t state_bytes() const { return state_bytes_; }

 private:
  InsecureClient() = default;
  ENetHost* host_ = nullptr;
  ENetPeer* peer_ = nullptr;
  bool connected_ = false;
  uint64_t state_bytes_ = 0;
  std::deque<ParticipantEvent> events_;
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_INSECURE_H_
