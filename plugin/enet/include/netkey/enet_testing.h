// netkey/enet_testing.h: test, benchmark and load-tool hooks of the ENet binding.
//
// Not installed (cmake/install.cmake installs enet.h only) and not for game code: the
// same pattern as netkey/testing.h. Each hook is a free function over the public host;
// the host grants access through a private `friend struct TestingAccess;`
// (plugin/enet/src/enet_testing_access.h). Same thread as the host.
#ifndef NETKEY_ENET_TESTING_H_
#define NETKEY_ENET_TESTING_H_

#include <cstdint>
#include <functional>
#include <span>

#include "netkey/enet.h"
#include "netkey/testing.h"

namespace netkey::testing {

// Benchmark baseline only (was ServerHost::broadcast_plaintext_for_benchmark): the same
// one-packet fan-out to every member as ServerHost::broadcast, but unencrypted. Sent on
// the next service() or flush(). Never use it for game traffic.
void broadcast_plaintext(enet::ServerHost& server, std::span<const uint8_t> payload);

// Test and load-tool tap (was ServerHost::set_tap): `tap` sees every payload the server
// sends to members, after encryption, on the thread that calls service(). Adversary bots
// use it to try every packet. An empty function removes the tap.
void set_tap(enet::ServerHost& server, std::function<void(Channel, std::span<const uint8_t>)> tap);

// Sends raw bytes on a channel of the established connection, bypassing the participant,
// to play a hostile peer (was ClientHost::send_raw_for_testing). Returns false when the
// client is not connected (nothing is sent).
bool send_raw(enet::ClientHost& client, Channel channel, std::span<const uint8_t> bytes, bool reliable);

}  // namespace netkey::testing

#endif  // NETKEY_ENET_TESTING_H_
