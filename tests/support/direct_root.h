// Test support: a Root and hand-driven participants, no network (admission_test,
// control_plane_test). Every datagram is delivered at once; a test can capture what a
// participant sent, mute a participant, or inject bytes of its own.
#ifndef NETKEY_TESTS_SUPPORT_DIRECT_ROOT_H_
#define NETKEY_TESTS_SUPPORT_DIRECT_ROOT_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/x25519.h"
#include "sim/identities.h"
#include "sim/sim_group.h"
#include "src/group/messages.h"

namespace netkey::testing {

struct Direct {
  struct Client {
    std::unique_ptr<Participant> p;
    std::string address;
    PeerId peer = 0;
    bool connected = false;
    bool muted = false;  // receives nothing on the connection (rekeys are kept in `held`)
    std::vector<std::vector<uint8_t>> held;
    std::vector<std::vector<uint8_t>> sent_control;  // connection control, as sent
  };

  Identities ids{7};
  std::vector<uint8_t> charter;
  std::unique_ptr<Root> root;
  std::map<PeerId, Client> clients;
  std::vector<Transmit> to_address;  // every raw reply, for inspection
  std::vector<Transmit> traffic;     // every traffic transmit of the Root, in order
  // The transport's books, from Transmit::member_change alone (as ServerHost keeps them).
  std::map<PeerId, TeamId> member_team;
  uint64_t now = 1 * kMs;

