// KeyTree: the marking algorithm, the compact rebuild, and LKH+ hash-forward.
// See netkey/keytree.h for the contract and docs/PROTOCOL.md for the bytes.
#include "netkey/keytree.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "netkey/kdf.h"
#include "src/crypto/sodium.h"
#include "src/keytree/wrap.h"

namespace netkey {

using detail::child_of;
using detail::parent_of;

namespace {

struct Node {
  SymmetricKey key;
  MemberId member = 0;
  bool leaf = false;
  uint8_t children = 0;  // present children (internal nodes)
  uint8_t depth = 0;
};

struct Member {
  NodeId leaf = 0;
  SymmetricKey secret;
  SymmetricKey unicast;
  uint64_t unicast_seq = 0;
};

using DepthId = std::pair<uint8_t, NodeId>;

Status invalid(std::string msg) { return Status(Errc::kInvalidArgument, std::move(msg)); }

}  // namespace

struct KeyTree::State {
  uint64_t group_id = 0;
  TreePolicy policy;
  uint64_t epoch = 0;
  std::unordered_map<NodeId, Node> nodes;
  std::unordered_map<MemberId, Member> members;
  std::set<DepthId> leaves;   // every leaf, shallowest first
  std::set<DepthId> nonfull;  // internal nodes with fewer than d children, shallowest first
  SymmetricKey net_key;
  bool has_net_key = false;

  unsigned d() const { return policy.degree; }

  // --- structure edits (keys are assigned after the structure settles) ---

  void child_added(NodeId parent) {
    Node& p = nodes.at(parent);
    ++p.children;
    if (p.children == d()) nonfull.erase({p.depth, parent});
  }
  void child_removed(NodeId parent) {
    Node& p = nodes.at(parent);
    if (p.children == d()) nonfull.insert({p.depth, parent});
    --p.children;
  }
  void add_internal(NodeId id, uint8_t depth) {
    Node n;
    n.depth = depth;
    nodes.emplace(id, std::move(n));
    nonfull.insert({depth, id});
    if (id != kRootNode) child_added(parent_of(id, d()));
  }
  void add_leaf(NodeId id, uint8_t depth, MemberId member, SymmetricKey leaf_key) {
    Node n;
    n.key = std::move(leaf_key);
    n.member = member;
    n.leaf = true;
    n.depth = depth;
    nodes.emplace(id, std::move(n));
    leaves.insert({depth, id});
    members.at(member).leaf = id;
    child_added(parent_of(id, d()));
  }
  void remove_leaf(NodeId id) {
    Node& n = nodes.at(id);
    leaves.erase({n.depth, id});
    nodes.erase(id);
    child_removed(parent_of(id, d()));
  }
  // Removes empty internal nodes from `id` upwards.
  void prune_up(NodeId id) {
    for (;;) {
      auto it = nodes.find(id);
      if (it == nodes.end() || it->second.leaf || it->second.children != 0) return;
      nonfull.erase({it->second.depth, id});
      nodes.erase(it);
      if (id == kRootNode) return;
      id = parent_of(id, d());
      child_removed(id);
    }
  }
  unsigned depth() const { return leaves.empty() ? 0 : leaves.rbegin()->first; }

