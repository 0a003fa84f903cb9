// Internal: the Root's RekeyDispatch: the key tree, the batch, and what reaches members
// after a commit.
//
//   batching   joins and leaves collect in a BatchPlanner. A batch is due when the
//              charter's window has passed since its first request (deadline()), when
//              it holds the charter's max_batch requests (full()), or at once for a
//              security removal (the caller commits).
//   encoding   RootConfig::rekey_encoding: one signed Whole to every member who stays
//              (To::kAllMembers, skipping the batch's joiners), or one sealed Slice per
//              member; kAuto picks the Whole while its estimate is at most
//              auto_whole_max_bytes and at most one member's Slice (the fewer bytes).
//   Welcomes   each joiner of the batch: promoted into the member set
//              (MemberChange::kAdded), then its Welcome, then a kJoined event.
//   Resyncs    a member that missed a rekey asks; at most one per resync_min_interval_ns.
//
// A commit is two steps so that the coordinator can end the leavers' membership between
// them: commit_batch() changes the tree, send_rekey() sends what the plan says.
#ifndef NETKEY_SRC_GROUP_REKEY_DISPATCH_H_
#define NETKEY_SRC_GROUP_REKEY_DISPATCH_H_

#include <cstdint>
#include <optional>

#include "netkey/batch_planner.h"
#include "netkey/charter.h"
#include "netkey/keytree.h"
#include "netkey/random.h"
#include "netkey/root.h"
#include "netkey/sign.h"
#include "src/group/membership.h"
#include "src/group/root_output.h"

namespace netkey::detail {

// A member's team in `tree`, or kNoTeam (no teams, or not in the tree).
TeamId team_id_of(const KeyTree& tree, MemberId id);

class RekeyDispatch {
 public:
  // Every reference must outlive the RekeyDispatch.
  RekeyDispatch(const RootConfig& config, const CharterFields& charter, uint64_t group_id, const SigningKey& key,
                Rng& rng, RootStats& stats, Membership& membership, RootOutput& out);

  const KeyTree& tree() const { return tree_; }
  const BatchPlanner& planner() const { return planner_; }

  // --- batching ---
  // Queues the join of an admitted member into `team` (0 without teams; the caller
  // checked the room and the team).
  void join(MemberId id, SymmetricKey member_secret, uint8_t team, uint64_t now_ns);
  // Queues a team switch of a member in the tree (BatchPlanner::switch_team's errors).
  Status switch_team(MemberId id, uint8_t team, uint64_t now_ns);
  bool is_pending_join(MemberId id) const { return planner_.is_pending_join(id); }
  void cancel_join(MemberId id) { (void)planner_.leave(id); }
  // Queues the leave of a member in the tree; false when there is nothing to queue.
  bool leave(MemberId id, uint64_t now_ns);
  bool full() const { return planner_.size() >= charter_.max_batch; }
  // When the batch window closes, if a batch is open.
  std::optional<uint64_t> deadline() const;

  // --- commit ---
  // Closes the batch and commits it to the tree; nullopt when it was empty.
  std::optional<RekeyPlan> commit_batch();
  // The plan's rekey to the members who stay (Whole or Slices), then the joiners'
  // Welcomes and kJoined events. Call it once the leavers' membership has ended.
  void send_rekey(const RekeyPlan& plan);

  // A member's ResyncRequest: its current path, rate limited per member.
  void resync(MemberPeer& p, PeerId peer, uint64_t now_ns);

  // Redundant delivery (issue 13): RootConfig::rekey_copies unreliable copies of every
  // rekey to the members who stay (the Whole, or each one's Slice). The first goes out
  // right after the originals (send_rekey; a transport puts a run of redundant
  // transmits in a datagram of its own, so its loss is not the original's); the others
  // just before each of the next broadcasts (this call, from 0), in the snapshot's flush.
  // A member who lost the reliable original then applies a copy instead of waiting for
  // a retransmission. Each rekey is copied exactly rekey_copies times: nothing a member
  // sends makes the Root send more, and a copy the member already applied is a stale
  // rekey to it (dropped and counted, keys unchanged). Welcomes and Resyncs are not
  // copied. Sends one copy of each pending rekey from index `from` on.
  void send_copies(size_t from = 0);

 private:
  bool use_slices(const RekeyPlan& plan) const;
  static size_t whole_estimate(const RekeyPlan& plan);
  size_t slice_estimate(const RekeyPlan& plan) const;
  void send_slices(const RekeyPlan& plan);
  void send_whole(const RekeyPlan& plan);
  void send_welcomes(const RekeyPlan& plan);
  void send_rekey_bytes(PeerId peer, std::vector<uint8_t> bytes, bool copy = false);

  struct Copy {
    PeerId peer = 0;  // 0: to the member set (a Whole), but `skip`
    Bytes bytes;
    std::shared_ptr<const std::vector<PeerId>> skip;
    uint32_t left = 0;  // copies still to send
  };
  std::vector<Copy> copies_;

  const RootConfig& config_;
  const CharterFields& charter_;
  const SigningKey& key_;
  Rng& rng_;
  RootStats& stats_;
  Membership& membership_;
  RootOutput& out_;
  KeyTree tree_;
  BatchPlanner planner_;
  std::optional<uint64_t> batch_started_;
};

}  // namespace netkey::detail

#endif  // NETKEY_SRC_GROUP_REKEY_DISPATCH_H_
