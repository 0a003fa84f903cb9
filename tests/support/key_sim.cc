#include "support/key_sim.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace netkey::testing {

KeySim::KeySim(uint64_t seed, TreePolicy policy, bool use_slices)
    : rng_(seed),
      root_(SigningKey::generate(rng_)),
      tree_(rng_.next_u64(), policy),
      use_slices_(use_slices) {}

std::vector<MemberId> KeySim::current() const {
  std::vector<MemberId> out;
  for (const auto& [id, m] : members_) {
    if (!m.removed_epoch) out.push_back(id);
  }
  return out;
}

void KeySim::record_held(SimMember& m) {
  const uint64_t e = m.keys->epoch();
  m.held.push_back({m.keys->leaf(), m.keys->leaf_key().clone(), e});
  for (const auto& [node, key] : m.keys->held_keys()) m.held.push_back({node, key->clone(), e});
}

void KeySim::step(size_t joins, size_t leaves) {
  std::vector<MemberId> cur = current();
  leaves = std::min(leaves, cur.size());
  std::vector<MemberId> leaving;
  for (size_t i = 0; i < leaves; ++i) {
    size_t j = i + rng_.uniform(cur.size() - i);
    std::swap(cur[i], cur[j]);
    leaving.push_back(cur[i]);
  }
  step_with(joins, leaving);
}

void KeySim::step_teams(size_t joins, size_t leaves, size_t switches) {
  const unsigned teams = tree_.policy().teams;
  std::vector<MemberId> cur = current();
  leaves = std::min(leaves, cur.size());
  switches = teams >= 2 ? std::min(switches, cur.size() - leaves) : 0;
  for (size_t i = 0; i < leaves + switches; ++i) std::swap(cur[i], cur[i + rng_.uniform(cur.size() - i)]);
  std::vector<MemberId> leaving(cur.begin(), cur.begin() + static_cast<ptrdiff_t>(leaves));
  std::vector<TeamSwitch> moving;
  for (size_t i = leaves; i < leaves + switches; ++i) {
    const uint8_t from = *tree_.team_of(cur[i]);
    moving.push_back({cur[i], static_cast<uint8_t>((from + 1 + rng_.uniform(teams - 1)) % teams)});
  }
  step_with(joins, leaving, moving);
}

void KeySim::step_with(size_t joins, const std::vector<MemberId>& leaving, const std::vector<TeamSwitch>& switches) {
  if (joins == 0 && leaving.empty() && switches.empty()) return;
  const uint8_t teams = tree_.policy().teams;
  BatchPlanner planner(tree_);
  ASSERT_TRUE(planner.leave_bulk(leaving).is_ok());
  std::vector<JoinRequest> reqs;
  for (size_t i = 0; i < joins; ++i) {
    MemberId id = next_id_++;
    SimMember m;
    m.id = id;
    m.secret = rng_.symmetric_key();
    m.keys = std::make_unique<MemberKeys>(tree_.group_id(), id, m.secret, root_.public_key(), teams);
    const uint8_t team = teams == 0 ? 0 : static_cast<uint8_t>(rng_.uniform(teams));
    reqs.push_back({id, m.secret.clone(), team});
    members_.emplace(id, std::move(m));
  }
  ASSERT_TRUE(planner.join_bulk(std::move(reqs)).is_ok());
  Batch batch = planner.take();
  batch.switches = switches;
  auto plan = tree_.commit(std::move(batch), rng_);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  if (tree_.has_net_key()) net_keys_[plan->epoch] = tree_.net_key().clone();
  for (uint8_t t = 0; t < teams; ++t) {
    if (tree_.team_key(t) != nullptr) team_keys_[{t, plan->epoch}] = tree_.team_key(t)->clone();
  }
  for (MemberId id : leaving) members_.at(id).removed_epoch = plan->epoch;
  SimBatch rec;
  rec.whole = encode_whole(*plan, root_);
  if (!use_slices_) bytes_sent_ += rec.whole.size();
  deliver(*plan, rec.whole);
  rec.plan = std::move(plan).value();
  batches_.push_back(std::move(rec));
}

// Whole or Slices to the members that were already in; Welcome to joiners. Every
// Sealed message is kept in its recipient's `received`.
void KeySim::deliver(const RekeyPlan& plan, const std::vector<uint8_t>& whole) {
  const uint64_t e = plan.epoch;
  SliceEncoder slicer(plan);
  std::vector<MemberId> joined(plan.joined.begin(), plan.joined.end());
  std::sort(joined.begin(), joined.end());
  for (auto& [id, m] : members_) {
    if (m.removed_epoch && *m.removed_epoch < e) continue;
    if (m.removed_epoch) {
      // Just removed: it gets no Slice, and it must not be able to apply the Whole
      // (which every eavesdropper sees).
      Status s = m.keys->apply(whole);
      EXPECT_FALSE(s.is_ok()) << "removed member " << id << " applied epoch " << e;
      continue;
    }
    std::vector<uint8_t> sealed;
    if (std::binary_search(joined.begin(), joined.end(), id)) {
      auto w = encode_welcome(tree_, id);
      ASSERT_TRUE(w.is_ok());
      sealed = std::move(w).value();
      m.joined_epoch = e;
    } else if (use_slices_) {
      auto sl = slicer.encode(tree_, id);
      ASSERT_TRUE(sl.is_ok()) << sl.status().to_string();
      sealed = std::move(sl).value();
    }
    Status s = m.keys->apply(sealed.empty() ? whole : sealed);
    bytes_sent_ += sealed.size();
    if (!sealed.empty()) m.received.push_back(std::move(sealed));
    EXPECT_TRUE(s.is_ok()) << "member " << id << " epoch " << e << ": " << s.to_string();
    // Agreement: every current member derives exactly the Root's net key.
    if (!s.is_ok() || m.keys->epoch() != e || !(m.keys->net_key() == tree_.net_key())) {
      ++agreement_failures_;
    }
    // With teams: the member computes its team from its own leaf, and its team key,
    // exactly as the Root has them.
    const auto team = tree_.team_of(id);
    if (s.is_ok() && (m.keys->team() != team || (team && !(m.keys->team_key() == *tree_.team_key(*team))))) {
      ++agreement_failures_;
      ADD_FAILURE() << "member " << id << " disagrees with the Root on its team or team key at epoch " << e;
    }
    if (team) m.team_at[e] = *team;
    record_held(m);
  }
}

void KeySim::observe(KeyClosure& closure, const std::vector<MemberId>& coalition) const {
  for (const SimBatch& b : batches_) closure.add_whole(b.whole);
  for (MemberId id : coalition) {
    const SimMember& m = members_.at(id);
    closure.add_member_secret(m.secret, m.joined_epoch);
    for (const HeldKey& h : m.held) closure.add_key(h.key, h.epoch);
    for (const auto& msg : m.received) closure.add_sealed(msg);
  }
}

}  // namespace netkey::testing