  // True when no two nodes (internal or leaf) hold the same key. Security finding 1 was
  // a node and its child sharing one; this is the invariant that catches any repeat.
  // Sorts pointers with libsodium's constant-time comparison: no key byte is copied
  // (a hash set would keep hash codes made of key bytes in its nodes). O(n log n).
  bool keys_distinct() const {
    std::vector<const SymmetricKey*> keys;
    keys.reserve(nodes.size());
    for (const auto& [id, n] : nodes) keys.push_back(&n.key);
    auto cmp = [](const SymmetricKey* a, const SymmetricKey* b) {
      return sodium_compare(a->data(), b->data(), SymmetricKey::kSize);
    };
    std::sort(keys.begin(), keys.end(), [&](const SymmetricKey* a, const SymmetricKey* b) { return cmp(a, b) < 0; });
    for (size_t i = 1; i < keys.size(); ++i) {
      if (cmp(keys[i - 1], keys[i]) == 0) return false;
    }
    return true;
  }
};

KeyTree::KeyTree(uint64_t group_id, TreePolicy policy) : s_(std::make_unique<State>()) {
  NETKEY_CHECK(policy.degree >= kMinDegree && policy.degree <= kMaxDegree);
  s_->group_id = group_id;
  s_->policy = policy;
}
KeyTree::KeyTree(KeyTree&&) noexcept = default;
KeyTree& KeyTree::operator=(KeyTree&&) noexcept = default;
KeyTree::~KeyTree() = default;

uint64_t KeyTree::group_id() const { return s_->group_id; }
uint64_t KeyTree::epoch() const { return s_->epoch; }
const TreePolicy& KeyTree::policy() const { return s_->policy; }
size_t KeyTree::member_count() const { return s_->members.size(); }
bool KeyTree::contains(MemberId id) const { return s_->members.count(id) != 0; }
unsigned KeyTree::depth() const { return s_->depth(); }
bool KeyTree::has_net_key() const { return s_->has_net_key; }
const SymmetricKey& KeyTree::net_key() const {
  NETKEY_CHECK(s_->has_net_key);
  return s_->net_key;
}

std::optional<NodeId> KeyTree::leaf_of(MemberId id) const {
  auto it = s_->members.find(id);
  if (it == s_->members.end()) return std::nullopt;
  return it->second.leaf;
}

std::vector<std::pair<NodeId, const SymmetricKey*>> KeyTree::path_of(MemberId id) const {
  std::vector<std::pair<NodeId, const SymmetricKey*>> out;
  auto leaf = leaf_of(id);
  if (!leaf) return out;
  for (NodeId a : detail::ancestors_of(*leaf, s_->d())) out.emplace_back(a, &s_->nodes.at(a).key);
  return out;
}

const SymmetricKey* KeyTree::unicast_key(MemberId id) const {
  auto it = s_->members.find(id);
  return it == s_->members.end() ? nullptr : &it->second.unicast;
}

uint64_t KeyTree::next_unicast_seq(MemberId id) {
  auto it = s_->members.find(id);
  NETKEY_CHECK(it != s_->members.end());
  return ++it->second.unicast_seq;
}

const SymmetricKey* KeyTree::node_key(NodeId node) const {
  auto it = s_->nodes.find(node);
  return it == s_->nodes.end() || it->second.leaf ? nullptr : &it->second.key;
}

std::optional<KeyTree::UnicastTarget> KeyTree::take_unicast(MemberId id) {
  auto it = s_->members.find(id);
  if (it == s_->members.end()) return std::nullopt;
  return UnicastTarget{it->second.leaf, &it->second.unicast, ++it->second.unicast_seq};
}

std::vector<std::pair<MemberId, NodeId>> KeyTree::members() const {
  std::vector<std::pair<MemberId, NodeId>> out;
  out.reserve(s_->members.size());
  for (const auto& [id, m] : s_->members) out.emplace_back(id, m.leaf);
  return out;
}

size_t KeyTree::memory_bytes() const {
  // Node-based containers: payload + ~2 pointers + hash per element, plus bucket arrays.
  const State& s = *s_;
  size_t bytes = s.nodes.size() * (sizeof(std::pair<const NodeId, Node>) + 24) +
                 s.nodes.bucket_count() * sizeof(void*);
  bytes += s.members.size() * (sizeof(std::pair<const MemberId, Member>) + 24) +
           s.members.bucket_count() * sizeof(void*);
  bytes += (s.leaves.size() + s.nonfull.size()) * (sizeof(DepthId) + 32);
  return bytes;
}

Result<RekeyPlan> KeyTree::commit(Batch batch, Rng& rng) {
  State& s = *s_;
  const unsigned d = s.d();
  if (batch.empty()) return invalid("empty batch: nothing to commit");

  // Validate everything before touching the tree: all or nothing.
  std::unordered_set<MemberId> leaving;
  for (MemberId id : batch.leaves) {
    if (!s.members.count(id)) return invalid("leave of member " + std::to_string(id) + ", which is not in the group");
    if (!leaving.insert(id).second) return invalid("member " + std::to_string(id) + " leaves twice in one batch");
  }
  std::unordered_set<MemberId> joining;
  for (const JoinRequest& j : batch.joins) {
    if (s.members.count(j.id) && !leaving.count(j.id)) {
      return invalid("join of member " + std::to_string(j.id) + ", which is already in the group");
    }
    if (!joining.insert(j.id).second) return invalid("member " + std::to_string(j.id) + " joins twice in one batch");
  }
  const size_t new_count = s.members.size() - batch.leaves.size() + batch.joins.size();
  if (new_count > s.policy.max_members) {
    return invalid("batch would grow the group to " + std::to_string(new_count) +
                   " members; the cap is " + std::to_string(s.policy.max_members));
  }

  RekeyPlan plan;
  plan.group_id = s.group_id;
  plan.epoch = s.epoch + 1;
  plan.degree = static_cast<uint8_t>(d);
  plan.left = batch.leaves;

  std::vector<NodeId> touched;                     // leaf positions whose ancestors change
  std::unordered_map<MemberId, LeafMove> moved;    // existing members moved by splits
  std::vector<std::pair<NodeId, MemberId>> splits; // new internal node -> member moved below it
  std::unordered_set<NodeId> created;              // internal nodes created in this batch

  auto place = [&](NodeId pos, uint8_t depth, JoinRequest& j) {
    MemberDerivedKeys k = MemberDerivedKeys::from_secret(j.member_secret);
    Member m;
    m.secret = std::move(j.member_secret);
    m.unicast = std::move(k.unicast);
    s.members.emplace(j.id, std::move(m));
    s.add_leaf(pos, depth, j.id, std::move(k.leaf));
    plan.joined.push_back(j.id);
    touched.push_back(pos);
  };

  // 1. Departed leaves leave vacancies.
  std::vector<DepthId> vacated;
  for (MemberId id : batch.leaves) {
    NodeId leaf = s.members.at(id).leaf;
    vacated.push_back({s.nodes.at(leaf).depth, leaf});
    s.remove_leaf(leaf);
    s.members.erase(id);
  }
  std::sort(vacated.begin(), vacated.end());

  // 2. Joiners take departed leaves' places, shallowest first.
  size_t next = 0;
  std::vector<NodeId> still_vacant;
  for (const DepthId& v : vacated) {
    if (next < batch.joins.size()) {
      place(v.second, v.first, batch.joins[next++]);
    } else {
      still_vacant.push_back(v.second);
      touched.push_back(v.second);
    }
  }
  // 3. Emptied subtrees are pruned.
  for (NodeId v : still_vacant) s.prune_up(parent_of(v, d));

  // 4. Extra joiners fill the shallowest free slot, or split the shallowest leaf.
  for (; next < batch.joins.size(); ++next) {
    if (!s.nodes.count(kRootNode)) {
      s.add_internal(kRootNode, 0);
      created.insert(kRootNode);
    }
    auto slot = s.nonfull.begin();
    auto leaf = s.leaves.begin();
    if (slot != s.nonfull.end() && (leaf == s.leaves.end() || slot->first <= leaf->first)) {
      NodeId p = slot->second;
      uint8_t depth = static_cast<uint8_t>(slot->first + 1);
      for (unsigned k = 0; k < d; ++k) {
        NodeId c = child_of(p, d, k);
        if (!s.nodes.count(c)) {
          place(c, depth, batch.joins[next]);
          break;
        }
      }
      continue;
    }
    // Split: the leaf at l becomes an internal node; its member moves to child 0 and the
    // joiner takes child 1.
    const NodeId l = leaf->second;
    const uint8_t depth = leaf->first;
    Node old = std::move(s.nodes.at(l));
    s.leaves.erase(leaf);
    s.nodes.erase(l);
    {
      Node n;
      n.depth = depth;
      s.nodes.emplace(l, std::move(n));  // children counted by add_leaf below
      s.nonfull.insert({depth, l});
    }
    created.insert(l);
    NodeId c0 = child_of(l, d, 0), c1 = child_of(l, d, 1);
    MemberId m = old.member;
    s.add_leaf(c0, static_cast<uint8_t>(depth + 1), m, std::move(old.key));
    touched.push_back(c0);
    if (!joining.count(m)) {
      auto it = moved.find(m);
      if (it == moved.end()) {
        moved.emplace(m, LeafMove{l, c0});
      } else {
        it->second.to = c0;
      }
    }
    splits.emplace_back(l, m);
    place(c1, static_cast<uint8_t>(depth + 1), batch.joins[next]);
  }

  // The depth bound: rebuild compactly when the batch left the tree too deep.
  const bool rebuild = !s.members.empty() && s.depth() > ceil_log(d, s.members.size()) + 1;
  const bool hash_forward = !rebuild && s.policy.hash_forward_joins && batch.leaves.empty();

  auto wrap_children = [&](NodeId a) {
    const Node& n = s.nodes.at(a);
    for (unsigned k = 0; k < d; ++k) {
      auto it = s.nodes.find(child_of(a, d, k));
      if (it == s.nodes.end()) continue;
      const Node& c = it->second;
      if (c.leaf && joining.count(c.member)) continue;  // joiners get a Welcome
      plan.entries.push_back(detail::wrap_key(n.key, c.key, s.group_id, plan.epoch, a, it->first));
    }
  };

  if (rebuild) {
    plan.rebuilt = true;
    // Members in their current order (shallowest, then lowest position first).
    std::vector<std::pair<MemberId, SymmetricKey>> order;
    std::unordered_map<MemberId, NodeId> before;
    for (const DepthId& l : s.leaves) {
      Node& n = s.nodes.at(l.second);
      before.emplace(n.member, l.second);
      order.emplace_back(n.member, std::move(n.key));
    }
    s.nodes.clear();
    s.leaves.clear();
    s.nonfull.clear();
    // Lay out a compact tree: each internal node splits its count evenly over d children.
    std::vector<DepthId> internals;
    size_t assigned = 0;
    auto layout = [&](auto& self, NodeId pos, uint8_t depth, size_t count) -> void {
      s.add_internal(pos, depth);
      internals.push_back({depth, pos});
      const size_t base = count / d, extra = count % d;
      for (unsigned k = 0; k < d; ++k) {
        size_t c = base + (k < extra ? 1 : 0);
        if (c == 0) break;
        NodeId cid = child_of(pos, d, k);
        if (c == 1) {
          auto& [m, key] = order[assigned++];
          s.add_leaf(cid, static_cast<uint8_t>(depth + 1), m, std::move(key));
        } else {
          self(self, cid, static_cast<uint8_t>(depth + 1), c);
        }
      }
    };
    layout(layout, kRootNode, 0, order.size());
    for (const auto& [m, key] : order) {
      if (joining.count(m)) continue;
      auto mv = moved.find(m);
      NodeId from = mv != moved.end() ? mv->second.from : before.at(m);
      NodeId to = s.members.at(m).leaf;
      if (from != to) plan.moves.push_back({from, to});
    }
    std::sort(internals.begin(), internals.end(), std::greater<>());
    for (const DepthId& a : internals) {
      s.nodes.at(a.second).key = rng.symmetric_key();
      wrap_children(a.second);
    }
  } else {
    for (const auto& [m, mv] : moved) plan.moves.push_back(mv);
    std::sort(plan.moves.begin(), plan.moves.end(),
              [](const LeafMove& a, const LeafMove& b) { return a.from < b.from; });
    if (hash_forward) {
      // LKH+: every existing node key moves forward; split nodes derive from the moved
      // member's secret; a brand-new root is random (only joiners exist under it).
      plan.kind = RekeyKind::kHashForward;
      std::unordered_map<NodeId, MemberId> split_owner(splits.begin(), splits.end());
      for (auto& [id, n] : s.nodes) {
        if (n.leaf) continue;
        auto so = split_owner.find(id);
        if (so != split_owner.end()) {
          n.key = split_node_key(s.members.at(so->second).secret, plan.epoch, id);
        } else if (created.count(id)) {
          n.key = rng.symmetric_key();
        } else {
          n.key = kdf_derive(n.key, kdf_ctx::kForward, plan.epoch);
        }
      }
    } else {
      // Mark every ancestor of a touched position, then rekey deepest first.
      std::unordered_set<NodeId> marked;
      std::vector<DepthId> changed;
      for (NodeId t : touched) {
        NodeId a = t;
        while (a != kRootNode) {
          a = parent_of(a, d);
          auto it = s.nodes.find(a);
          if (it == s.nodes.end()) continue;  // pruned
          if (!marked.insert(a).second) break;  // its ancestors are marked already
          changed.push_back({it->second.depth, a});
        }
      }
      std::sort(changed.begin(), changed.end(), std::greater<>());
      for (const DepthId& a : changed) {
        s.nodes.at(a.second).key = rng.symmetric_key();
        wrap_children(a.second);
      }
    }
  }

  // Two nodes sharing a key would let whoever holds one unwrap what the other wraps.
  NETKEY_CHECK(s.keys_distinct());
  s.epoch = plan.epoch;
  auto root = s.nodes.find(kRootNode);
  s.has_net_key = root != s.nodes.end();
  if (s.has_net_key) {
    s.net_key = net_key_from_root(root->second.key, s.epoch);
  } else {
    s.net_key = SymmetricKey();
  }
  return plan;
}

}  // namespace netkey
