// An adversary for demos, load tests and tests: a coalition of removed members that keep
// everything they ever held (leaf key, unicast key, member secret, path keys and net
// key) and watch everything the server sends (a tap). It is an oracle that stands apart
// from the code it judges (STYLE.md 14):
//   - keys: it derives what it can from what it holds and from every rekey message it
//     saw (Wholes of both kinds, and Slices, Welcomes and Resyncs it can open), with its
//     own implementation of the spec's derivations, by trial (common/adversary_keys.h);
//   - traffic: after a removal, it tries EVERY net key it holds or derived on every
//     state and member packet, whatever epoch the packet's epoch byte names.
// `decryptions()` counts the packets it opened that it must not read; it must stay 0.
// `attempts()` counts (packet, net key) trials after a removal; a check whose adversary
// made 0 attempts proves nothing and must fail.
#ifndef NETKEY_SAMPLES_COMMON_ADVERSARY_H_
#define NETKEY_SAMPLES_COMMON_ADVERSARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/adversary_keys.h"
#include "netkey/aead.h"
#include "netkey/group.h"
#include "netkey/keytree.h"
#include "netkey/participant.h"

namespace netkey::demo {

// Everything a member holds when it goes: copies, wiped with the Loot.
struct Loot {
  MemberId member = 0;
  uint64_t epoch = 0;       // the epoch its keys are for
  NodeId leaf = kUnplaced;  // its leaf position, when known
  std::optional<SymmetricKey> secret, leaf_key, unicast_key, net_key;
  std::vector<std::pair<NodeId, SymmetricKey>> path;  // leaf's parent up to the root

  // Takes a participant's keys (through netkey::testing::member_keys).
  static Loot of(const Participant& p);
};

class Adversary {
 public:
  // `group_id`: the Root's (Root::group_id()), or 0 to learn it from the first rekey the
  // adversary observes (bots in another process than the server).
  Adversary(uint64_t group_id, AeadSuite suite);
  Adversary(const Adversary&) = delete;
  Adversary& operator=(const Adversary&) = delete;

  // A departing member hands over what it holds. The loot waits in escrow until
  // removed() says which batch removed that member (until then it was entitled to read).
  // A removal reported first (a bot that noticed its lost connection late) is matched
  // by a loot of an earlier epoch.
  void absorb(Loot loot);
  void absorb(const Participant& p) { absorb(Loot::of(p)); }
  // The Root removed `member` in the batch that created `epoch`: its loot joins the
  // coalition, which from then on must read nothing of an epoch >= the latest removal.
  void removed(MemberId member, uint64_t epoch);
  // Everything the server sends: rekeys are parsed and kept; traffic is tried.
  void observe(Channel channel, std::span<const uint8_t> bytes);

  // Traffic trials after a removal: packets x net keys tried.
  uint64_t attempts() const { return attempts_; }
  // Packets opened that the coalition must not read: a Root packet (the Root sends under
  // the new key from the moment a batch commits), a packet under a key of an epoch at
  // or after the latest removal, or one whose epoch byte names another epoch than the
  // key it opened under (a relabelled old key).
  uint64_t decryptions() const { return decryptions_; }
  // Member packets opened under the epoch before a removal with a matching epoch byte:
  // allowed (the relay accepts the previous epoch for a bounded grace).
  uint64_t grace_decryptions() const { return grace_decryptions_; }
  uint64_t packets() const { return packets_; }          // traffic packets tried
  uint64_t rekey_trials() const { return pool_.trials(); }  // unwraps and sealed opens tried
  size_t members() const { return active_; }             // removed members in the coalition
  size_t keys() const { return pool_.key_count(); }
  size_t net_keys() const { return pool_.net_count(); }
  uint64_t busy_ns() const { return busy_ns_; }  // wall time spent in absorb/removed/observe

 private:
  void join(Loot& loot, uint64_t removal_epoch);
  void try_packet(std::span<const uint8_t> bytes);
  static constexpr size_t kMaxUnclaimed = 4096;

  uint64_t group_id_;
  AeadSuite suite_;
  KeyPool pool_;
  std::map<MemberId, Loot> escrow_;
  std::map<MemberId, uint64_t> unclaimed_;  // removals of members not (yet) absorbed
  size_t active_ = 0;
  uint64_t threshold_ = 0;  // the latest removal epoch among the coalition
  uint64_t attempts_ = 0, decryptions_ = 0, grace_decryptions_ = 0, packets_ = 0;
  uint64_t busy_ns_ = 0;
  std::vector<uint8_t> scratch_;
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_ADVERSARY_H_
