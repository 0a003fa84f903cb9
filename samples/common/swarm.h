// A swarm of ENet bots for the arena demo and the load-bot tool: it connects bots,
// drives churn (single joins and leaves, bulk waves), sends player input, and measures
// from the bots' side.
#ifndef NETKEY_SAMPLES_COMMON_SWARM_H_
#define NETKEY_SAMPLES_COMMON_SWARM_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/insecure.h"
#include "common/pki.h"
#include "netkey/enet.h"

namespace netkey::demo {

struct SwarmOptions {
  size_t bots = 200;             // bots kept connected
  double churn_per_s = 40;       // joins + leaves per second (half each)
  double bulk_every_s = 10;      // a bulk wave: bulk_fraction leave and join at once
  double bulk_fraction = 0.1;
  double input_hz = 10;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint64_t seed = 1;
  size_t first_subject = 1;      // subjects bot<first>, bot<first+1>, ...
  size_t last_subject = 10000;
  // Plain ENet bots (common/insecure.h) against an InsecureServer: no handshake, no
  // keys, no rekeys; the same churn, input and measurements where they apply.
  bool insecure = false;
  // Issue 12: each bot also sends a chat line ('C', then text) as a reliable event about
  // this often (0: never); the arena relays it to the sender's team.
  double chat_every_s = 0;
};

struct SwarmStats {
  std::vector<double> leave_latency_ms;  // leave requested -> every remaining bot past that epoch
  uint64_t latency_timeouts = 0;         // not converged within 10 s
  std::map<std::string, uint64_t> undecryptable;  // drop reasons other than epoch transitions
  std::map<std::string, uint64_t> transitions;    // unknown/expired epoch, buffer full
  uint64_t rekey_bytes = 0, state_bytes = 0;      // received by bots
  uint64_t messages = 0, refusals = 0, joins = 0, leaves = 0, kicks_seen = 0;
  uint64_t dropped_connections = 0;               // bots whose connection timed out
  double bot_seconds = 0;                         // integral of connected bots over time
  // What players feel. Root broadcasts start with the arena's le32 tick, so each bot
  // knows which snapshots it should have had: every tick from its first to its last.
  std::vector<double> stall_ms;     // per delayed snapshot: time in the next-epoch buffer
  // Per member per rekey (the issue-13 target's unit): for each bot and each epoch after
  // its first, how long the first snapshot it opened under that epoch waited (0 when it
  // did not wait). stall_ms holds only the snapshots that waited.
  std::vector<double> stall_per_rekey_ms;
  uint64_t state_expected = 0;      // snapshots expected, summed over bots
  uint64_t state_received = 0;      // snapshots opened (delayed or not)
  uint64_t state_delayed = 0;       // opened after waiting for their epoch key
  uint64_t state_lost_rekey = 0;    // dropped for an epoch reason (sum of `transitions`)
  uint64_t inputs_sent = 0;
  // Issue 12, what bots received besides snapshots: team broadcasts (type 4), private
  // messages (type 5), and reliable events (Delivery::kReliableOrdered, any type).
  // private_not_mine: a private message whose payload names another member id (the
  // arena's 'P' le32(member) ...): must stay 0.
  uint64_t team_messages = 0, private_messages = 0, private_not_mine = 0, events = 0, chat_sent = 0;
  // (state_delayed + state_lost_rekey) / state_expected; 0 when nothing was expected.
  double state_delayed_fraction() const;
};

class Swarm {
 public:
  // Called once per bot when it goes (leave, vanish, kick, lost connection, refusal
  // after its handshake), with everything it holds: the adversary's loot.
  using OnDeparture = std::function<void(MemberId, const Participant&)>;

  Swarm(SwarmOptions opts, const Identities* ids, std::vector<uint8_t> charter, Ed25519PublicKey ca, uint64_t unix_zero);
  void set_on_departure(OnDeparture fn) { on_departure_ = std::move(fn); }
  void set_churn(bool on) { churn_ = on; }

  // Services every bot once (ENet timeout 0), runs churn and input, updates metrics.
  void tick(uint64_t now_ns);

