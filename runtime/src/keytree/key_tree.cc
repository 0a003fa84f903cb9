// KeyTree: the marking algorithm, the compact rebuild, and LKH+ hash-forward.
// See netkey/keytree.h for the contract and docs/PROTOCOL.md for the bytes.
#include "netkey/keytree.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "netkey/kdf.h"
#include "src/crypto/sodium.h"
#include "src/keytree/wrap.h"
#include "src/util/testing_access.h"

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
  uint8_t zone = 0;      // the team subtree it lies in (kNoZone: the root, with teams)
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
  std::vector<std::vector<DepthId>> vacated;        // per zone, shallowest first
  std::vector<std::vector<Arrival>> arrivals;       // per zone, joiners then switchers
  std::vector<uint8_t> rebuilt_zones;
};

}  // namespace

struct KeyTree::State {
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
  unsigned zone_depth(uint8_t z) const { return zones[z].leaves.empty() ? 0 : zones[z].leaves.rbegin()->first; }
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
    std::sort(keys.begin(), keys.end(), [&](const SymmetricKey* a, const SymmetricKey* b) { return cmp(a, b) < 0; });
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
  void rebuild(uint8_t z, Rng& rng, CommitWork& w);
  void clear_zone(uint8_t z);
  void layout_compact(uint8_t z, std::vector<std::pair<MemberId, SymmetricKey>>& order,
                      std::vector<DepthId>& internals);
  void rekey_full(Rng& rng, CommitWork& w);
  void hash_forward(Rng& rng, CommitWork& w);
  void rekey_marked(Rng& rng, CommitWork& w);
  void advance_epoch(uint64_t next_epoch);
};

