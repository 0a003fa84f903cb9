// netkey-vectors: a scripted match between a real Root and real Participants (the
// runtime's own state machines, seeded), with every message captured: the raw
// pre-connection datagrams (Root::handle_datagram, by address), the connection
// (Root::peer_connected, then handle_control: the HandshakeFinish and Authenticated
// control) and the rekey channel. The vectors in
// tests/vectors/{handshake,welcome,rekey_whole,rekey_slice,traffic}.json are written
// from these captures (main.cc).
#ifndef NETKEY_TOOLS_NETKEY_VECTORS_SCENARIO_H_
#define NETKEY_TOOLS_NETKEY_VECTORS_SCENARIO_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/pki.h"
#include "netkey/member_keys.h"
#include "netkey/participant.h"
#include "netkey/random.h"
#include "netkey/root.h"
#include "netkey/wire/control_generated.h"

namespace netkey::vectors {

using Bytes = std::vector<uint8_t>;

// A DeterministicRng that remembers what it gave out, so the vectors can carry the
// participant's ephemeral X25519 secret (its first draw) and the Root's boot nonce (its
// first draw, in Root::create). It gives out exactly what DeterministicRng(seed) would.
class RecordingRng final : public Rng {
 public:
  explicit RecordingRng(uint64_t seed) : inner_(seed) {}
  void fill(std::span<uint8_t> out) override;
  const std::vector<Bytes>& draws() const { return draws_; }

 private:
  DeterministicRng inner_;
  std::vector<Bytes> draws_;
};

// One member's keys at a point in time (from a runtime MemberKeys that mirrors the
// participant: same messages, same member secret).
struct KeySnapshot {
  uint64_t epoch = 0;
  NodeId leaf = 0;
  Bytes path;     // le32(node) || key, leaf's parent first
  Bytes net_key;  // empty when not in the group
};

// An Authenticated control message as it went over the wire, with what was sealed in it
// (opened with the runtime's own ControlChannel).
struct AuthenticatedCapture {
  Bytes message;  // the Control bytes of the Authenticated
  Bytes inner;    // the inner Control message's exact bytes
  uint8_t direction = 0;
  uint64_t seq = 0;
};

struct Player {
  std::string subject;
  PeerId peer = 0;
  std::string address;  // "ip:port": raw datagrams and the connection come from here
  bool connected = false;
  RecordingRng* rng = nullptr;  // owned by `participant`
  std::unique_ptr<Participant> participant;
  // Captured in order of arrival. Raw datagrams: hello, cookie_challenge, handshake_init,
  // handshake_response; on the connection: handshake_finish, then Authenticated only.
  Bytes hello, cookie_challenge, handshake_init, handshake_response, handshake_finish;
  std::optional<AuthenticatedCapture> leave;  // its Authenticated LeaveRequest, if it left
  std::vector<Bytes> rekeys;  // the rekey-channel messages it applied, in order
  // Derived from the captures by the runtime's own functions.
  uint32_t member_id = 0;
  Bytes ephemeral_secret, transcript, shared_secret, member_secret;
  std::unique_ptr<MemberKeys> keys;
  std::vector<KeySnapshot> snapshots;  // after each applied rekey message
};

struct ScenarioOptions {
  RootConfig::RekeyEncoding encoding = RootConfig::RekeyEncoding::kWhole;
  // The charter's join policy is hash-forward (LKH+), and nobody leaves in batch 2.
  bool hash_forward = false;
};

// The match: a group of degree 2. Batch 1 (epoch 1): alice, bob and carol join.
// Batch 2 (epoch 2): carol leaves, dave and erin join: dave takes carol's leaf, and erin
// splits bob's (shallower) leaf, so bob moves (a LeafMove). The Root uses `encoding`.
// With hash_forward (frank and grace are on its ACL too), batch 2 is dave, erin, frank
// and grace joining only: a HashForward batch in which they split bob's, alice's,
// carol's and then bob's leaf again, so bob moves two levels (2 -> 5 -> 11) and derives
// two split nodes.
class Scenario {
 public:
  // The charter's session id. The group id of the run is derived from it and the Root's
  // boot nonce (group_id()).
  static constexpr uint64_t kSessionId = 0x4e4b564543543031;  // "10TCEVKN" little-endian
  static constexpr uint64_t kIdentitySeed = 20261126;
  static constexpr uint64_t kRootSeed = 7;

  explicit Scenario(ScenarioOptions options);
  void run();

  demo::Identities& identities() { return ids_; }
  const Bytes& charter() const { return charter_; }
  const Root& root() const { return *root_; }
  // This run's boot nonce (the Root's first random draw) and group id.
  const Bytes& boot_nonce() const { return root_rng_->draws().at(0); }
  uint64_t group_id() const { return root_->group_id(); }
  const std::vector<std::unique_ptr<Player>>& players() const { return players_; }
  Player& player(const std::string& subject);
  // The rekey messages of batch 2 as the Root sent them: the Whole (or empty), and the
  // Slices by subject.
  const Bytes& whole() const { return whole_; }
  // Sends an Authenticated ResyncRequest{have_epoch} as `p` (sealed with the runtime's
  // ControlChannel under p's control key, as its first message in that direction: p
  // must not have sent one) and returns the Root's Resync (not delivered to p). The
  // request goes to *request.
  Bytes request_resync(Player& p, uint64_t have_epoch, AuthenticatedCapture* request);
  // The List Controller removes `p` through the Root's trusted channel: returns the
  // Root's Authenticated Refusal{removed} to p, which p (the runtime participant) must
  // take as a removal. The batch this commits is not delivered. Call it last: it moves
  // the Root to epoch 3.
  AuthenticatedCapture remove(Player& p);
  // Keys of `p` just before batch 2 (after batch 1's Welcome).
  const KeySnapshot& before_batch2(const Player& p) const;
  // The net key of epoch 2 (kept at the end of run()).
  const Bytes& net_key_epoch2() const { return net_key2_; }

 private:
  Player& add_player(const std::string& subject, uint64_t seed);
  void pump();
  void deliver_to_player(Player& p, const Transmit& t);
  void derive_member_secret(Player& p);
  // p's connection: opened (Root::peer_connected) before its first reliable message.
  void connect(Player& p);
  AuthenticatedCapture open_authenticated(const Player& p, const Bytes& message, uint8_t direction) const;

  ScenarioOptions options_;
  demo::Identities ids_;
  Bytes charter_;
  RecordingRng* root_rng_ = nullptr;  // owned by root_
  std::unique_ptr<Root> root_;
  std::vector<std::unique_ptr<Player>> players_;
  uint64_t now_ns_ = 1'000'000'000;
  Bytes whole_;
  Bytes net_key2_;
  std::map<std::string, KeySnapshot> before2_;
};

Bytes path_bytes(const std::vector<std::pair<NodeId, const SymmetricKey*>>& keys);
Bytes key_bytes(const SymmetricKey& k);
// A captured control message (the runtime made it, so it is not verified again).
const wire::Control* control_of(const Bytes& b);

}  // namespace netkey::vectors

#endif  // NETKEY_TOOLS_NETKEY_VECTORS_SCENARIO_H_
