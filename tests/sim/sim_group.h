// Test support: one Root, one List Controller and N participants over a SimNetwork,
// driven by explicit simulated time. Never opens a socket.
#ifndef NETKEY_TESTS_SIM_SIM_GROUP_H_
#define NETKEY_TESTS_SIM_SIM_GROUP_H_

#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "netkey/list_controller.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "sim/identities.h"
#include "sim/sim_network.h"

namespace netkey::testing {

inline constexpr uint32_t kLcNode = 0x7fffffff;
inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kSec = 1'000'000'000;

struct SimGroupOptions {
  uint64_t seed = 1;
  size_t subjects = 100;                  // identities p1..pN, all on the charter's ACL
  CharterFields charter = Identities::default_fields(0x5151);
  LinkProfile link;
  RootConfig::RekeyEncoding encoding = RootConfig::RekeyEncoding::kAuto;
  uint64_t disconnect_detect_ns = 500 * kMs;  // the transport notices a vanished peer
  RootConfig root_overrides;              // limits (cookie, rate) copied from here
  // The positive control of the member-set oracle (SeamCounters): the harness ignores
  // the first MemberChange::kRemoved it sees, as a transport with that bug would.
  bool ignore_first_member_removal = false;
};

// The member-set oracle. The sim delivers kAllMembers transmits to root().member_peers()
// when it drains the Root; beside that it keeps a second set from the Root's
// Transmit::member_change stream alone (what ServerHost fans out to) and compares them.
struct SeamCounters {
  uint64_t drains_checked = 0;   // drains after which both sets were compared
  uint64_t set_mismatches = 0;   // drains after which they differed
  uint64_t fanouts_checked = 0;  // kAllMembers transmits: recipients compared
  uint64_t fanout_mismatches = 0;
  uint64_t changes = 0;          // member_change transmits seen
};

struct NodeCounters {
  uint64_t messages = 0;
  uint64_t welcomed = 0;
  uint64_t rekeyed = 0;
  uint64_t resyncs = 0;
  RefusalReason last_refusal = RefusalReason::kNone;
  bool refused = false;
};

class SimGroup {
 public:
  explicit SimGroup(SimGroupOptions options);

  Identities& ids() { return ids_; }
  Root& root() { return *root_; }
  SimNetwork& net() { return net_; }
  ListController& lc() { return *lc_; }
  uint64_t now() const { return now_; }
  const std::vector<uint8_t>& charter_bytes() const { return charter_; }
  static std::string subject(size_t i) { return "p" + std::to_string(i); }

  // Creates a participant for `id` and starts it now; returns its node id.
  uint32_t add(const Identity& id, const std::vector<uint8_t>* charter = nullptr);
  uint32_t add_subject(size_t i) { return add(ids_.get(subject(i))); }
  Participant& participant(uint32_t node) { return *nodes_.at(node); }
  bool alive(uint32_t node) const { return nodes_.count(node) && !closed_.count(node) && !crashed_.count(node); }
  const NodeCounters& counters(uint32_t node) const { return counters_.at(node); }

  // The node vanishes (crash, network loss); the Root learns after the detect delay.
  void disconnect(uint32_t node);
  // Sends an ACL update from the List Controller.
  void lc_send(const std::shared_ptr<const std::vector<uint8_t>>& bytes);
  void at(uint64_t t, std::function<void()> fn) { actions_.emplace(t, std::move(fn)); }

  // After calling the Root or a participant directly (broadcast, send, leave), push
  // what it queued onto the network.
  void pump_root_transmits() { pump_root(); }
  // Sees every message the Root sends, once per Transmit (a broadcast once, not per
  // member), as the ENet server's tap does: for oracles that watch the wire.
  void set_root_tap(std::function<void(Channel, std::span<const uint8_t>)> tap) { root_tap_ = std::move(tap); }
  // Sees every participant event (before the harness counts it), with its node.
  void set_event_tap(std::function<void(uint32_t, const ParticipantEvent&)> tap) { event_tap_ = std::move(tap); }
  void pump_node_transmits(uint32_t node) { pump(node); }

  void run_until(uint64_t t);
  void run_for(uint64_t dt) { run_until(now_ + dt); }
  // Runs until quiet: no batch pending, no Root deadline (handshakes in flight), no
  // participant mid-handshake, nothing on the wire. Returns false if `max_ns` passed first.
  bool run_until_quiet(uint64_t max_ns);
  bool quiet() const;

  // Nodes that are alive and welcomed or in the group.
  std::vector<uint32_t> members() const;
  // How many current members do not hold exactly the Root's epoch and net key.
  size_t disagreeing() const;
  const std::vector<RootEvent>& root_events() const { return root_events_; }
  const SeamCounters& seam() const { return seam_; }

 private:
  void deliver(const Delivery& d);
  void pump_root();
  void follow_member_change(const Transmit& t);
  void check_fanout(const Transmit& t);
  void pump(uint32_t node);
  uint64_t next_due() const;

  SimGroupOptions opts_;
  Identities ids_;
  std::vector<uint8_t> charter_;
  SimNetwork net_;
  std::unique_ptr<Root> root_;
  std::unique_ptr<ListController> lc_;
  std::map<uint32_t, std::unique_ptr<Participant>> nodes_;
  std::map<uint32_t, NodeCounters> counters_;
  std::set<uint32_t> closed_;   // the Root closed it: no new sends; in-flight still arrive
  std::set<uint32_t> crashed_;  // vanished: receives and sends nothing
  std::set<uint32_t> connected_;  // nodes whose connection the Root bound (peer_connected)
  std::priority_queue<std::pair<uint64_t, uint32_t>, std::vector<std::pair<uint64_t, uint32_t>>, std::greater<>> timers_;
  std::multimap<uint64_t, std::function<void()>> actions_;
  std::vector<RootEvent> root_events_;
  std::function<void(Channel, std::span<const uint8_t>)> root_tap_;
  std::function<void(uint32_t, const ParticipantEvent&)> event_tap_;
  std::set<PeerId> stream_members_;  // from Transmit::member_change only
  std::map<PeerId, TeamId> stream_team_;  // the same stream's teams (kAdded, kTeamChanged)
  bool removal_ignored_ = false;
  SeamCounters seam_;
  uint32_t next_node_ = 1;
  uint64_t now_ = 0;
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SIM_SIM_GROUP_H_