  explicit Direct(CharterFields f = Identities::default_fields(0x5151), const RootConfig& limits = RootConfig{},
                  uint64_t rng_seed = 11) {
    std::vector<std::string> acl;
    for (int i = 1; i <= 20; ++i) acl.push_back("p" + std::to_string(i));
    charter = ids.charter(f, acl);
    RootConfig rc = ids.root_config(charter, kSimUnixTime);
    rc.max_handshakes_per_ip_per_s = limits.max_handshakes_per_ip_per_s;
    rc.max_handshakes_per_subject_per_s = limits.max_handshakes_per_subject_per_s;
    rc.max_rate_entries = limits.max_rate_entries;
    rc.handshake_timeout_ns = limits.handshake_timeout_ns;
    rc.rekey_encoding = limits.rekey_encoding;
    root = std::make_unique<Root>(Root::create(std::move(rc), std::make_unique<DeterministicRng>(rng_seed), 0).value());
  }
  ParticipantConfig config(const std::string& subject) {
    return ids.participant_config(ids.get(subject), charter, kSimUnixTime);
  }
  Client& start(PeerId peer, ParticipantConfig pc) {
    Client& c = clients[peer];
    c.p = std::make_unique<Participant>(
        Participant::create(std::move(pc), std::make_unique<DeterministicRng>(1000 + peer), now).value());
    c.address = "10.0.0." + std::to_string(peer) + ":4000";
    c.peer = peer;
    c.p->start(now);
    pump();
    return c;
  }
  Client& start(const std::string& subject, PeerId peer) { return start(peer, config(subject)); }
  // Joins and commits: the participant holds the Welcome.
  Client& join(const std::string& subject, PeerId peer) {
    Client& c = start(subject, peer);
    commit();
    EXPECT_TRUE(c.p->has_net_key()) << subject;
    return c;
  }
  void commit() {
    root->flush(now);
    pump();
  }
  void advance(uint64_t dt) {
    now += dt;
    root->handle_timeout(now);
    for (auto& [peer, c] : clients) c.p->handle_timeout(now);
    pump();
  }
  // Delivers everything queued, both ways, until quiet.
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& [peer, c] : clients) {
        while (auto t = c.p->poll_transmit()) {
          moved = true;
          if (t->channel == Channel::kMember || t->channel == Channel::kEvents) {
            root->handle_traffic(peer, *t->bytes, now, t->delivery);
          } else if (!t->reliable) {
            root->handle_datagram(c.address, *t->bytes, now);
          } else {
            if (!c.connected) c.connected = root->peer_connected(peer, c.address, now);
            c.sent_control.push_back(*t->bytes);
            if (c.connected) root->handle_control(peer, *t->bytes, now);
          }
        }
      }
      while (auto t = root->poll_transmit()) {
        moved = true;
        deliver(*t);
      }
    }
  }
  void deliver(const Transmit& t) {
    if (t.to == Transmit::To::kAddress) {
      to_address.push_back(t);
      for (auto& [peer, c] : clients) {
        if (c.address == t.address) c.p->handle_datagram(*t.bytes, now);
      }
      return;
    }
    if (t.member_change == Transmit::MemberChange::kRemoved) member_team.erase(t.peer);
    if (t.member_change == Transmit::MemberChange::kAdded || t.member_change == Transmit::MemberChange::kTeamChanged) {
      member_team[t.peer] = t.team;
    }
    if (t.channel == Channel::kState || t.channel == Channel::kMember || t.channel == Channel::kEvents) {
      traffic.push_back(t);
    }
    for (auto& [peer, c] : clients) {
      bool to_it = t.to == Transmit::To::kPeer ? t.peer == peer : (c.connected && !t.excludes(peer));
      if (t.to == Transmit::To::kTeam) {
        auto m = member_team.find(peer);
        to_it = to_it && m != member_team.end() && m->second == t.team;
      }
      // A clean link: ServerHost sends redundant rekey copies only to lossy ones.
      if (!to_it || t.bytes->empty() || t.redundant) continue;
      if (c.muted) {
        if (t.channel == Channel::kRekey) c.held.push_back(*t.bytes);
        continue;
      }
      if (t.channel == Channel::kControl) c.p->handle_control(*t.bytes, now);
      else if (t.channel == Channel::kRekey) c.p->handle_rekey(*t.bytes, now);
      else c.p->handle_traffic(*t.bytes, now, t.delivery);
    }
  }
  // Feeds `bytes` to `c` as traffic that came with `d` (an adversary's replay or relay).
  void inject(Client& c, std::span<const uint8_t> bytes, netkey::Delivery d = netkey::Delivery::kUnreliableSequenced) {
    c.p->handle_traffic(bytes, now, d);
  }
  // A raw Hello from `address` and the cookie it earned.
  std::vector<uint8_t> cookie_for(const std::string& address) {
    root->handle_datagram(address, *detail::encode_hello(root->charter().session_id), now);
    std::vector<uint8_t> cookie;
    while (auto t = root->poll_transmit()) {
      auto c = detail::parse_control(*t->bytes);
      if (t->address == address && c && c->msg->body_as_CookieChallenge()) {
        const auto* v = c->msg->body_as_CookieChallenge()->cookie();
        cookie.assign(v->begin(), v->end());
      } else {
        to_address.push_back(*t);  // kept for responses_to()
      }
    }
    return cookie;
  }
  // A HandshakeInit from `address` with `subject`'s certificate; signed by its key when
  // `prove`, else with a junk signature (a stolen public certificate).
  std::vector<uint8_t> init(const std::string& address, const std::string& subject, bool prove) {
    auto cookie = cookie_for(address);
    DeterministicRng rng(address.size() * 31 + now);
    X25519PublicKey eph = X25519KeyPair::generate(rng).public_key();
    const auto digest = charter_hash(charter);
    const Identity& id = ids.get(subject);
    Ed25519Signature proof;
    if (prove) {
      proof = SigningKey::from_seed(id.seed).sign(
          detail::init_message(cookie, root->charter().session_id, digest, eph));
    } else {
      rng.fill(proof.bytes);
    }
    return *detail::encode_handshake_init(cookie, root->charter().session_id, digest, id.certificate, eph, proof);
  }
  size_t responses_to(const std::string& address) {
    size_t n = 0;
    while (auto t = root->poll_transmit()) to_address.push_back(*t);
    for (const auto& t : to_address) {
      auto c = detail::parse_control(*t.bytes);
      n += t.address == address && c && c->msg->body_as_HandshakeResponse() != nullptr;
    }
    return n;
  }
  uint64_t refusals(RefusalReason r) const { return root->stats().refusals[static_cast<size_t>(r)]; }
};

// A participant in kConnecting that a test feeds by hand (off-path datagrams, say).
inline Direct::Client& victim(Direct& d, PeerId peer, const std::string& subject, const std::string& address) {
  Direct::Client& c = d.clients[peer];
  c.p = std::make_unique<Participant>(
      Participant::create(d.config(subject), std::make_unique<DeterministicRng>(77 + peer), d.now).value());
  c.address = address;
  c.peer = peer;
  c.p->start(d.now);
  return c;
}

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_DIRECT_ROOT_H_