  size_t alive() const;        // bots not gone
  size_t in_group() const;     // welcomed or in group
  uint64_t max_epoch() const;
  uint64_t min_epoch() const;  // over bots in the group
  // True when every bot in the group holds `epoch` and the key `net`.
  bool converged(uint64_t epoch, const SymmetricKey* net) const;
  SwarmStats& stats() {
    account();
    return stats_;
  }
  // A random bot in the group (for kicks); empty when none. It is handed over (the
  // departure callback) as it is about to be removed.
  std::optional<std::string> random_member_subject();
  // A random bot in the group, not handed over (a team switch); empty when none.
  std::optional<std::string> pick_member_subject();
  // Every secure bot in the group (the messaging adversary's insiders).
  void for_each_member(const std::function<void(const Participant&)>& fn) const;

 private:
  struct Bot {
    std::unique_ptr<enet::ClientHost> host;  // secure
    std::unique_ptr<InsecureClient> plain;   // --insecure
    std::string subject;
    bool gone = false;
    bool was_connected = false;
    uint64_t next_input = 0;
    uint64_t removed_at_epoch_request = 0;
    bool handed_over = false;  // on_departure_ was called
    bool ticked = false;       // first_tick/last_tick are set
    uint32_t first_tick = 0, last_tick = 0;
    uint64_t snapshot_epoch = 0;  // the epoch of the last snapshot opened (0: none yet)
    // The connection, whichever kind it is.
    bool in_group() const { return plain ? plain->connected() : host->participant().has_net_key(); }
    uint64_t epoch() const { return plain ? 0 : host->participant().epoch(); }
    bool connected() const { return plain ? plain->connected() : host->connected(); }
    uint64_t expected() const { return ticked ? uint64_t{last_tick} - first_tick + 1 : 0; }
  };
  struct PendingLeave {
    uint64_t at_ns;
    uint64_t epoch_before;
  };
  void add_bot(uint64_t now);
  void remove_bot(size_t i, bool goodbye);
  void collect(Bot& b);
  void on_snapshot(Bot& b, const ParticipantEvent& e);
  void on_message(Bot& b, const ParticipantEvent& e);
  void hand_over(Bot& b);
  void tally(const Bot& b, SwarmStats& into) const;
  // Pieces of tick().
  void start(uint64_t now);
  void service_bots(uint64_t now);
  void send_input(Bot& b, uint64_t now);
  void churn(uint64_t now, double dt);
  void leave_latency(uint64_t now);
  void retire_gone();

  SwarmOptions opts_;
  const Identities* ids_;
  std::vector<uint8_t> charter_;
  Ed25519PublicKey ca_;
  uint64_t unix_zero_;
  DeterministicRng rng_;
  std::vector<Bot> bots_;
  size_t next_subject_;
  bool churn_ = true;
  double join_credit_ = 0, leave_credit_ = 0;
  double arrivals_ = 0;  // bots waiting to be created
  static constexpr int kArrivalsPerPass = 4;
  uint64_t last_tick_ = 0, next_bulk_ = 0, start_ = 0;
  std::vector<PendingLeave> pending_;
  OnDeparture on_departure_;
  SwarmStats stats_;
  uint64_t next_accounting_ = 0;
  SwarmStats retired_;  // counts of bots already destroyed
  void account();
};

// Demo PKI parameters shared by the arena server and its bots in other processes.
inline constexpr uint64_t kDemoPkiSeed = 0x4e4b4152454e41;  // "NKARENA"
inline constexpr uint64_t kDemoBaseUnix = 1'700'000'000;     // 2023-11
inline constexpr uint64_t kDemoValidSeconds = 100ull * 365 * 86400;
inline constexpr uint64_t kDemoSession = 0xa7e7a;
inline constexpr size_t kDemoSubjects = 10000;
std::string bot_subject(size_t i);
// The arena's charter (degree, batch window, broadcast auth, join policy: LKH+
// hash-forward for join-only batches when `hash_forward`, tree_teams `teams`) over
// bot1..bot10000.
std::vector<uint8_t> demo_charter(Identities& ids, uint8_t degree, bool signed_broadcasts, bool hash_forward = false,
                                  uint8_t teams = 0);

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_SWARM_H_
