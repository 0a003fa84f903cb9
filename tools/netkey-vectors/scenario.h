// netkey-vectors: a scripted match between a real Root and real Participants (the
// runtime's own state machines, seeded), with every message captured. The vectors in
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
// participant's ephemeral X25519 secret (its first draw).
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

struct Player {
  std::string subject;
  PeerId peer = 0;
  std::string address;
  RecordingRng* rng = nullptr;  // owned by `participant`
  std::unique_ptr<Participant> participant;
  // Captured in order of arrival.
  Bytes hello, cookie_challenge, handshake_init, handshake_response, handshake_finish, leave_request;
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
  static constexpr uint64_t kGroupId = 0x4e4b564543543031;  // "10TCEVKN" little-endian
  static constexpr uint64_t kIdentitySeed = 20261126;
  static constexpr uint64_t kRootSeed = 7;

  explicit Scenario(ScenarioOptions options);
  void run();

  demo::Identities& identities() { return ids_; }
  const Bytes& charter() const { return charter_; }
  const Root& root() const { return *root_; }
  const std::vector<std::unique_ptr<Player>>& players() const { return players_; }
  Player& player(const std::string& subject);
  // The rekey messages of batch 2 as the Root sent them: the Whole (or empty), and the
  // Slices by subject.
  const Bytes& whole() const { return whole_; }
  // Sends a ResyncRequest{have_epoch} as `p` and returns the Root's Resync (not
  // delivered to the participant).
  Bytes request_resync(Player& p, uint64_t have_epoch);
  // Keys of `p` just before batch 2 (after batch 1's Welcome).
  const KeySnapshot& before_batch2(const Player& p) const;
  // The net key of epoch 2.
  Bytes net_key_epoch2() const;

 private:
  Player& add_player(const std::string& subject, uint64_t seed);
  void pump();
  void deliver_to_player(Player& p, const Transmit& t);
  void derive_member_secret(Player& p);

  ScenarioOptions options_;
  demo::Identities ids_;
  Bytes charter_;
  std::unique_ptr<Root> root_;
  std::vector<std::unique_ptr<Player>> players_;
  uint64_t now_ns_ = 1'000'000'000;
  Bytes whole_;
  std::map<std::string, KeySnapshot> before2_;
};

std::string hex(std::span<const uint8_t> bytes);
Bytes path_bytes(const std::vector<std::pair<NodeId, const SymmetricKey*>>& keys);
Bytes key_bytes(const SymmetricKey& k);
// A captured control message (the runtime made it, so it is not verified again).
const wire::Control* control_of(const Bytes& b);

}  // namespace netkey::vectors

#endif  // NETKEY_TOOLS_NETKEY_VECTORS_SCENARIO_H_
