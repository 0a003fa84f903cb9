// Internal: the Root's Membership: who may join (the ACL and the List Controller's
// updates), who is in (members by id and by subject, member ids), and which transport
// connection is whose (peers <-> members, connected addresses).
//
// A connection enters here when its handshake finishes (Admission hands it over) and
// leaves when the transport loses it or its member leaves. A peer is in the member set
// (Root::member_peers(), Transmit::member_change) from its Welcome until it leaves:
// promote() and erase_peer() queue the kAdded and kRemoved changes, and are the only
// places the set changes.
//
// Membership decides nothing about batches or keys: RekeyDispatch does, and Root::Impl
// coordinates the two (a leave is Membership's record and RekeyDispatch's batch).
#ifndef NETKEY_SRC_GROUP_MEMBERSHIP_H_
#define NETKEY_SRC_GROUP_MEMBERSHIP_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "netkey/charter.h"
#include "netkey/root.h"
#include "src/group/control_auth.h"
#include "src/group/root_output.h"

namespace netkey::detail {

// A connection that finished its handshake: joining (until its Welcome) or a member.
struct MemberPeer {
  enum class Stage { kJoining, kMember };
  Stage stage = Stage::kJoining;
  MemberId member = 0;
  ControlChannel control;
  uint64_t last_resync_ns = 0;
  bool resynced = false;
};

// A member: in the tree, or a pending join.
struct MemberRec {
  PeerId peer = 0;  // 0 once the transport lost it
  std::string subject;
  bool disconnect_on_leave = false;
};

class Membership {
 public:
  // `config`, `charter`, `stats` and `out` must outlive the Membership.
  Membership(const RootConfig& config, const CharterFields& charter, uint64_t group_id, RootStats& stats,
             RootOutput& out);

  // --- the ACL ---
  bool acl_allows(const std::string& subject) const { return acl_.count(subject) != 0; }
  void acl_add(const std::string& subject) { acl_.insert(subject); }
  // Verifies a List Controller's AclUpdate and applies it to the ACL (adds, then
  // removes). The removed subjects, in the update's order: the caller ends their
  // membership. Errors as Root::submit_acl_update; the ACL is unchanged on an error.
  Result<std::vector<std::string>> apply_acl_update(std::span<const uint8_t> bytes, uint64_t now_ns);

  // --- member ids: reused after a leave, never above kMaxMemberCap ---
  std::optional<MemberId> allocate_id();
  void release_id(MemberId id) { free_ids_.push_back(id); }

  // --- connections bound by the transport ---
  // True while `address` has a live connection (bound or member): raw datagrams from it
  // are dropped, so a spoofed pre-connection message never reaches a member's state.
  bool address_connected(std::string_view address) const { return connected_.count(std::string(address)) != 0; }
  // True when `peer` is bound already or finished its handshake.
  bool knows_peer(PeerId peer) const { return peers_.count(peer) != 0 || connected_address_.count(peer) != 0; }
  void bind_connection(PeerId peer, std::string_view address);
  void forget_connection(PeerId peer);

  // --- peers that finished their handshake ---
  MemberPeer* peer(PeerId peer);
  void add_joining(PeerId peer, MemberId id, ControlChannel control);
  // Joining -> member: queues MemberChange::kAdded with the member's `team`.
  void promote(PeerId peer, TeamId team = kNoTeam);
  // Forgets `peer`; queues MemberChange::kRemoved if it was a member.
  void erase_peer(PeerId peer);

  // --- members ---
  MemberRec* member(MemberId id);
  void add_member(MemberId id, PeerId peer, std::string subject);
  std::optional<MemberId> member_of(std::string_view subject) const;
  bool has_subject(const std::string& subject) const { return by_subject_.count(subject) != 0; }
  // Ends `id`'s record: its subject, its id (back to the free list) and its peer (closed
  // first if disconnect_on_leave). The record, or nullopt when there is none.
  std::optional<MemberRec> remove_member(MemberId id);
  const std::unordered_map<MemberId, MemberRec>& members() const { return members_; }
  std::vector<PeerId> member_peers() const;

 private:
  const RootConfig& config_;
  const CharterFields& charter_;
  uint64_t group_id_;
  RootStats& stats_;
  RootOutput& out_;

  std::unordered_set<std::string> acl_;
  uint64_t acl_seq_ = 0;
  std::unordered_map<PeerId, MemberPeer> peers_;
  std::unordered_map<PeerId, std::string> connected_address_;
  std::unordered_set<std::string> connected_;
  std::unordered_map<MemberId, MemberRec> members_;
  std::unordered_map<std::string, MemberId> by_subject_;
  std::vector<MemberId> free_ids_;
  MemberId next_id_ = 1;
};

}  // namespace netkey::detail

#endif  // NETKEY_SRC_GROUP_MEMBERSHIP_H_
