// netkey/batch_planner.h: collects joins and leaves between commits.
//
// The Root feeds single and bulk joins and leaves as they arrive; when the batch window
// elapses, the batch reaches its maximum size, or a security removal needs it at once,
// the caller takes the batch and commits it to the KeyTree.
//
// Validation happens here, against the tree the planner was built for, so that a bad
// request is refused when it is made rather than at commit time:
//   - a join of a current member (not pending leave) or of an id already pending join;
//   - a leave of an id that is neither a member nor pending join.
// A leave of a pending joiner cancels the join (the joiner never enters the tree).
// Team switches (trees with teams) are kept one per member, the last one asked; a leave
// drops the member's pending switch. Bulk calls are all or nothing.
#ifndef NETKEY_BATCH_PLANNER_H_
#define NETKEY_BATCH_PLANNER_H_

#include <map>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "netkey/keytree.h"
#include "netkey/status.h"

namespace netkey {

class BatchPlanner {
 public:
  // `tree` must outlive the planner.
  explicit BatchPlanner(const KeyTree& tree) : tree_(tree) {}

  // Errors: kInvalidArgument (see above). Nothing is queued on error.
  Status join(JoinRequest request);
  Status join_bulk(std::vector<JoinRequest> requests);
  Status leave(MemberId id);
  Status leave_bulk(std::span<const MemberId> ids);
  // Queues a move of member `id` to `team`; a switch back to its current team cancels
  // its pending one. Errors (kInvalidArgument, nothing queued): the tree has no teams,
  // `team` is not below policy.teams, `id` is not a member (a pending joiner names its
  // team in its JoinRequest) or is pending leave, or `id` is already in `team` with no
  // switch pending.
  Status switch_team(MemberId id, uint8_t team);

  size_t size() const { return joins_.size() + leaves_.size() + switches_.size(); }
  bool empty() const { return size() == 0; }
  size_t pending_joins() const { return joins_.size(); }
  size_t pending_leaves() const { return leaves_.size(); }
  bool is_pending_join(MemberId id) const { return join_index_.count(id) != 0; }
  size_t pending_switches() const { return switches_.size(); }

  // Moves the queued requests out (joins in arrival order, switches by member id) and
  // resets the planner.
  Batch take();

 private:
  Status check_join(MemberId id, const std::unordered_set<MemberId>& also_joining) const;
  Status check_leave(MemberId id, const std::unordered_set<MemberId>& also_leaving) const;
  void drop_join(MemberId id);

  const KeyTree& tree_;
  std::vector<JoinRequest> joins_;
  std::unordered_map<MemberId, size_t> join_index_;  // id -> index in joins_
  std::vector<MemberId> leaves_;
  std::unordered_set<MemberId> leave_set_;
  std::map<MemberId, uint8_t> switches_;  // member -> new team
};

}  // namespace netkey

#endif  // NETKEY_BATCH_PLANNER_H_