KeyTree::KeyTree(uint64_t group_id, TreePolicy policy) : s_(std::make_unique<State>()) {
  NETKEY_CHECK(policy.degree >= kMinDegree && policy.degree <= kMaxDegree);
  NETKEY_CHECK(policy.teams <= policy.degree);
  s_->group_id = group_id;
  s_->policy = policy;
  s_->zones.resize(std::max<size_t>(1, policy.teams));
  s_->team_keys.resize(policy.teams);
  s_->has_team_key.assign(policy.teams, false);
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

std::optional<uint8_t> KeyTree::team_of(MemberId id) const {
  auto it = s_->members.find(id);
  if (s_->teams() == 0 || it == s_->members.end()) return std::nullopt;
  return it->second.team;
}

size_t KeyTree::team_size(uint8_t team) const {
  NETKEY_CHECK(team < s_->teams());
  return s_->zones[team].leaves.size();
}

const SymmetricKey* KeyTree::team_key(uint8_t team) const {
  NETKEY_CHECK(team < s_->teams());
  return s_->has_team_key[team] ? &s_->team_keys[team] : nullptr;
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
  for (const Zone& z : s.zones) bytes += (z.leaves.size() + z.nonfull.size()) * (sizeof(DepthId) + 32);
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
  std::unordered_set<MemberId> switching;
  for (const TeamSwitch& sw : batch.switches) {
    auto m = members.find(sw.id);
    if (m == members.end() || leaving.count(sw.id)) {
      return invalid("team switch of member " + std::to_string(sw.id) + ", which is not staying in the group");
    }
    if (!switching.insert(sw.id).second) return invalid("member " + std::to_string(sw.id) + " switches twice in one batch");
    if (m->second.team == sw.team) return invalid("member " + std::to_string(sw.id) + " is already in that team");
  }
  NETKEY_RETURN_IF_ERROR(validate_teams(batch));
  const size_t new_count = members.size() - batch.leaves.size() + batch.joins.size();
  if (new_count > policy.max_members) {
    return invalid("batch would grow the group to " + std::to_string(new_count) + " members; the cap is " +
                   std::to_string(policy.max_members));
  }
  return Status::ok();
}

// Team numbers: 0 without teams, below policy.teams with them; switches need teams.
Status KeyTree::State::validate_teams(const Batch& batch) const {
  const unsigned limit = std::max(1u, teams());
  for (const JoinRequest& j : batch.joins) {
    if (j.team >= limit) return invalid("join of member " + std::to_string(j.id) + " into team " + std::to_string(j.team) + ", which does not exist");
  }
  for (const TeamSwitch& sw : batch.switches) {
    if (teams() == 0) return invalid("team switch in a tree without teams");
    if (sw.team >= teams()) return invalid("team switch of member " + std::to_string(sw.id) + " to team " + std::to_string(sw.team) + ", which does not exist");
  }
  return Status::ok();
}

// Step 1: departed leaves leave vacancies (per zone, shallowest first). A switcher's
// leaf leaves one too, in its old zone; its leaf key goes with it into the arrivals of
// its new zone (after that zone's joiners), and its move starts at the old leaf.
void KeyTree::State::vacate(Batch& batch, CommitWork& w) {
  w.vacated.resize(zones.size());
  w.arrivals.resize(zones.size());
  for (MemberId id : batch.leaves) {
    NodeId leaf = members.at(id).leaf;
    const Node& n = nodes.at(leaf);
    w.vacated[n.zone].push_back({n.depth, leaf});
    remove_leaf(leaf);
    members.erase(id);
  }
  for (JoinRequest& j : batch.joins) w.arrivals[j.team].push_back({j.id, &j, SymmetricKey()});
  for (const TeamSwitch& sw : batch.switches) {
    Member& m = members.at(sw.id);
    const NodeId leaf = m.leaf;
    Node& n = nodes.at(leaf);
    // The test-only fault leaves the old team's path as it was (a positive control).
    if (fault != testing::TreeFault::kSkipOldTeamPath) w.vacated[n.zone].push_back({n.depth, leaf});
    w.arrivals[sw.team].push_back({sw.id, nullptr, std::move(n.key)});
    remove_leaf(leaf);
    m.team = sw.team;
    w.moved.emplace(sw.id, LeafMove{leaf, leaf});
    w.plan.switched.push_back(sw.id);
  }
  for (auto& v : w.vacated) std::sort(v.begin(), v.end());
}

// Puts arrival `a` at leaf position `pos` of zone `zone` and records it in the plan.
void KeyTree::State::place(NodeId pos, uint8_t depth, uint8_t zone, Arrival& a, CommitWork& w) {
  if (a.join != nullptr) {
    MemberDerivedKeys k = MemberDerivedKeys::from_secret(a.join->member_secret);
    Member m;
    m.secret = std::move(a.join->member_secret);
    m.unicast = std::move(k.unicast);
    m.team = a.join->team;
    members.emplace(a.id, std::move(m));
    add_leaf(pos, depth, zone, a.id, std::move(k.leaf));
    w.plan.joined.push_back(a.id);
  } else {
    add_leaf(pos, depth, zone, a.id, std::move(a.leaf_key));
    w.moved.at(a.id).to = pos;
  }
  w.touched.push_back(pos);
}

// Steps 2-3: arrivals take the zone's vacancies shallowest first; emptied subtrees are
// pruned. Returns the index of the zone's first arrival not yet placed.
size_t KeyTree::State::fill_vacancies(uint8_t z, CommitWork& w) {
  size_t next = 0;
  std::vector<Arrival>& arrivals = w.arrivals[z];
  std::vector<NodeId> still_vacant;
  for (const DepthId& v : w.vacated[z]) {
    if (next < arrivals.size()) {
      place(v.second, v.first, z, arrivals[next++], w);
    } else {
      still_vacant.push_back(v.second);
      w.touched.push_back(v.second);
    }
  }
  for (NodeId v : still_vacant) prune_up(parent_of(v, d()));
  return next;
}

// Step 4: extra arrivals fill the zone's shallowest free slot, or split its shallowest leaf.
void KeyTree::State::place_extra_joiners(uint8_t z, size_t next, CommitWork& w) {
  std::vector<Arrival>& arrivals = w.arrivals[z];
  for (; next < arrivals.size(); ++next) {
    ensure_top(z, w);
    const Zone& zone = zones[z];
    auto slot = zone.nonfull.begin();
    auto leaf = zone.leaves.begin();
    if (slot != zone.nonfull.end() && (leaf == zone.leaves.end() || slot->first <= leaf->first)) {
      const NodeId p = slot->second;
      const uint8_t depth = static_cast<uint8_t>(slot->first + 1);
      for (unsigned k = 0; k < d(); ++k) {
        NodeId c = child_of(p, d(), k);
        if (!nodes.count(c)) {
          place(c, depth, z, arrivals[next], w);
          break;
        }
      }
      continue;
    }
    const DepthId c1 = split_shallowest_leaf(z, w);
    place(c1.second, c1.first, z, arrivals[next], w);
  }
}

// Split: the zone's shallowest leaf l becomes an internal node; its member moves to
// child 0. Returns child 1 (depth, position), the arrival's place.
DepthId KeyTree::State::split_shallowest_leaf(uint8_t z, CommitWork& w) {
  auto leaf = zones[z].leaves.begin();
  const NodeId l = leaf->second;
  const uint8_t depth = leaf->first;
  Node old = std::move(nodes.at(l));
  zones[z].leaves.erase(leaf);
  nodes.erase(l);
  {
    Node n;
    n.depth = depth;
    n.zone = z;
    set_nonfull(n, l, true);
    nodes.emplace(l, std::move(n));  // children counted by add_leaf below
  }
  w.created.insert(l);
  const NodeId c0 = child_of(l, d(), 0);
  const MemberId m = old.member;
  add_leaf(c0, static_cast<uint8_t>(depth + 1), z, m, std::move(old.key));
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
void KeyTree::State::layout_compact(uint8_t z, std::vector<std::pair<MemberId, SymmetricKey>>& order,
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
  std::sort(changed.begin(), changed.end(), std::greater<>());
  for (const DepthId& a : changed) {
    nodes.at(a.second).key = rng.symmetric_key();
    w.rekeyed.push_back(a.second);
    wrap_children(a.second, w);
  }
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
      if (std::find(w.rebuilt_zones.begin(), w.rebuilt_zones.end(), z) == w.rebuilt_zones.end()) kept.push_back(t);
    }
    for (uint8_t z : w.rebuilt_zones) kept.push_back(top(z));
    w.touched = std::move(kept);
  }
  rekey_marked(rng, w);
}

