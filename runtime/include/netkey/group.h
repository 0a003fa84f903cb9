// netkey/group.h: types shared by the Root, Participant and List Controller state
// machines (netkey/root.h, netkey/participant.h, netkey/list_controller.h).
//
// The state machines are sans-I/O: bytes and a monotonic `now_ns` go in through
// handle_*() and handle_timeout(); bytes to send come out of poll_transmit(), things
// that happened out of poll_event(), and the next deadline out of poll_timeout().
// The caller (the ENet plugin, or the test simulator) owns sockets, clocks and threads.
#ifndef NETKEY_GROUP_H_
#define NETKEY_GROUP_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netkey/traffic.h"

namespace netkey {

// The transport's handle for one remote peer (an ENet peer, a simulated link).
using PeerId = uint32_t;

// Channels (ENet channel ids). Control and rekey are reliable and ordered; state and
// member traffic carry the unreliable delivery classes (sequenced, or unsequenced for
// Delivery::kUnreliable); events carry every reliable-ordered traffic packet (any type,
// both directions: Delivery::kReliableOrdered), so a retransmitted event never stalls
// state or rekeys.
enum class Channel : uint8_t { kControl = 0, kRekey = 1, kState = 2, kMember = 3, kEvents = 4 };
inline constexpr uint8_t kChannelCount = 5;

// "No team" in Transmit::team, RootEvent::team, ParticipantEvent::team.
inline constexpr TeamId kNoTeam = 0xffff;

// Why the Root refused a participant. Each refusal reaches the participant and is
// counted by the Root.
enum class RefusalReason : uint8_t {
  kNone = 0,
  kNotOnAcl = 1,            // the subject is not on the ACL (or was removed)
  kClearanceTooLow = 2,     // certificate clearance < charter classification
  kCertificateExpired = 3,  // expired or not yet valid
  kCertificateInvalid = 4,  // malformed, bad signature, or wrong role
  kWrongCa = 5,             // issued by another CA
  kCharterMismatch = 6,     // the participant holds another charter (or session)
  kGroupFull = 7,           // the charter's member cap is reached
  kRateLimited = 8,         // too many handshakes in flight, or from this address
  kBadCookie = 9,           // missing, forged or stale cookie
  kHandshakeFailed = 10,    // bad transcript signature or weak X25519 key
  kRemoved = 11,            // the List Controller removed this member
  kCount
};
std::string_view refusal_reason_name(RefusalReason reason);

// One datagram to send, or (member_change) a change to the Root's member set.
struct Transmit {
  enum class To : uint8_t {
    kPeer,        // `peer`
    kAllMembers,  // every member peer (see member_change) for which !excludes(peer)
    kAddress,     // `address`: a raw datagram before any connection (Admission's replies)
    kTeam,        // every member peer in team `team` (see member_change) for which
                  // !excludes(peer): a team broadcast, sealed once
  };
  To to = To::kPeer;
  PeerId peer = 0;
  PeerId except = 0;
  std::string address;  // kAddress only
  // kAllMembers: further peers it is not for, sorted. A batch's Whole skips the batch's
  // joiners: they are member peers when it is sent, but their Welcome carries their keys.
  std::shared_ptr<const std::vector<PeerId>> skip;
  bool excludes(PeerId p) const {
    return p == except || (skip != nullptr && std::binary_search(skip->begin(), skip->end(), p));
  }
  Channel channel = Channel::kControl;
  bool reliable = true;
  // Traffic (channels kState, kMember, kEvents): the delivery class. kReliableOrdered
  // travels reliably on kEvents (reliable = true); kUnreliableSequenced and kUnreliable
  // on kState (Root -> members) or kMember (member -> Root, relayed member data),
  // kUnreliable unsequenced (ENet: ENET_PACKET_FLAG_UNSEQUENCED). Control and rekey
  // transmits leave it at kReliableOrdered.
  Delivery delivery = Delivery::kReliableOrdered;
  // kTeam: the team; member_change kAdded / kTeamChanged: the peer's team (kNoTeam when
  // the charter has no teams).
  TeamId team = kNoTeam;
  // Shared so that a broadcast is one buffer, whatever the number of peers.
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  // Set on a transmit that also asks the transport to disconnect `peer` once sent.
  bool then_disconnect = false;
  // An unreliable redundant copy of a rekey sent before (RootConfig::rekey_copies). A
  // transport may leave it out for a connection that has shown no loss (ServerHost sends
  // it only to peers that needed a retransmission lately); sending it is always safe.
  bool redundant = false;

  // The member set, in stream order. Set only on a To::kPeer transmit with empty bytes
  // (never nullptr) on Channel::kControl, which carries nothing else:
  //   kAdded    `peer` holds the current epoch from here on (its Welcome follows)
  //   kRemoved  it no longer does: it left, was removed, or its connection is gone
  //             (a then_disconnect for it may follow)
  //   kTeamChanged  the member `peer` is in `team` from here on (a switch committed;
  //             the rekey that gives it the new team's key follows)
  // kAdded also carries the peer's team. A kTeam transmit is for the member peers whose
  // team, as of its place in the stream, is `team`.
  // A kAllMembers transmit is for the peers added and not removed before it in the
  // stream. A transport that fans kAllMembers out keeps its own member set from these
  // and never asks the Root (ServerHost does). Root::member_peers() is the same set
  // after everything queued so far; a transport that drains the Root after every call
  // into it may use either, as the Root queues no kAllMembers transmit whose recipients
  // would differ (a Whole's `skip` names the batch's joiners, added after it). A
  // transport that uses member_peers() skips these transmits: no bytes, no disconnect.
  enum class MemberChange : uint8_t { kNone, kAdded, kRemoved, kTeamChanged };
  MemberChange member_change = MemberChange::kNone;
};

}  // namespace netkey

#endif  // NETKEY_GROUP_H_
