// Internal: the Root's two outbound queues, shared by its parts (Admission through
// AdmissionHost, Membership, RekeyDispatch, Root::Impl). Everything the transport must
// do goes through here, in order: datagrams to addresses, messages to peers, fan-outs to
// the member set, disconnects, and the member-set changes themselves
// (Transmit::member_change). Everything the game must hear is a RootEvent.
#ifndef NETKEY_SRC_GROUP_ROOT_OUTPUT_H_
#define NETKEY_SRC_GROUP_ROOT_OUTPUT_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netkey/group.h"
#include "netkey/root.h"
#include "src/group/messages.h"
#include "src/util/queue.h"

namespace netkey::detail {

class RootOutput {
 public:
  void to_peer(PeerId peer, Channel ch, bool reliable, Bytes bytes, bool then_disconnect = false,
               bool redundant = false) {
    Transmit t;
    t.redundant = redundant;
    t.to = Transmit::To::kPeer;
    t.peer = peer;
    t.channel = ch;
    t.reliable = reliable;
    t.bytes = std::move(bytes);
    t.then_disconnect = then_disconnect;
    out_.push_back(std::move(t));
  }
  // To every peer in the member set at this point of the stream, but `except` and `skip`
  // (sorted).
  void to_members(Channel ch, bool reliable, Bytes bytes, PeerId except = 0,
                  std::shared_ptr<const std::vector<PeerId>> skip = nullptr, bool redundant = false) {
    Transmit t;
    t.redundant = redundant;
    t.to = Transmit::To::kAllMembers;
    t.except = except;
    t.skip = std::move(skip);
    t.channel = ch;
    t.reliable = reliable;
    t.bytes = std::move(bytes);
    out_.push_back(std::move(t));
  }
  // A traffic packet with its delivery class: kReliableOrdered travels reliably on
  // Channel::kEvents, the unreliable classes on `unreliable_channel` (kState for the
  // Root's own packets, kMember for relayed member data). `to` is kPeer (`peer`),
  // kAllMembers (but `except`) or kTeam (`team`).
  void traffic(Transmit::To to, Channel unreliable_channel, Delivery d, Bytes bytes, PeerId peer = 0,
               PeerId except = 0, TeamId team = kNoTeam) {
    Transmit t;
    t.to = to;
    t.peer = peer;
    t.except = except;
    t.team = team;
    t.delivery = d;
    t.reliable = d == Delivery::kReliableOrdered;
    t.channel = t.reliable ? Channel::kEvents : unreliable_channel;
    t.bytes = std::move(bytes);
    out_.push_back(std::move(t));
  }
  // A raw pre-connection reply (cookie, response, refusal).
  void to_address(std::string_view address, Bytes bytes) {
    Transmit t;
    t.to = Transmit::To::kAddress;
    t.address = std::string(address);
    t.channel = Channel::kControl;
    t.reliable = false;
    t.bytes = std::move(bytes);
    out_.push_back(std::move(t));
  }
  // Asks the transport to close `peer`'s connection (nothing to send first).
  void close(PeerId peer) { to_peer(peer, Channel::kControl, true, empty(), true); }
  // `peer` joins or leaves the member set, or changes team (Transmit::member_change);
  // `team`: its team for kAdded and kTeamChanged.
  void member_change(PeerId peer, Transmit::MemberChange change, TeamId team = kNoTeam) {
    Transmit t;
    t.to = Transmit::To::kPeer;
    t.peer = peer;
    t.bytes = empty();
    t.member_change = change;
    t.team = team;
    out_.push_back(std::move(t));
  }
  void event(RootEvent e) { events_.push_back(std::move(e)); }

  std::optional<Transmit> poll_transmit() { return pop_front(out_); }
  std::optional<RootEvent> poll_event() { return pop_front(events_); }

 private:
  static Bytes empty() { return std::make_shared<const std::vector<uint8_t>>(); }

  std::deque<Transmit> out_;
  std::deque<RootEvent> events_;
};

}  // namespace netkey::detail

#endif  // NETKEY_SRC_GROUP_ROOT_OUTPUT_H_
