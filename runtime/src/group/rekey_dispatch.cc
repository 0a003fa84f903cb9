// The Root's RekeyDispatch. See src/group/rekey_dispatch.h.
#include "src/group/rekey_dispatch.h"

#include <algorithm>
#include <memory>
#include <unordered_set>
#include <vector>

#include "netkey/rekey_codec.h"

namespace netkey::detail {

TeamId team_id_of(const KeyTree& tree, MemberId id) {
  const auto t = tree.team_of(id);
  return t ? TeamId{*t} : kNoTeam;
}

RekeyDispatch::RekeyDispatch(const RootConfig& config, const CharterFields& charter, uint64_t group_id,
                             const SigningKey& key, Rng& rng, RootStats& stats, Membership& membership,
                             RootOutput& out)
    : config_(config),
      charter_(charter),
      key_(key),
      rng_(rng),
      stats_(stats),
      membership_(membership),
      out_(out),
      tree_(group_id, TreePolicy{charter.degree, charter.hash_forward_joins, charter.member_cap, charter.teams}),
      planner_(tree_) {}

void RekeyDispatch::join(MemberId id, SymmetricKey member_secret, uint8_t team, uint64_t now_ns) {
  Status s = planner_.join({id, std::move(member_secret), team});
  NETKEY_CHECK(s.is_ok());
  if (!batch_started_) batch_started_ = now_ns;
}

Status RekeyDispatch::switch_team(MemberId id, uint8_t team, uint64_t now_ns) {
  NETKEY_RETURN_IF_ERROR(planner_.switch_team(id, team));
  if (!batch_started_ && !planner_.empty()) batch_started_ = now_ns;
  return Status::ok();
}

bool RekeyDispatch::leave(MemberId id, uint64_t now_ns) {
  if (!tree_.contains(id) || !planner_.leave(id).is_ok()) return false;
  if (!batch_started_) batch_started_ = now_ns;
  return true;
}

std::optional<uint64_t> RekeyDispatch::deadline() const {
  if (!batch_started_) return std::nullopt;
  return *batch_started_ + uint64_t{charter_.batch_window_ms} * 1'000'000;
}

std::optional<RekeyPlan> RekeyDispatch::commit_batch() {
  batch_started_.reset();
  if (planner_.empty()) return std::nullopt;
  auto plan = tree_.commit(planner_.take(), rng_);
  NETKEY_CHECK(plan.is_ok());  // the planner validated every request
  ++stats_.commits;
  return std::move(plan).value();
}

void RekeyDispatch::send_rekey(const RekeyPlan& plan) {
  const size_t first_new = copies_.size();
  if (use_slices(plan)) {
    send_slices(plan);
  } else if (tree_.has_net_key() && tree_.member_count() > plan.joined.size()) {  // someone to send it to
    send_whole(plan);
  }
  send_copies(first_new);  // the first copy of each at once, after every original
  send_welcomes(plan);
}

bool RekeyDispatch::use_slices(const RekeyPlan& plan) const {
  if (config_.rekey_encoding != RootConfig::RekeyEncoding::kAuto) {
    return config_.rekey_encoding == RootConfig::RekeyEncoding::kSlices;
  }
  return whole_estimate(plan) > config_.auto_whole_max_bytes || whole_estimate(plan) > slice_estimate(plan);
}

size_t RekeyDispatch::whole_estimate(const RekeyPlan& plan) {
  // Known before encoding: entries, moves, and ~200 bytes of header and signature.
  return plan.entries.size() * 56 + plan.moves.size() * 8 + 200;
}

size_t RekeyDispatch::slice_estimate(const RekeyPlan& plan) const {
  // One member's Slice: its changed path keys (at most one per level of the tree, ~40
  // bytes each) sealed with ~160 bytes of header, nonce and tag. Every member who stays
  // receives either the Whole or its own Slice, so comparing the two per member compares
  // the totals (issue 13: Wholes were 7x the bytes of Slices at 200 members).
  size_t depth = 1;
  for (size_t span = charter_.degree; span < tree_.member_count(); span *= charter_.degree) ++depth;
  return std::min(plan.entries.size(), depth) * 40 + 160;
}

void RekeyDispatch::send_slices(const RekeyPlan& plan) {
  const std::unordered_set<MemberId> joined(plan.joined.begin(), plan.joined.end());
  SliceEncoder slicer(plan);
  for (const auto& [id, rec] : membership_.members()) {
    if (joined.count(id) || rec.peer == 0 || !tree_.contains(id)) continue;
    auto sl = slicer.encode(tree_, id);
    if (!sl) continue;
    send_rekey_bytes(rec.peer, std::move(sl).value(), true);
  }
}

void RekeyDispatch::send_whole(const RekeyPlan& plan) {
  auto whole = std::make_shared<const std::vector<uint8_t>>(encode_whole(plan, key_));
  stats_.rekey_bytes_sent += whole->size() * (tree_.member_count() - plan.joined.size());
  // Not to this batch's joiners: their Welcome follows, and a Whole before it is bytes
  // they cannot use. They join the member set after it (send_welcomes); `skip` says so
  // to a transport that asks Root::member_peers() later.
  auto skip = std::make_shared<std::vector<PeerId>>();
  for (MemberId id : plan.joined) {
    const MemberRec* rec = membership_.member(id);
    if (rec->peer != 0) skip->push_back(rec->peer);
  }
  std::sort(skip->begin(), skip->end());
  if (config_.rekey_copies > 0) copies_.push_back({0, whole, skip, config_.rekey_copies});
  out_.to_members(Channel::kRekey, true, whole, 0, std::move(skip));
}

void RekeyDispatch::send_welcomes(const RekeyPlan& plan) {
  for (MemberId id : plan.joined) {
    const MemberRec& rec = *membership_.member(id);
    auto w = encode_welcome(tree_, id);
    NETKEY_CHECK(w.is_ok());
    if (rec.peer != 0 && membership_.peer(rec.peer) != nullptr) {
      membership_.promote(rec.peer, team_id_of(tree_, id));
      send_rekey_bytes(rec.peer, std::move(w).value());
    } else {
      stats_.rekey_bytes_sent += w->size();
    }
    RootEvent e{RootEvent::Kind::kJoined};
    e.member = id;
    e.subject = rec.subject;
    e.epoch = plan.epoch;
    e.team = team_id_of(tree_, id);
    out_.event(std::move(e));
  }
}

void RekeyDispatch::send_rekey_bytes(PeerId peer, std::vector<uint8_t> bytes, bool copy) {
  stats_.rekey_bytes_sent += bytes.size();
  auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  if (copy && config_.rekey_copies > 0) copies_.push_back({peer, shared, nullptr, config_.rekey_copies});
  out_.to_peer(peer, Channel::kRekey, true, std::move(shared));
}

void RekeyDispatch::send_copies(size_t from) {
  for (size_t i = from; i < copies_.size(); ++i) {
    Copy& c = copies_[i];
    if (c.peer == 0) {
      out_.to_members(Channel::kRekey, false, c.bytes, 0, c.skip, true);
    } else if (const MemberPeer* p = membership_.peer(c.peer); p && p->stage == MemberPeer::Stage::kMember) {
      out_.to_peer(c.peer, Channel::kRekey, false, c.bytes, false, true);  // not to a peer gone since
    }
    ++stats_.rekey_copies_sent;
    --c.left;
  }
  std::erase_if(copies_, [](const Copy& c) { return c.left == 0; });
}

void RekeyDispatch::resync(MemberPeer& p, PeerId peer, uint64_t now_ns) {
  if (p.stage != MemberPeer::Stage::kMember) {
    ++stats_.malformed_control;
    return;
  }
  if (p.resynced && now_ns - p.last_resync_ns < config_.resync_min_interval_ns) {
    ++stats_.resyncs_rate_limited;
    return;
  }
  auto r = encode_resync(tree_, p.member);
  if (!r) return;
  p.resynced = true;
  p.last_resync_ns = now_ns;
  ++stats_.resyncs_sent;
  send_rekey_bytes(peer, std::move(r).value());
}

}  // namespace netkey::detail
