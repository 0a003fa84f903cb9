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

// What the steps of one commit hand each other (KeyTree::commit).
struct CommitWork {
  RekeyPlan plan;
  std::unordered_set<MemberId> joining;             // ids that join in this batch
  std::vector<NodeId> touched;                      // leaf positions whose ancestors change
  std::unordered_map<MemberId, LeafMove> moved;     // existing members moved by splits
  std::vector<std::pair<NodeId, MemberId>> splits;  // new internal node -> member moved below it
  std::unordered_set<NodeId> created;               // internal nodes created in this batch
  std::vector<NodeId> rekeyed;                      // internal nodes given a key in this batch
};

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
    std::sort(keys.begin(), keys.end(), [&](const SymmetricKey* a, const SymmetricKey* b) { return cmp(a, b) < 0; });
    for (size_t i = 1; i < keys.size(); ++i) {
      if (cmp(keys[i - 1], keys[i]) == 0) return false;
    }
    return true;
  }

  // --- the steps of commit, in order ---

  Status validate(const Batch& batch, std::unordered_set<MemberId>& joining) const;
  std::vector<DepthId> vacate(const std::vector<MemberId>& leaving);
  void place(NodeId pos, uint8_t depth, JoinRequest& j, CommitWork& w);
  size_t fill_vacancies(const std::vector<DepthId>& vacated, std::vector<JoinRequest>& joins, CommitWork& w);
  void place_extra_joiners(std::vector<JoinRequest>& joins, size_t next, CommitWork& w);
  DepthId split_shallowest_leaf(CommitWork& w);
  void wrap_children(NodeId a, CommitWork& w) const;
  void rebuild(Rng& rng, CommitWork& w);
  void layout_compact(std::vector<std::pair<MemberId, SymmetricKey>>& order, std::vector<DepthId>& internals);
  void hash_forward(Rng& rng, CommitWork& w);
  void rekey_marked(Rng& rng, CommitWork& w);
  void advance_epoch(uint64_t next_epoch);
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

// --------------------------------------------------------------- commit, step by step

// Checks the whole batch before anything changes: all or nothing.
Status KeyTree::State::validate(const Batch& batch, std::unordered_set<MemberId>& joining) const {
  std::unordered_set<MemberId> leaving;
  for (MemberId id : batch.leaves) {
    if (!members.count(id)) return invalid("leave of member " + std::to_string(id) + ", which is not in the group");
    if (!leaving.insert(id).second) return invalid("member " + std::to_string(id) + " leaves twice in one batch");
  }
  for (const JoinRequest& j : batch.joins) {
    if (members.count(j.id) && !leaving.count(j.id)) {
      return invalid("join of member " + std::to_string(j.id) + ", which is already in the group");
    }
    if (!joining.insert(j.id).second) return invalid("member " + std::to_string(j.id) + " joins twice in one batch");
  }
  const size_t new_count = members.size() - batch.leaves.size() + batch.joins.size();
  if (new_count > policy.max_members) {
    return invalid("batch would grow the group to " + std::to_string(new_count) + " members; the cap is " +
                   std::to_string(policy.max_members));
  }
  return Status::ok();
}

// Step 1: departed leaves leave vacancies; returns them shallowest first.
std::vector<DepthId> KeyTree::State::vacate(const std::vector<MemberId>& leaving) {
  std::vector<DepthId> vacated;
  for (MemberId id : leaving) {
    NodeId leaf = members.at(id).leaf;
    vacated.push_back({nodes.at(leaf).depth, leaf});
    remove_leaf(leaf);
    members.erase(id);
  }
  std::sort(vacated.begin(), vacated.end());
  return vacated;
}

// Puts joiner `j` at leaf position `pos` and records it in the plan.
void KeyTree::State::place(NodeId pos, uint8_t depth, JoinRequest& j, CommitWork& w) {
  MemberDerivedKeys k = MemberDerivedKeys::from_secret(j.member_secret);
  Member m;
  m.secret = std::move(j.member_secret);
  m.unicast = std::move(k.unicast);
  members.emplace(j.id, std::move(m));
  add_leaf(pos, depth, j.id, std::move(k.leaf));
  w.plan.joined.push_back(j.id);
  w.touched.push_back(pos);
}