// Validate, vacate, place arrivals zone by zone, then rebuild, hash forward or rekey
// what is marked.
Result<RekeyPlan> KeyTree::commit(Batch batch, Rng& rng) {
  State& s = *s_;
  if (batch.empty()) return invalid("empty batch: nothing to commit");
  CommitWork w;
  if (Status st = s.validate(batch, w.joining); !st.is_ok()) return st;

  w.plan.group_id = s.group_id;
  w.plan.epoch = s.epoch + 1;
  w.plan.degree = static_cast<uint8_t>(s.d());
  w.plan.left = batch.leaves;

  s.vacate(batch, w);
  std::vector<size_t> next(s.zones.size());
  for (uint8_t z = 0; z < s.zones.size(); ++z) next[z] = s.fill_vacancies(z, w);
  for (uint8_t z = 0; z < s.zones.size(); ++z) s.place_extra_joiners(z, next[z], w);

  bool too_deep = false;
  for (uint8_t z = 0; z < s.zones.size(); ++z) too_deep = too_deep || s.zone_too_deep(z);
  if (s.policy.hash_forward_joins && batch.leaves.empty() && batch.switches.empty() && !too_deep) {
    s.hash_forward(rng, w);
  } else {
    s.rekey_full(rng, w);
  }
  // Moves not already reported by a rebuild, in position order (a whole-tree rebuild
  // reports them in its layout order, as before teams existed).
  const bool whole_rebuild = s.teams() == 0 && w.plan.rebuilt;
  for (const auto& [m, mv] : w.moved) w.plan.moves.push_back(mv);
  if (!whole_rebuild) {
    std::sort(w.plan.moves.begin(), w.plan.moves.end(),
              [](const LeafMove& a, const LeafMove& b) { return a.from < b.from; });
  }

  // Two nodes sharing a key would let whoever holds one unwrap what the other wraps.
  NETKEY_CHECK(s.keys_distinct(w));
  s.advance_epoch(w.plan.epoch);
  return std::move(w.plan);
}

void TestingAccess::set_tree_fault(KeyTree& tree, testing::TreeFault fault) { tree.s_->fault = fault; }
void testing::set_tree_fault(KeyTree& tree, TreeFault fault) { TestingAccess::set_tree_fault(tree, fault); }

}  // namespace netkey
