// KeyTree's rekey steps: the compact rebuild, LKH+ hash-forward, marking and wrapping,
// and the epoch's keys. See netkey/keytree.h and docs/PROTOCOL.md "Batch planning".
#include <algorithm>

#include "netkey/kdf.h"
#include "src/keytree/key_tree_state.h"

namespace netkey {

using tree_detail::CommitWork;
using tree_detail::DepthId;
using tree_detail::invalid;

// Wraps internal node a's key once under each present child's key (joiners get a Welcome).
void KeyTree::State::wrap_children(NodeId a, CommitWork& w) const {
  const Node& n = nodes.at(a);
  for (unsigned k = 0; k < d(); ++k) {
    auto it = nodes.find(child_of(a, d(), k));
    if (it == nodes.end()) continue;
    const Node& c = it->second;
    if (c.leaf && w.joining.count(c.member)) continue;
    w.plan.entries.push_back(detail::wrap_key(n.key, c.key, group_id, w.plan.epoch, a, it->first));
  }
}

// Zone z broke the depth bound: lays its members out compactly under its top, records
// the moves, and gives each of its internal nodes a fresh key, deepest first. Without
// teams the zone is the whole tree.
void KeyTree::State::rebuild(uint8_t z, Rng& rng, CommitWork& w) {
  w.plan.rebuilt = true;
  w.rebuilt_zones.push_back(z);
  // Members in their current order (shallowest, then lowest position first).
  std::vector<std::pair<MemberId, SymmetricKey>> order;
  std::unordered_map<MemberId, NodeId> before;
  for (const DepthId& l : zones[z].leaves) {
    Node& n = nodes.at(l.second);
    before.emplace(n.member, l.second);
    order.emplace_back(n.member, std::move(n.key));
  }
  std::vector<DepthId> internals;
  clear_zone(z);
  layout_compact(z, order, internals);
  for (const auto& [m, key] : order) {
    if (w.joining.count(m)) continue;
    auto mv = w.moved.find(m);
    NodeId from = mv != w.moved.end() ? mv->second.from : before.at(m);
    if (mv != w.moved.end()) w.moved.erase(mv);
    NodeId to = members.at(m).leaf;
    if (from != to) w.plan.moves.push_back({from, to});
  }
  fresh_keys_bottom_up(internals, rng, w);
}

// Gives each node of `internals` a fresh key, deepest first so that each one's children
// hold their new keys when it is wrapped under them; records it as rekeyed. Sorts
// internals (the order of the rng draws: depth, then id, descending).
void KeyTree::State::fresh_keys_bottom_up(std::vector<DepthId>& internals, Rng& rng, CommitWork& w) {
  std::sort(internals.begin(), internals.end(), std::greater<>());
  for (const DepthId& a : internals) {
    nodes.at(a.second).key = rng.symmetric_key();
    w.rekeyed.push_back(a.second);
    wrap_children(a.second, w);
  }
}

// Removes every node of zone z (its whole subtree, top included).
void KeyTree::State::clear_zone(uint8_t z) {
  zones[z].leaves.clear();
  zones[z].nonfull.clear();
  if (teams() == 0) {
    nodes.clear();
    return;
  }
  std::vector<NodeId> stack{top(z)};
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    auto it = nodes.find(id);
    if (it == nodes.end()) continue;
    if (!it->second.leaf) {
      for (unsigned k = 0; k < d(); ++k) stack.push_back(child_of(id, d(), k));
    }
    nodes.erase(it);
  }
  child_removed(kRootNode);
}

