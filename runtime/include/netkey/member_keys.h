// netkey/member_keys.h: a participant's side of the key tree.
//
// MemberKeys holds the member's path (its leaf key, every node key up to the root) and
// the net key. It applies Welcome, Resync, Whole and Slice messages all or nothing:
// on any error its state is exactly as before. Rejections, each a typed Errc:
//   kTooLarge / kMalformed   size cap, FlatBuffers Verifier, inconsistent fields
//   kBadSignature            a Whole not signed by the Root
//   kBadTag                  a sealed message or wrapped key that fails its AEAD check
//   kWrongGroup              a message for another group (or sealed for another member)
//   kStaleEpoch              an epoch we already hold (duplicate or replay)
//   kNeedsResync             an epoch gap, or a rekey before our Welcome: ask for Resync
//   kMalformed also covers a position outside the teams' subtrees when the group has teams
//   kUnknownKey              the entries for our path are wrapped under keys we do not
//                            hold (we were removed), or the rekey needs a key we lack
//                            (a Participant asks for a Resync either way; only members
//                            get one)
// Hostile bytes never abort.
#ifndef NETKEY_MEMBER_KEYS_H_
#define NETKEY_MEMBER_KEYS_H_

#include <cstdint>
#include <span>
#include <optional>
#include <utility>
#include <vector>

#include "netkey/keytree.h"
#include "netkey/rekey_codec.h"
#include "netkey/status.h"

namespace netkey {

class MemberKeys {
 public:
  // After the handshake: the group, our member id, the handshake's member secret and
  // the Root's Ed25519 public key (from its certificate). `teams`: the tree policy's
  // team count (the charter's), 0 without teams; aborts (misuse) above kMaxDegree.
  MemberKeys(uint64_t group_id, MemberId id, const SymmetricKey& member_secret,
             const Ed25519PublicKey& root_public_key, uint8_t teams = 0);

  // Dispatches on the message's file identifier ("NKRW" Whole, "NKSL" sealed).
  Status apply(std::span<const uint8_t> bytes);
  Status apply_whole(std::span<const uint8_t> bytes);
  Status apply_sealed(std::span<const uint8_t> bytes);

  // True once a Welcome or Resync has been applied.
  bool in_group() const { return in_group_; }
  MemberId id() const { return id_; }
  uint64_t group_id() const { return group_id_; }
  uint64_t epoch() const { return epoch_; }
  NodeId leaf() const { return leaf_; }
  // Aborts (misuse) when !in_group().
  const SymmetricKey& net_key() const;
  // Every node key held now, leaf's parent first, root last (tests, key closure).
  std::vector<std::pair<NodeId, const SymmetricKey*>> held_keys() const;
  const SymmetricKey& leaf_key() const { return derived_.leaf; }
  // Our team, from our leaf position (its ancestor at depth 1, netkey/keytree.h); nullopt
  // without teams or before a Welcome.
  std::optional<uint8_t> team() const;
  // Our team's key of the current epoch, KDF(key of team_node(team()), "nk-teamk",
  // epoch()). Aborts (misuse) when !team().
  const SymmetricKey& team_key() const;

 private:
  friend struct TestingAccess;  // netkey/testing.h: testing::member_secret, testing::unicast_key
  struct Path {
    uint64_t epoch = 0;
    NodeId leaf = 0;
    uint8_t degree = 0;
    std::vector<std::pair<NodeId, SymmetricKey>> keys;  // ancestors, bottom-up
    SymmetricKey net_key;
    SymmetricKey team_key;  // with teams
  };
  // With teams: checks that `p.leaf` lies in a team's subtree and derives p.team_key.
  Status finish(Path& p) const;
  // sealed_epoch: the authenticated Sealed header's epoch (a Slice); nullopt for a Whole.
  Status apply_body(std::span<const uint8_t> body, std::optional<uint64_t> sealed_epoch);
  Status apply_path(std::span<const uint8_t> body, SealedKind kind, uint64_t sealed_epoch);
  Status check_epoch(uint64_t epoch) const;
  void commit(Path p);

  uint64_t group_id_;
  MemberId id_;
  SymmetricKey secret_;
  MemberDerivedKeys derived_;
  Ed25519PublicKey root_public_key_;
  bool in_group_ = false;
  uint64_t epoch_ = 0;
  NodeId leaf_ = 0;
  uint8_t degree_ = 0;
  uint8_t teams_ = 0;
  std::vector<std::pair<NodeId, SymmetricKey>> path_;
  SymmetricKey net_key_;
  SymmetricKey team_key_;
};

}  // namespace netkey

#endif  // NETKEY_MEMBER_KEYS_H_
