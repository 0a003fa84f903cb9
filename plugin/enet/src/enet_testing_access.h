// src/enet_testing_access.h: the one friend behind netkey/enet_testing.h. ServerHost and
// ClientHost declare `friend struct TestingAccess;`; its members are defined in
// server_host.cc and client_host.cc, where each host's Impl is visible. Internal.
#ifndef NETKEY_ENET_SRC_ENET_TESTING_ACCESS_H_
#define NETKEY_ENET_SRC_ENET_TESTING_ACCESS_H_

#include <cstdint>
#include <functional>
#include <span>

#include "netkey/enet_testing.h"

namespace netkey::enet {

struct TestingAccess {
  static void broadcast_plaintext(ServerHost& server, std::span<const uint8_t> payload);
  static void set_tap(ServerHost& server, std::function<void(Channel, std::span<const uint8_t>)> tap);
  static bool send_raw(ClientHost& client, Channel channel, std::span<const uint8_t> bytes, bool reliable);
};

}  // namespace netkey::enet

#endif  // NETKEY_ENET_SRC_ENET_TESTING_ACCESS_H_