// Lays `order` out compactly under zone z's top: each internal node splits its count
// evenly over d children. Leaf keys move out of `order`; `internals` gets every internal node.
void KeyTree::State::layout_compact(uint8_t z,
                                    std::vector<std::pair<MemberId, SymmetricKey>>& order,
                                    std::vector<DepthId>& internals) {
  size_t assigned = 0;
  auto layout = [&](auto& self, NodeId pos, uint8_t depth, size_t count) -> void {
    add_internal(pos, depth, z);
    internals.push_back({depth, pos});
    const size_t base = count / d(), extra = count % d();
    for (unsigned k = 0; k < d(); ++k) {
      size_t c = base + (k < extra ? 1 : 0);
      if (c == 0) break;
      NodeId cid = child_of(pos, d(), k);
      if (c == 1) {
        auto& [m, key] = order[assigned++];
        add_leaf(cid, static_cast<uint8_t>(depth + 1), z, m, std::move(key));
      } else {
        self(self, cid, static_cast<uint8_t>(depth + 1), c);
      }
    }
  };
  layout(layout, top(z), top_depth(), order.size());
}

// LKH+ (joins only): every existing node key moves forward by KDF; split nodes derive
// from the moved member's secret; a brand-new root is random (only joiners are under it).
void KeyTree::State::hash_forward(Rng& rng, CommitWork& w) {
  w.plan.kind = RekeyKind::kHashForward;
  std::unordered_map<NodeId, MemberId> split_owner(w.splits.begin(), w.splits.end());
  for (auto& [id, n] : nodes) {
    if (n.leaf) continue;
    auto so = split_owner.find(id);
    if (so != split_owner.end()) {
      n.key = split_node_key(members.at(so->second).secret, w.plan.epoch, id);
    } else if (w.created.count(id)) {
      n.key = rng.symmetric_key();
    } else {
      n.key = kdf_derive(n.key, kdf_ctx::kForward, w.plan.epoch);
    }
    w.rekeyed.push_back(id);
  }
}

// Marks every ancestor of a touched position, then rekeys and wraps them deepest first.
void KeyTree::State::rekey_marked(Rng& rng, CommitWork& w) {
  std::unordered_set<NodeId> marked;
  std::vector<DepthId> changed;
  for (NodeId t : w.touched) {
    NodeId a = t;
    while (a != kRootNode) {
      a = parent_of(a, d());
      auto it = nodes.find(a);
      if (it == nodes.end()) continue;      // pruned
      if (!marked.insert(a).second) break;  // its ancestors are marked already
      changed.push_back({it->second.depth, a});
    }
  }
  fresh_keys_bottom_up(changed, rng, w);
}

// Moves to `next_epoch` and derives its net key from the root key (none when empty),
// and each non-empty team's key from its team node's key.
void KeyTree::State::advance_epoch(uint64_t next_epoch) {
  epoch = next_epoch;
  auto root = nodes.find(kRootNode);
  has_net_key = root != nodes.end();
  net_key = has_net_key ? net_key_from_root(root->second.key, epoch) : SymmetricKey();
  for (uint8_t t = 0; t < teams(); ++t) {
    auto n = nodes.find(team_node(t));
    has_team_key[t] = n != nodes.end();
    team_keys[t] = has_team_key[t] ? team_key_from_node(n->second.key, epoch) : SymmetricKey();
  }
}

// A full rekey: zones that broke the depth bound are rebuilt; the rest is marked from
// the touched positions (a rebuilt zone's stale positions replaced by its top, whose
// parent, the root, must change), and rekeyed.
void KeyTree::State::rekey_full(Rng& rng, CommitWork& w) {
  for (uint8_t z = 0; z < zones.size(); ++z) {
    if (zone_too_deep(z)) rebuild(z, rng, w);
  }
  if (teams() == 0 && !w.rebuilt_zones.empty()) return;  // the whole tree is fresh
  if (!w.rebuilt_zones.empty()) {
    std::vector<NodeId> kept;
    for (NodeId t : w.touched) {
      const uint8_t z = zone_of_position(t);
      if (std::find(w.rebuilt_zones.begin(), w.rebuilt_zones.end(), z) == w.rebuilt_zones.end())
        kept.push_back(t);
    }
    for (uint8_t z : w.rebuilt_zones) kept.push_back(top(z));
    w.touched = std::move(kept);
  }
  rekey_marked(rng, w);
}

}  // namespace netkey
