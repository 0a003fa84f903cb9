// netkey/keytree.h: the Root's Logical Key Hierarchy (RFC 2627, LKH) with batched rekeys.
//
// The tree is d-ary (degree 2..16). Node ids are positions: the root is 0 and the
// children of node i are d*i+1 .. d*i+d, so a member can compute its ancestors from its
// leaf position alone. Members sit at leaves; a leaf's key is the member's individual
// KEK (derived from the handshake's member secret). The net key of epoch e is
// KDF(root key, "nk-netky", e).
//
// A Batch of joins and leaves is committed with the marking algorithm of Li, Yang,
// Gouda and Lam ("Batch Rekeying for Secure Group Communications", WWW10 2001):
//   1. joiners take departed leaves' places (shallowest first);
//   2. emptied subtrees are pruned;
//   3. extra joiners fill the shallowest free slot, or split the shallowest leaf;
//   4. every node on a changed path gets a fresh random key, wrapped once under each
//      remaining child's key (that child's new key where it has one). Joiners are not
//      wrapped for: they receive their whole path in a Welcome.
// When a batch would leave the tree deeper than ceil(log_d n) + 1, the tree is rebuilt
// compactly instead (every internal key fresh; a rare O(n) rekey after mass departures),
// so the depth bound holds after every commit.
//
// LKH+ (policy.hash_forward_joins): a batch with joins and no leaves instead moves every
// node key forward, K' = KDF(K, "nk-fwdky", e'); a leaf split for a joiner creates a
// node whose key the moved member derives from its own secret and the node id (one batch
// may split the same leaf several times). Such a batch carries no wrapped keys at all.
// After every commit no two nodes hold the same key: the keys a commit writes are checked
// against each other and their nodes' children (aborts otherwise).
//
// Teams (policy.teams = T >= 1): the root's children 1..T are the roots of the teams'
// subtrees, and team t (0-based) lives entirely under node t+1 (team_node(t)); root
// slots T+1..d stay empty. The team key of epoch e is KDF(key of node t+1, "nk-teamk",
// e), so a member computes its team from its own leaf (the ancestor at depth 1) and its
// team key from its path. Every step above runs per team: joiners fill vacancies of
// their own team only, extra joiners split leaves of their own team, and the depth bound
// is per team, 1 + ceil(log_d n_t) + 1 for a team of n_t members (a team that breaks it
// is rebuilt compactly on its own; the other teams keep their layout). A TeamSwitch
// moves a member's leaf (and its leaf key) out of its old team's subtree, whose path is
// rekeyed as for a leave, into the new team's, whose path is rekeyed as for a join; the
// member learns its new position from a LeafMove and its new path from the wraps under
// its leaf key. A batch with a switch is always a full rekey (never LKH+).
//
// Sans-I/O, single-threaded, deterministic for a given Rng.
#ifndef NETKEY_KEYTREE_H_
#define NETKEY_KEYTREE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netkey/keys.h"
#include "netkey/random.h"
#include "netkey/status.h"

namespace netkey {

using MemberId = uint32_t;
using NodeId = uint32_t;
inline constexpr NodeId kRootNode = 0;
inline constexpr uint8_t kMinDegree = 2;
inline constexpr uint8_t kMaxDegree = 16;
inline constexpr size_t kWrappedKeySize = 48;  // 32-byte key + 16-byte tag

struct TreePolicy {
  uint8_t degree = 4;                // 2..16
  bool hash_forward_joins = false;   // LKH+ for join-only batches
  uint32_t max_members = 1u << 20;   // commit refuses batches that would exceed it
  uint8_t teams = 0;                 // 0: no teams; 1..degree: team subtrees under the root
};

enum class RekeyKind : uint8_t { kFull = 0, kHashForward = 1 };

// The new key of `node`, sealed under the current key of `wrapper`, one of its children.
struct WrappedKey {
  NodeId node;
  NodeId wrapper;
  std::array<uint8_t, kWrappedKeySize> ciphertext;
};

struct LeafMove {
  NodeId from;
  NodeId to;
};

// A joiner: its member id and the member secret from its handshake (KeyTree derives
// the leaf wrapping key, the unicast key and the split key from it).
// `team`: 0 without teams; below policy.teams with them.
struct JoinRequest {
  MemberId id;
  SymmetricKey member_secret;
  uint8_t team = 0;
};

// A current member moves to another team (policy.teams >= 2), keeping its leaf key.
struct TeamSwitch {
  MemberId id;
  uint8_t team;
};

struct Batch {
  std::vector<JoinRequest> joins;
  std::vector<MemberId> leaves;
  std::vector<TeamSwitch> switches;
  bool empty() const { return joins.empty() && leaves.empty() && switches.empty(); }
  size_t size() const { return joins.size() + leaves.size() + switches.size(); }
};

// What a commit produced: everything the encoders need (netkey/rekey_codec.h).
struct RekeyPlan {
  uint64_t group_id = 0;
  uint64_t epoch = 0;  // the epoch this batch created
  RekeyKind kind = RekeyKind::kFull;
  uint8_t degree = 0;
  std::vector<WrappedKey> entries;  // deepest node first
  std::vector<LeafMove> moves;      // existing members whose leaf moved (switches included)
  std::vector<MemberId> joined;     // need a Welcome
  std::vector<MemberId> left;
  std::vector<MemberId> switched;   // changed team (each also has a LeafMove)
  bool rebuilt = false;             // the depth bound forced a compact rebuild
  size_t wrapped_keys() const { return entries.size(); }
};

// Per-member keys derived from the member secret; both Root and member derive them.
struct MemberDerivedKeys {
  SymmetricKey leaf;     // "nk-leafw": the individual KEK at the member's leaf
  SymmetricKey unicast;  // "nk-unica": seals Slice, Welcome, Resync to this member
  static MemberDerivedKeys from_secret(const SymmetricKey& member_secret);
};
// The key of `node`, created by splitting this member's leaf in the LKH+ batch of
// `epoch`: keyed BLAKE2b-256(key = member secret, "nk-split" || le64(epoch) || le32(node)).
// A batch may split one member's leaf several times; the node id keeps their keys apart.
SymmetricKey split_node_key(const SymmetricKey& member_secret, uint64_t epoch, NodeId node);
// The net key of `epoch` from the root node key.
SymmetricKey net_key_from_root(const SymmetricKey& root_key, uint64_t epoch);
// The team key of `epoch` from the key of the team's node (team_node(t)):
// KDF(node key, "nk-teamk", epoch).
SymmetricKey team_key_from_node(const SymmetricKey& node_key, uint64_t epoch);
// The node under which team t lives: the root's child t+1.
inline constexpr NodeId team_node(uint8_t team) { return NodeId{team} + 1; }
// The team whose subtree holds `node`: its ancestor at depth 1, minus one (the caller
// compares it with the policy's team count). nullopt for the root.
std::optional<uint8_t> team_of_leaf(NodeId node, unsigned degree);
// ceil(log_d n) for n >= 1 (0 for n <= 1).
unsigned ceil_log(unsigned degree, size_t n);

class KeyTree {
 public:
  // An empty tree at epoch 0. Aborts (misuse) when policy.degree is outside 2..16 or
  // policy.teams exceeds policy.degree.
  KeyTree(uint64_t group_id, TreePolicy policy);
  KeyTree(const KeyTree&) = delete;
  KeyTree& operator=(const KeyTree&) = delete;
  KeyTree(KeyTree&&) noexcept;
  KeyTree& operator=(KeyTree&&) noexcept;
  ~KeyTree();

