#include "support/key_sim.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace netkey::testing {

namespace {
std::vector<uint8_t> bytes_of(const SymmetricKey& k) { return {k.data(), k.data() + 32}; }
}  // namespace

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
  m.held.push_back({m.keys->leaf(), bytes_of(m.keys->leaf_key()), e});
  for (const auto& [node, key] : m.keys->held_keys()) m.held.push_back({node, bytes_of(*key), e});
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

void KeySim::step_with(size_t joins, const std::vector<MemberId>& leaving) {
  if (joins == 0 && leaving.empty()) return;
  BatchPlanner planner(tree_);
  ASSERT_TRUE(planner.leave_bulk(leaving).is_ok());
  std::vector<JoinRequest> reqs;
  for (size_t i = 0; i < joins; ++i) {
    MemberId id = next_id_++;
    SimMember m;
    m.id = id;
    m.secret = rng_.symmetric_key();
    m.keys = std::make_unique<MemberKeys>(tree_.group_id(), id, m.secret, root_.public_key());
    reqs.push_back({id, m.secret.clone()});
    members_.emplace(id, std::move(m));
  }
  ASSERT_TRUE(planner.join_bulk(std::move(reqs)).is_ok());
  auto plan = tree_.commit(planner.take(), rng_);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  const uint64_t e = plan->epoch;
  if (tree_.has_net_key()) net_keys_[e] = bytes_of(tree_.net_key());

  SimBatch rec;
  if (plan->kind == RekeyKind::kHashForward) {
    for (const LeafMove& mv : plan->moves) rec.split_nodes.push_back(mv.from);
    // Splits of joiners placed earlier in the same batch are not moves; their nodes'
    // keys come from the joiner's secret, which only that joiner holds.
  }
  for (MemberId id : leaving) members_.at(id).removed_epoch = e;

  // Deliver: Whole or Slices to the members that were already in; Welcome to joiners.
  std::vector<uint8_t> whole;
  if (!use_slices_) {
    whole = encode_whole(*plan, root_);
    bytes_sent_ += whole.size();
  }
  SliceEncoder slicer(*plan);
  std::vector<MemberId> joined(plan->joined.begin(), plan->joined.end());
  std::sort(joined.begin(), joined.end());
  for (auto& [id, m] : members_) {
    if (m.removed_epoch && *m.removed_epoch < e) continue;
    const bool is_joiner = std::binary_search(joined.begin(), joined.end(), id);
    if (m.removed_epoch) {
      // Just removed: it still sees the Whole (an adversary sees all traffic) and must
      // not be able to apply it.
      if (!use_slices_) {
        Status s = m.keys->apply(whole);
        EXPECT_FALSE(s.is_ok()) << "removed member " << id << " applied epoch " << e;
      }
      continue;
    }
    Status s;
    if (is_joiner) {
      auto w = encode_welcome(tree_, id);
      ASSERT_TRUE(w.is_ok());
      bytes_sent_ += w->size();
      s = m.keys->apply(*w);
      m.joined_epoch = e;
    } else if (use_slices_) {
      auto sl = slicer.encode(tree_, id);
      ASSERT_TRUE(sl.is_ok()) << sl.status().to_string();
      bytes_sent_ += sl->size();
      s = m.keys->apply(*sl);
    } else {
      s = m.keys->apply(whole);
    }
    EXPECT_TRUE(s.is_ok()) << "member " << id << " epoch " << e << ": " << s.to_string();
    // Agreement: every current member derives exactly the Root's net key.
    if (!s.is_ok() || m.keys->epoch() != e || !(m.keys->net_key() == tree_.net_key())) {
      ++agreement_failures_;
    }
    record_held(m);
  }
  rec.plan = std::move(plan).value();
  batches_.push_back(std::move(rec));
}

}  // namespace netkey::testing
