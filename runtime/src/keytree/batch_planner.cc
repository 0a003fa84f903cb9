#include "netkey/batch_planner.h"

#include <string>

namespace netkey {

Status BatchPlanner::check_join(MemberId id, const std::unordered_set<MemberId>& also) const {
  if (join_index_.count(id) || also.count(id)) {
    return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is already pending join");
  }
  if (tree_.contains(id) && !leave_set_.count(id)) {
    return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is already in the group");
  }
  return Status::ok();
}

Status BatchPlanner::check_leave(MemberId id, const std::unordered_set<MemberId>& also) const {
  if (also.count(id)) {
    return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is listed twice");
  }
  if (join_index_.count(id)) return Status::ok();  // cancels the pending join
  if (leave_set_.count(id)) {
    return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is already pending leave");
  }
  if (!tree_.contains(id) && !join_index_.count(id)) {
    return Status(Errc::kInvalidArgument, "member " + std::to_string(id) + " is not in the group");
  }
  return Status::ok();
}

void BatchPlanner::drop_join(MemberId id) {
  size_t i = join_index_.at(id);
  join_index_.erase(id);
  joins_.erase(joins_.begin() + static_cast<std::ptrdiff_t>(i));
  for (auto& [other, idx] : join_index_) {
    if (idx > i) --idx;
  }
}

Status BatchPlanner::join(JoinRequest request) {
  NETKEY_RETURN_IF_ERROR(check_join(request.id, {}));
  join_index_.emplace(request.id, joins_.size());
  joins_.push_back(std::move(request));
  return Status::ok();
}

Status BatchPlanner::join_bulk(std::vector<JoinRequest> requests) {
  std::unordered_set<MemberId> seen;
  for (const JoinRequest& r : requests) {
    NETKEY_RETURN_IF_ERROR(check_join(r.id, seen));
    seen.insert(r.id);
  }
  for (JoinRequest& r : requests) {
    join_index_.emplace(r.id, joins_.size());
    joins_.push_back(std::move(r));
  }
  return Status::ok();
}

Status BatchPlanner::leave(MemberId id) { return leave_bulk(std::span<const MemberId>(&id, 1)); }

Status BatchPlanner::leave_bulk(std::span<const MemberId> ids) {
  std::unordered_set<MemberId> seen;
  for (MemberId id : ids) {
    NETKEY_RETURN_IF_ERROR(check_leave(id, seen));
    seen.insert(id);
  }
  for (MemberId id : ids) {
    if (join_index_.count(id)) {
      // A pending joiner leaving: it never enters the tree. If it is also a member
      // rejoining (leave then join), the earlier leave stays queued.
      drop_join(id);
      continue;
    }
    leaves_.push_back(id);
    leave_set_.insert(id);
    switches_.erase(id);
  }
  return Status::ok();
}

Status BatchPlanner::switch_team(MemberId id, uint8_t team) {
  const auto bad = [&](const std::string& why) {
    return Status(Errc::kInvalidArgument, "team switch of member " + std::to_string(id) + ": " + why);
  };
  if (tree_.policy().teams == 0) return bad("the group has no teams");
  if (team >= tree_.policy().teams) return bad("team " + std::to_string(team) + " does not exist");
  const auto current = tree_.team_of(id);
  if (!current || leave_set_.count(id)) return bad("not a member staying in the group");
  if (*current == team) {
    if (switches_.erase(id) == 0) return bad("already in team " + std::to_string(team));
    return Status::ok();  // back to where it is: the pending switch is cancelled
  }
  switches_[id] = team;
  return Status::ok();
}

Batch BatchPlanner::take() {
  Batch b;
  b.joins = std::move(joins_);
  b.leaves = std::move(leaves_);
  for (const auto& [id, team] : switches_) b.switches.push_back({id, team});
  switches_.clear();
  joins_.clear();
  leaves_.clear();
  join_index_.clear();
  leave_set_.clear();
  return b;
}

}  // namespace netkey
