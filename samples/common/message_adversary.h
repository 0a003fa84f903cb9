// The arena's messaging adversary (issue 12): insiders that try to read what is not
// theirs, by real trial decryption with the keys they hold, through the adversary's own
// crypto (common/adversary_spec.h), never the runtime's receivers:
//
//   other_team     every live bot tries, on each team broadcast (type 4) of a team it is
//                  not in, the team key KDF(k, "nk-teamk", epoch) of EVERY node key k it
//                  holds at that epoch (its whole path, its own team's node included);
//   other_private  every live bot tries, on each private message (type 5) to another
//                  member, the private key its own member secret gives for that epoch;
//   switched_team  a bot the Root moved out of team u tries, on every team-u broadcast of
//                  the switch epoch or later, the team keys of every node key it held at
//                  any epoch before the switch and of the ones it holds now;
//   removed        the same for a removed bot, on its last team's broadcasts from its
//                  removal epoch on (the net-key side of removal is common/adversary.h's).
//
// Which team a bot is in is read from its own keys (the node 1..T on its path), not from
// the runtime's team(). Bots' keys are harvested each time their epoch changes and kept
// for the last kHistory epochs; packets are tried kDelayNs after the server sent them, so
// every bot has had time to apply the rekey that carried their epoch. Trials per packet
// are bounded (kMaxInsiders bots per packet, round robin) so the cost stays linear.
//
// A decryption is a packet opened that the key holder must not read: 0 is the verdict.
// attempts counts (packet, key) trials; 0 attempts proves nothing.
//
// Positive controls (test-only, `leak`): the adversary is also handed keys it must not
// have -- other_team: a member of the packet's team's keys, labelled as another team's;
// other_private: the addressee's own secret; switched_team: a current member of the old
// team's keys -- and must then report decryptions for that kind.
#ifndef NETKEY_SAMPLES_COMMON_MESSAGE_ADVERSARY_H_
#define NETKEY_SAMPLES_COMMON_MESSAGE_ADVERSARY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "netkey/aead.h"
#include "netkey/group.h"
#include "netkey/keys.h"
#include "netkey/participant.h"

namespace netkey::demo {

struct Tally {
  uint64_t attempts = 0;
  uint64_t decryptions = 0;
};

enum class Leak : uint8_t { kNone, kOtherTeam, kOtherPrivate, kSwitchedTeam };

class MessageAdversary {
 public:
  static constexpr size_t kHistory = 8;  // epochs of keys kept per bot
  static constexpr uint64_t kDelayNs = 150'000'000;
  static constexpr size_t kMaxInsiders = 8;  // bots tried per packet and kind
  static constexpr uint64_t kFormerNs =
      3'000'000'000;  // how long a switched/removed bot keeps trying

  MessageAdversary(uint64_t group_id, AeadSuite suite, uint8_t teams, Leak leak);

  // A live bot's keys now (called every tick; only a new epoch is taken).
  void harvest(const Participant& p);
  // The Root moved `member` to another team in the batch of `epoch` (RootEvent
  // kTeamChanged), or removed it (kLeft): its keys before `epoch` become a former
  // member's of its team then.
  void switched(MemberId member, uint64_t epoch, uint64_t now_ns) {
    former(member, epoch, now_ns, false);
  }
  void removed(MemberId member, uint64_t epoch, uint64_t now_ns) {
    former(member, epoch, now_ns, true);
  }
  // Everything the server sends (the tap): type 4 and 5 packets are queued.
  void observe(Channel channel, std::span<const uint8_t> bytes, uint64_t now_ns);
  // Tries the packets queued at least kDelayNs ago.
  void pump(uint64_t now_ns);

  const Tally& other_team() const { return other_team_; }
  const Tally& other_private() const { return other_private_; }
  const Tally& switched_team() const { return switched_team_; }
  const Tally& removed_team() const { return removed_team_; }
  uint64_t team_packets() const { return team_packets_; }
  uint64_t private_packets() const { return private_packets_; }

 private:
  struct KeySet {
    uint64_t epoch = 0;
    int team = -1;  // from the path: the node 1..T it holds, minus 1
    std::vector<std::pair<uint32_t, SymmetricKey>> nodes;
    SymmetricKey secret;
  };
  struct Insider {
    MemberId member = 0;
    std::deque<KeySet> history;  // oldest first
  };
  struct Former {  // a switched or removed bot
    MemberId member;
    int team;             // the team it left
    uint64_t from_epoch;  // packets of this epoch or later are not its to read
    uint64_t until_ns;
    bool removed;
    std::vector<KeySet> keys;  // every key set it held before from_epoch
  };
  struct Queued {
    uint64_t at_ns;
    std::vector<uint8_t> bytes;
  };
  void former(MemberId member, uint64_t epoch, uint64_t now_ns, bool removed);
  void try_team(std::span<const uint8_t> packet, uint64_t sent_ns);
  void try_private(std::span<const uint8_t> packet);
  const KeySet* at_byte(const Insider& in, uint8_t epoch_byte) const;
  // Tries every node key of `ks` as a team-key seed for `epoch`; true when one opens.
  bool open_with_nodes(const KeySet& ks, uint64_t epoch, std::span<const uint8_t> packet, Tally& t);
  bool open(std::span<const uint8_t> packet, const SymmetricKey& key, Tally& t);

  uint64_t group_id_;
  AeadSuite suite_;
  uint8_t teams_;
  Leak leak_;
  std::map<MemberId, Insider> insiders_;
  std::vector<Former> formers_;
  std::deque<Queued> queue_;
  size_t cursor_ = 0;  // round robin over insiders
  Tally other_team_, other_private_, switched_team_, removed_team_;
  uint64_t team_packets_ = 0, private_packets_ = 0;
  std::vector<uint8_t> scratch_;
};

// "other_team" etc. for --adversary-leak; nullopt for an unknown name.
std::optional<Leak> parse_leak(const std::string& name);

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_MESSAGE_ADVERSARY_H_
