// Test support: a ServerHost and ClientHosts in one process over ENet on 127.0.0.1,
// with the demo PKI, serviced together.
#ifndef NETKEY_TESTS_SUPPORT_ENET_WORLD_H_
#define NETKEY_TESTS_SUPPORT_ENET_WORLD_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "netkey/enet.h"
#include "sim/identities.h"
#include "src/util/clock.h"

namespace netkey::testing {

struct EnetWorld {
  // Every client is on 127.0.0.1: one IP may hold many peers here.
  static enet::ServerOptions loopback_options() {
    enet::ServerOptions so;
    so.max_peers_per_ip = so.max_peers;
    return so;
  }
  Identities ids;
  std::vector<uint8_t> charter;
  std::unique_ptr<enet::ServerHost> server;
  std::vector<std::unique_ptr<enet::ClientHost>> clients;
  uint64_t unix_zero = detail::unix_zero_for(kSimUnixTime, enet::monotonic_ns());

  // Subjects p1..p<subjects> are on the charter's ACL.
  EnetWorld(uint64_t seed, size_t subjects, uint64_t session)
      : EnetWorld(seed, subjects, Identities::default_fields(session)) {}
  // The same with the charter's fields given (teams, say).
  EnetWorld(uint64_t seed, size_t subjects, const CharterFields& fields) : ids(seed) {
    std::vector<std::string> acl;
    for (size_t i = 1; i <= subjects; ++i) acl.push_back("p" + std::to_string(i));
    charter = ids.charter(fields, acl);
    auto s = enet::ServerHost::create(ids.root_config(charter, unix_zero), std::make_unique<SystemRng>(),
                                      loopback_options());
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    server = std::move(s).value();
  }
  // A client of `server`; `co`'s server_port is filled in.
  enet::ClientHost& add(const Identity& id, enet::ClientOptions co = {}) {
    co.server_port = server->port();
    auto c = enet::ClientHost::create(ids.participant_config(id, charter, unix_zero), std::make_unique<SystemRng>(), co);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    clients.push_back(std::move(c).value());
    return *clients.back();
  }
  enet::ClientHost& add(const std::string& subject, enet::ClientOptions co = {}) { return add(ids.get(subject), co); }
  void tick() {
    ASSERT_TRUE(server->service(1).is_ok());
    for (auto& c : clients) ASSERT_TRUE(c->service(0).is_ok());
  }
  // Services everything until done() or max_ms; returns done().
  template <typename F>
  bool run_until(int max_ms, F done) {
    const uint64_t end = enet::monotonic_ns() + static_cast<uint64_t>(max_ms) * 1'000'000;
    while (enet::monotonic_ns() < end) {
      tick();
      if (done()) return true;
    }
    return done();
  }
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_ENET_WORLD_H_