// Steps 2-3: joiners take vacancies shallowest first; emptied subtrees are pruned.
// Returns the index of the first joiner not yet placed.
size_t KeyTree::State::fill_vacancies(const std::vector<DepthId>& vacated, std::vector<JoinRequest>& joins,
                                      CommitWork& w) {
  size_t next = 0;
  std::vector<NodeId> still_vacant;
  for (const DepthId& v : vacated) {
    if (next < joins.size()) {
      place(v.second, v.first, joins[next++], w);
    } else {
      still_vacant.push_back(v.second);
      w.touched.push_back(v.second);
    }
  }
  for (NodeId v : still_vacant) prune_up(parent_of(v, d()));
  return next;
}

// Step 4: extra joiners fill the shallowest free slot, or split the shallowest leaf.
void KeyTree::State::place_extra_joiners(std::vector<JoinRequest>& joins, size_t next, CommitWork& w) {
  for (; next < joins.size(); ++next) {
    if (!nodes.count(kRootNode)) {
      add_internal(kRootNode, 0);
      w.created.insert(kRootNode);
    }
    auto slot = nonfull.begin();
    auto leaf = leaves.begin();
    if (slot != nonfull.end() && (leaf == leaves.end() || slot->first <= leaf->first)) {
      const NodeId p = slot->second;
      const uint8_t depth = static_cast<uint8_t>(slot->first + 1);
      for (unsigned k = 0; k < d(); ++k) {
        NodeId c = child_of(p, d(), k);
        if (!nodes.count(c)) {
          place(c, depth, joins[next], w);
          break;
        }
      }
      continue;
    }
    const DepthId c1 = split_shallowest_leaf(w);
    place(c1.second, c1.first, joins[next], w);
  }
}

// Split: the shallowest leaf l becomes an internal node; its member moves to child 0.
// Returns child 1 (depth, position), the joiner's place.
DepthId KeyTree::State::split_shallowest_leaf(CommitWork& w) {
  auto leaf = leaves.begin();
  const NodeId l = leaf->second;
  const uint8_t depth = leaf->first;
  Node old = std::move(nodes.at(l));
  leaves.erase(leaf);
  nodes.erase(l);
  {
    Node n;
    n.depth = depth;
    nodes.emplace(l, std::move(n));  // children counted by add_leaf below
    nonfull.insert({depth, l});
  }
  w.created.insert(l);
  const NodeId c0 = child_of(l, d(), 0);
  const MemberId m = old.member;
  add_leaf(c0, static_cast<uint8_t>(depth + 1), m, std::move(old.key));
  w.touched.push_back(c0);
  if (!w.joining.count(m)) {
    auto it = w.moved.find(m);
    if (it == w.moved.end()) {
      w.moved.emplace(m, LeafMove{l, c0});
    } else {
      it->second.to = c0;
    }
  }
  w.splits.emplace_back(l, m);
  return {static_cast<uint8_t>(depth + 1), child_of(l, d(), 1)};
}

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

// The depth bound was broken: lays every member out in a compact tree, records the
// moves, and gives every internal node a fresh key, deepest first.
void KeyTree::State::rebuild(Rng& rng, CommitWork& w) {
  w.plan.rebuilt = true;
  // Members in their current order (shallowest, then lowest position first).
  std::vector<std::pair<MemberId, SymmetricKey>> order;
  std::unordered_map<MemberId, NodeId> before;
  for (const DepthId& l : leaves) {
    Node& n = nodes.at(l.second);
    before.emplace(n.member, l.second);
    order.emplace_back(n.member, std::move(n.key));
  }
  std::vector<DepthId> internals;
  layout_compact(order, internals);
  for (const auto& [m, key] : order) {
    if (w.joining.count(m)) continue;
    auto mv = w.moved.find(m);
    NodeId from = mv != w.moved.end() ? mv->second.from : before.at(m);
    NodeId to = members.at(m).leaf;
    if (from != to) w.plan.moves.push_back({from, to});
  }
  std::sort(internals.begin(), internals.end(), std::greater<>());
  for (const DepthId& a : internals) {
    nodes.at(a.second).key = rng.symmetric_key();
    w.rekeyed.push_back(a.second);
    wrap_children(a.second, w);
  }
}

