// Internal: the state behind KeyTree (netkey/keytree.h) and the records one commit's
// steps hand each other. The steps live in key_tree.cc (validation and placement) and
// key_tree_rekey.cc (rebuild, hash-forward, marking and wrapping). Never include it from
// a public header.
#ifndef NETKEY_SRC_KEYTREE_KEY_TREE_STATE_H_
#define NETKEY_SRC_KEYTREE_KEY_TREE_STATE_H_

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "netkey/keytree.h"
#include "netkey/testing.h"
#include "src/crypto/sodium.h"
#include "src/keytree/wrap.h"

namespace netkey {

using detail::child_of;
using detail::parent_of;

namespace tree_detail {

struct Node {
  SymmetricKey key;
  MemberId member = 0;
  bool leaf = false;
  uint8_t children = 0;  // present children (internal nodes)
  uint8_t depth = 0;
  uint8_t zone = 0;  // the team subtree it lies in (kNoZone: the root, with teams)
};

// A zone is where placement happens: the whole tree without teams, one team's subtree
// (under team_node(t)) with them. Its leaves and non-full internal nodes, shallowest first.
constexpr uint8_t kNoZone = 0xFF;
struct Zone {
  std::set<std::pair<uint8_t, NodeId>> leaves;
  std::set<std::pair<uint8_t, NodeId>> nonfull;
};

struct Member {
  NodeId leaf = 0;
  SymmetricKey secret;
  SymmetricKey unicast;
  uint64_t unicast_seq = 0;
  uint8_t team = 0;
};

// A member to place in a zone: a joiner (`join` set) or a switcher with its leaf key.
struct Arrival {
  MemberId id;
  JoinRequest* join;
  SymmetricKey leaf_key;
};

using DepthId = std::pair<uint8_t, NodeId>;

inline Status invalid(std::string msg) { return Status(Errc::kInvalidArgument, std::move(msg)); }

// What the steps of one commit hand each other (KeyTree::commit).
struct CommitWork {
  RekeyPlan plan;
  std::unordered_set<MemberId> joining;             // ids that join in this batch
  std::vector<NodeId> touched;                      // leaf positions whose ancestors change
  std::unordered_map<MemberId, LeafMove> moved;     // existing members moved by splits
  std::vector<std::pair<NodeId, MemberId>> splits;  // new internal node -> member moved below it
  std::unordered_set<NodeId> created;               // internal nodes created in this batch
  std::vector<NodeId> rekeyed;                      // internal nodes given a key in this batch
  std::vector<std::vector<DepthId>> vacated;        // per zone, shallowest first
  std::vector<std::vector<Arrival>> arrivals;       // per zone, joiners then switchers
  std::vector<uint8_t> rebuilt_zones;
};

}  // namespace tree_detail

struct KeyTree::State {
  using Node = tree_detail::Node;
  using Zone = tree_detail::Zone;
  using Member = tree_detail::Member;
  using Arrival = tree_detail::Arrival;
  using CommitWork = tree_detail::CommitWork;
  using DepthId = tree_detail::DepthId;
  static constexpr uint8_t kNoZone = tree_detail::kNoZone;

  uint64_t group_id = 0;
  TreePolicy policy;
  uint64_t epoch = 0;
  std::unordered_map<NodeId, Node> nodes;
  std::unordered_map<MemberId, Member> members;
  std::vector<Zone> zones;  // one without teams, one per team with them
  SymmetricKey net_key;
  bool has_net_key = false;
  std::vector<SymmetricKey> team_keys;  // per team, current epoch (empty key: no members)
  std::vector<bool> has_team_key;
  testing::TreeFault fault = testing::TreeFault::kNone;

  unsigned d() const { return policy.degree; }
  unsigned teams() const { return policy.teams; }
  // The top node of a zone and its depth.
  NodeId top(uint8_t z) const { return teams() == 0 ? kRootNode : team_node(z); }
  uint8_t top_depth() const { return teams() == 0 ? 0 : 1; }
  uint8_t zone_of_position(NodeId pos) const { return teams() == 0 ? 0 : *team_of_leaf(pos, d()); }
  void set_nonfull(const Node& n, NodeId id, bool on) {
    if (n.zone == kNoZone) return;
    if (on) {
      zones[n.zone].nonfull.insert({n.depth, id});
    } else {
      zones[n.zone].nonfull.erase({n.depth, id});
    }
  }

  // --- structure edits (keys are assigned after the structure settles) ---

