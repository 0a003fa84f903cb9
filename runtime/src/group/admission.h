// Internal: the Root's Admission room. Everything that arrives before a transport
// connection exists belongs here, keyed by the sender's address, never by a member's
// PeerId (docs/STATE-MACHINE.md "Admission").
//
//   raw datagram  Hello            -> a stateless cookie (one BLAKE2b, no state)
//                 HandshakeInit    -> cookie, charter, per-address and per-IP rate,
//                                     certificate, proof of possession, ACL, clearance,
//                                     per-subject limit, room;
//                                     only then a member id, an X25519 and a signature
//                 anything else    -> dropped and counted (never touches a member)
//   connection    peer_connected   -> binds one transport connection to the answered
//                                     handshake of that address (once)
//                 HandshakeFinish  -> the participant's transcript signature; the Root
//                                     takes the admitted handshake over
//
// The cost to the Root before a proof of possession is a cookie check, a certificate
// verify and one signature verify; a stolen public certificate buys nothing more.
#ifndef NETKEY_SRC_GROUP_ADMISSION_H_
#define NETKEY_SRC_GROUP_ADMISSION_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "netkey/certificate.h"
#include "netkey/charter.h"
#include "netkey/random.h"
#include "netkey/root.h"
#include "netkey/sign.h"
#include "netkey/x25519.h"
#include "src/group/messages.h"

namespace netkey::detail {

// What Admission needs from the rest of the Root (membership and output).
class AdmissionHost {
 public:
  virtual bool acl_allows(const std::string& subject) const = 0;
  // Room for one more member: members + pending joins < cap. A reconnect always fits.
  virtual bool has_room(const std::string& subject) const = 0;
  virtual std::optional<MemberId> allocate_id() = 0;
  virtual void release_id(MemberId id) = 0;
  // Counts the refusal and reports it as a kRefused event.
  virtual void count_refusal(RefusalReason reason, const std::string& subject) = 0;
  virtual void send_to_address(std::string_view address, Bytes bytes) = 0;
  virtual void close_peer(PeerId peer) = 0;

 protected:
  ~AdmissionHost() = default;
};

// Counts per key per second, with a bounded table. When the table is full, entries
// from earlier seconds are pruned; if none can be, a new key is refused. The table is
// never cleared wholesale, so an attacker cannot reset anyone's limit.
class RateTable {
 public:
  RateTable(uint32_t per_second, size_t max_entries) : per_second_(per_second), max_entries_(max_entries) {}
  bool allow(const std::string& key, uint64_t now_ns);
  size_t size() const { return counts_.size(); }

 private:
  uint32_t per_second_;
  size_t max_entries_;
  std::unordered_map<std::string, std::pair<uint64_t, uint32_t>> counts_;  // second, count
};

// One handshake the Root answered: it holds a member id and a member secret.
struct Handshake {
  std::string address;
  std::string subject;
  MemberId member = 0;
  Ed25519PublicKey identity;
  X25519PublicKey member_eph;
  std::array<uint8_t, 32> transcript{};
  SymmetricKey member_secret;
  Bytes response;
  uint32_t connect_tag = 0;  // connect_tag_of(member_secret)
  uint64_t deadline_ns = 0;
  PeerId peer = 0;  // the transport connection, once bound
};

// The IP part of "ip:port" (or the whole string without a port).
std::string_view ip_of(std::string_view address);

class Admission {
 public:
  Admission(AdmissionHost& host, const RootConfig& config, const CharterFields& charter,
            const std::array<uint8_t, 32>& charter_digest, const SigningKey& key, Rng& rng,
            const BootNonce& boot_nonce, RootStats& stats);

  // A raw pre-connection datagram from `address`: only Hello and HandshakeInit.
  void on_datagram(std::string_view address, std::span<const uint8_t> bytes, uint64_t now_ns);
  // Binds `peer` to the answered handshake of `address`. False (refuse the connection)
  // when there is none, or it is bound already: one connection per handshake.
  bool peer_connected(PeerId peer, std::string_view address);
  // A connected peer's HandshakeFinish. The admitted handshake, once sig_P verifies;
  // nullopt otherwise (the handshake is dropped and the connection closed on a bad one).
  std::optional<Handshake> on_finish(PeerId peer, const wire::HandshakeFinish& m);
  bool owns(PeerId peer) const { return by_peer_.count(peer) != 0; }
  void peer_disconnected(PeerId peer);
  void handle_timeout(uint64_t now_ns);
  std::optional<uint64_t> next_deadline() const;
  bool accepts_connection_from(std::string_view address) const;
  // The connect tag of the answered, unbound handshake of `address`.
  std::optional<uint32_t> connect_tag(std::string_view address) const;
  size_t in_flight() const { return pending_.size(); }

 private:
  void on_hello(std::string_view address, const wire::Hello& h, size_t size, uint64_t now);
  void on_init(std::string_view address, const wire::HandshakeInit& m, uint64_t now);
  bool init_shape_ok(const wire::HandshakeInit& m) const;
  // True when `address` has a handshake already: a retransmitted Init is answered again
  // (the same Response), anything else is dropped and counted.
  bool answered_before(std::string_view address, const X25519PublicKey& member_eph);
  // A newer Init of `subject` replaces its handshake in flight (closing its connection).
  void replace_handshake_of(const std::string& subject);
  // Checks 3-5 of the Init (charter, certificate, proof, ACL, clearance); the subject and
  // key on success, after refusing on failure.
  std::optional<CertificateFields> authenticate(std::string_view address, const wire::HandshakeInit& m,
                                                uint64_t now);
  void answer(std::string_view address, const CertificateFields& cert, std::span<const uint8_t> cert_bytes,
              const X25519PublicKey& member_eph, MemberId id, uint64_t now);
  void refuse(std::string_view address, RefusalReason r, const std::string& subject);
  void drop(const std::string& address);

  AdmissionHost& host_;
  const RootConfig& config_;
  const CharterFields& charter_;
  const std::array<uint8_t, 32>& charter_digest_;
  const SigningKey& key_;
  Rng& rng_;
  BootNonce boot_nonce_;
  RootStats& stats_;
  SymmetricKey cookie_secret_;
  RateTable per_ip_;
  RateTable per_subject_;
  RateTable per_address_;
  std::unordered_map<std::string, Handshake> pending_;        // by address
  std::unordered_map<std::string, std::string> by_subject_;   // subject -> address
  std::unordered_map<PeerId, std::string> by_peer_;           // connected -> address
  std::set<std::pair<uint64_t, std::string>> deadlines_;
};

}  // namespace netkey::detail

#endif  // NETKEY_SRC_GROUP_ADMISSION_H_