// Clears the tree and lays `order` out compactly: each internal node splits its count
// evenly over d children. Leaf keys move out of `order`; `internals` gets every internal node.
void KeyTree::State::layout_compact(std::vector<std::pair<MemberId, SymmetricKey>>& order,
                                    std::vector<DepthId>& internals) {
  nodes.clear();
  leaves.clear();
  nonfull.clear();
  size_t assigned = 0;
  auto layout = [&](auto& self, NodeId pos, uint8_t depth, size_t count) -> void {
    add_internal(pos, depth);
    internals.push_back({depth, pos});
    const size_t base = count / d(), extra = count % d();
    for (unsigned k = 0; k < d(); ++k) {
      size_t c = base + (k < extra ? 1 : 0);
      if (c == 0) break;
      NodeId cid = child_of(pos, d(), k);
      if (c == 1) {
        auto& [m, key] = order[assigned++];
        add_leaf(cid, static_cast<uint8_t>(depth + 1), m, std::move(key));
      } else {
        self(self, cid, static_cast<uint8_t>(depth + 1), c);
      }
    }
  };
  layout(layout, kRootNode, 0, order.size());
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
  std::sort(changed.begin(), changed.end(), std::greater<>());
  for (const DepthId& a : changed) {
    nodes.at(a.second).key = rng.symmetric_key();
    w.rekeyed.push_back(a.second);
    wrap_children(a.second, w);
  }
}

// Moves to `next_epoch` and derives its net key from the root key (none when empty).
void KeyTree::State::advance_epoch(uint64_t next_epoch) {
  epoch = next_epoch;
  auto root = nodes.find(kRootNode);
  has_net_key = root != nodes.end();
  net_key = has_net_key ? net_key_from_root(root->second.key, epoch) : SymmetricKey();
}

// Validate, vacate, place joiners, then rebuild, hash forward or rekey what is marked.
Result<RekeyPlan> KeyTree::commit(Batch batch, Rng& rng) {
  State& s = *s_;
  if (batch.empty()) return invalid("empty batch: nothing to commit");
  CommitWork w;
  if (Status st = s.validate(batch, w.joining); !st.is_ok()) return st;

  w.plan.group_id = s.group_id;
  w.plan.epoch = s.epoch + 1;
  w.plan.degree = static_cast<uint8_t>(s.d());
  w.plan.left = batch.leaves;

  const std::vector<DepthId> vacated = s.vacate(batch.leaves);
  const size_t next = s.fill_vacancies(vacated, batch.joins, w);
  s.place_extra_joiners(batch.joins, next, w);

  // The depth bound: rebuild compactly when the batch left the tree too deep.
  const bool rebuild = !s.members.empty() && s.depth() > ceil_log(s.d(), s.members.size()) + 1;
  if (rebuild) {
    s.rebuild(rng, w);
  } else {
    for (const auto& [m, mv] : w.moved) w.plan.moves.push_back(mv);
    std::sort(w.plan.moves.begin(), w.plan.moves.end(),
              [](const LeafMove& a, const LeafMove& b) { return a.from < b.from; });
    if (s.policy.hash_forward_joins && batch.leaves.empty()) {
      s.hash_forward(rng, w);
    } else {
      s.rekey_marked(rng, w);
    }
  }

  // Two nodes sharing a key would let whoever holds one unwrap what the other wraps.
  NETKEY_CHECK(s.keys_distinct(w));
  s.advance_epoch(w.plan.epoch);
  return std::move(w.plan);
}

}  // namespace netkey
