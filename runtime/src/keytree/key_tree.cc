// KeyTree: validation, placement (vacancies, free slots, splits) and commit; the rekey
// steps are in key_tree_rekey.cc. See netkey/keytree.h for the contract and
// docs/PROTOCOL.md for the bytes.
#include "netkey/keytree.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "src/keytree/key_tree_state.h"
#include "src/util/testing_access.h"

namespace netkey {

using tree_detail::CommitWork;
using tree_detail::DepthId;
using tree_detail::invalid;

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
  size_t bytes = s.nodes.size() * (sizeof(std::pair<const NodeId, State::Node>) + 24) +
                 s.nodes.bucket_count() * sizeof(void*);
  bytes += s.members.size() * (sizeof(std::pair<const MemberId, State::Member>) + 24) +
           s.members.bucket_count() * sizeof(void*);
  for (const auto& z : s.zones) bytes += (z.leaves.size() + z.nonfull.size()) * (sizeof(DepthId) + 32);
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
KeyTree::State::DepthId KeyTree::State::split_shallowest_leaf(uint8_t z, CommitWork& w) {
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