  void child_added(NodeId parent) {
    Node& p = nodes.at(parent);
    ++p.children;
    if (p.children == d()) set_nonfull(p, parent, false);
  }
  void child_removed(NodeId parent) {
    Node& p = nodes.at(parent);
    if (p.children == d()) set_nonfull(p, parent, true);
    --p.children;
  }
  void add_internal(NodeId id, uint8_t depth, uint8_t zone) {
    Node n;
    n.depth = depth;
    n.zone = zone;
    set_nonfull(n, id, true);
    nodes.emplace(id, std::move(n));
    if (id != kRootNode) child_added(parent_of(id, d()));
  }
  void add_leaf(NodeId id, uint8_t depth, uint8_t zone, MemberId member, SymmetricKey leaf_key) {
    Node n;
    n.key = std::move(leaf_key);
    n.member = member;
    n.leaf = true;
    n.depth = depth;
    n.zone = zone;
    nodes.emplace(id, std::move(n));
    zones[zone].leaves.insert({depth, id});
    members.at(member).leaf = id;
    child_added(parent_of(id, d()));
  }
  void remove_leaf(NodeId id) {
    Node& n = nodes.at(id);
    zones[n.zone].leaves.erase({n.depth, id});
    nodes.erase(id);
    child_removed(parent_of(id, d()));
  }
  // Removes empty internal nodes from `id` upwards.
  void prune_up(NodeId id) {
    for (;;) {
      auto it = nodes.find(id);
      if (it == nodes.end() || it->second.leaf || it->second.children != 0) return;
      set_nonfull(it->second, id, false);
      nodes.erase(it);
      if (id == kRootNode) return;
      id = parent_of(id, d());
      child_removed(id);
    }
  }
  unsigned zone_depth(uint8_t z) const {
    return zones[z].leaves.empty() ? 0 : zones[z].leaves.rbegin()->first;
  }
  unsigned depth() const {
    unsigned out = 0;
    for (uint8_t z = 0; z < zones.size(); ++z) out = std::max(out, zone_depth(z));
    return out;
  }
  // The depth bound, per zone: top depth + ceil(log_d n_z) + 1.
  bool zone_too_deep(uint8_t z) const {
    const size_t n = zones[z].leaves.size();
    return n != 0 && zone_depth(z) > top_depth() + ceil_log(d(), n) + 1;
  }
  // Creates the root and the zone's top when missing (a new root or top is `created`).
  void ensure_top(uint8_t z, CommitWork& w) {
    if (!nodes.count(kRootNode)) {
      add_internal(kRootNode, 0, teams() == 0 ? 0 : kNoZone);
      w.created.insert(kRootNode);
    }
    if (teams() != 0 && !nodes.count(top(z))) {
      add_internal(top(z), 1, z);
      w.created.insert(top(z));
    }
  }

  // True when no two nodes (internal or leaf) hold the same key. Security finding 1 was
  // a node and its child sharing one; this is the invariant that catches any repeat.
  // Sorts pointers with libsodium's constant-time comparison: no key byte is copied
  // (a hash set would keep hash codes made of key bytes in its nodes). O(n log n).
  // Every key this commit wrote (the rekeyed internal nodes, the joiners' leaves) differs
  // from every other one it wrote and from the keys of its node's children. A derivation
  // that repeats a key (finding 1: a split node and its child) repeats it within one
  // commit, since every derived key binds the epoch; so this catches it without a pass
  // over the whole tree on the hot path (O(k log k) for k keys written, not O(n log n)).
  bool keys_distinct(const CommitWork& w) const {
    std::vector<const SymmetricKey*> keys;
    keys.reserve(w.rekeyed.size() + w.plan.joined.size());
    for (NodeId id : w.rekeyed) keys.push_back(&nodes.at(id).key);
    for (MemberId m : w.plan.joined) keys.push_back(&nodes.at(members.at(m).leaf).key);
    for (NodeId id : w.rekeyed) {
      for (unsigned k = 0; k < d(); ++k) {
        auto c = nodes.find(child_of(id, d(), k));
        if (c != nodes.end() && c->second.key == nodes.at(id).key) return false;
      }
    }
    auto cmp = [](const SymmetricKey* a, const SymmetricKey* b) {
      return sodium_compare(a->data(), b->data(), SymmetricKey::kSize);
    };
    std::sort(keys.begin(), keys.end(),
              [&](const SymmetricKey* a, const SymmetricKey* b) { return cmp(a, b) < 0; });
    for (size_t i = 1; i < keys.size(); ++i) {
      if (cmp(keys[i - 1], keys[i]) == 0) return false;
    }
    return true;
  }

  // --- the steps of commit, in order ---

  Status validate(const Batch& batch, std::unordered_set<MemberId>& joining) const;
  Status validate_teams(const Batch& batch) const;
  void vacate(Batch& batch, CommitWork& w);
  void place(NodeId pos, uint8_t depth, uint8_t zone, Arrival& a, CommitWork& w);
  size_t fill_vacancies(uint8_t z, CommitWork& w);
  void place_extra_joiners(uint8_t z, size_t next, CommitWork& w);
  DepthId split_shallowest_leaf(uint8_t z, CommitWork& w);
  void wrap_children(NodeId a, CommitWork& w) const;
  void fresh_keys_bottom_up(std::vector<DepthId>& internals, Rng& rng, CommitWork& w);
  void rebuild(uint8_t z, Rng& rng, CommitWork& w);
  void clear_zone(uint8_t z);
  void layout_compact(uint8_t z, std::vector<std::pair<MemberId, SymmetricKey>>& order,
                      std::vector<DepthId>& internals);
  void rekey_full(Rng& rng, CommitWork& w);
  void hash_forward(Rng& rng, CommitWork& w);
  void rekey_marked(Rng& rng, CommitWork& w);
  void advance_epoch(uint64_t next_epoch);
};

}  // namespace netkey

#endif  // NETKEY_SRC_KEYTREE_KEY_TREE_STATE_H_