  // Applies a batch all or nothing and advances the epoch by one. Errors (the tree is
  // unchanged): kInvalidArgument for an empty batch, a leave of a non-member, a
  // duplicate id, a join of a current member that is not also leaving, a batch
  // that would exceed policy.max_members, a join whose team is not below policy.teams
  // (not 0 without teams), or a switch without teams, of a non-member, of a member
  // that also leaves or switches twice, to its current team or to no team.
  Result<RekeyPlan> commit(Batch batch, Rng& rng);

  uint64_t group_id() const;
  uint64_t epoch() const;
  const TreePolicy& policy() const;
  size_t member_count() const;
  bool contains(MemberId id) const;
  // Depth of the deepest leaf (0 for an empty tree).
  unsigned depth() const;
  // False for an empty tree (no members, no net key).
  bool has_net_key() const;
  // The current net key. Aborts (misuse) when !has_net_key().
  const SymmetricKey& net_key() const;

  // Teams (all nullopt / 0 / nullptr without teams). The member's team, or nullopt for
  // a non-member.
  std::optional<uint8_t> team_of(MemberId id) const;
  // Members of team t now. Aborts (misuse) when t >= policy.teams.
  size_t team_size(uint8_t team) const;
  // Team t's key of the current epoch, nullptr while the team is empty. Valid until the
  // next commit. Aborts (misuse) when t >= policy.teams.
  const SymmetricKey* team_key(uint8_t team) const;

  // The member's leaf position, or nullopt.
  std::optional<NodeId> leaf_of(MemberId id) const;
  // (node, key) pairs from the member's leaf's parent up to the root; empty for a
  // non-member. Pointers stay valid until the next commit.
  std::vector<std::pair<NodeId, const SymmetricKey*>> path_of(MemberId id) const;
  // The member's unicast key (nullptr for a non-member).
  const SymmetricKey* unicast_key(MemberId id) const;
  // Returns the next unicast sequence number for `id` (starting at 1) and advances it.
  // Each sealed message to a member uses a fresh one, so (unicast key, nonce) never
  // repeats. Aborts (misuse) for a non-member.
  uint64_t next_unicast_seq(MemberId id);
  // What sealing one message to `id` needs, in one lookup: its leaf, its unicast key and
  // a fresh sequence number (advanced, as next_unicast_seq does). nullopt for a non-member.
  struct UnicastTarget {
    NodeId leaf;
    const SymmetricKey* key;
    uint64_t seq;
  };
  std::optional<UnicastTarget> take_unicast(MemberId id);
  // The current key of an internal node, or nullptr. Valid until the next commit.
  const SymmetricKey* node_key(NodeId node) const;
  // All members and their leaf positions (unordered).
  std::vector<std::pair<MemberId, NodeId>> members() const;
  // Approximate heap bytes held by the tree (nodes, members, indexes).
  size_t memory_bytes() const;

 private:
  friend struct TestingAccess;  // netkey/testing.h: testing::set_tree_fault
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace netkey

#endif  // NETKEY_KEYTREE_H_
