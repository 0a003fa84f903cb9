// An adversary for demos and load tests: removed members that keep every key they
// ever held. It watches everything the server sends (a tap): it unwraps every Whole
// rekey entry it can with the node keys it holds (and any it learns), derives every net
// key it can reach, and tries to open every state and member packet with them.
// `violations()` counts packets of an epoch at or after a member's removal that it
// opened: it must stay 0.
#ifndef NETKEY_SAMPLES_COMMON_ADVERSARY_H_
#define NETKEY_SAMPLES_COMMON_ADVERSARY_H_

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "netkey/group.h"
#include "netkey/keytree.h"
#include "netkey/traffic.h"

namespace netkey::demo {

class Adversary {
 public:
  Adversary(uint64_t group_id, AeadSuite suite);
  // A departing member hands over what it holds: its path and net key. The keys wait
  // in escrow until removed() says which batch removed it.
  void absorb(MemberId member, const std::vector<std::pair<NodeId, const SymmetricKey*>>& path, uint64_t epoch,
              const SymmetricKey& net_key);
  // The Root removed `member` in the batch that created `epoch`: its keys join the
  // coalition's knowledge, and any packet of an epoch >= the latest such removal
  // epoch that the coalition opens is a violation.
  void removed(MemberId member, uint64_t epoch);
  // Everything the server sends.
  void observe(Channel channel, std::span<const uint8_t> bytes);

  uint64_t attempts() const { return attempts_; }
  uint64_t decryptions() const { return decryptions_; }   // old packets it could open (allowed)
  uint64_t violations() const { return violations_; }     // packets after its removal it opened
  size_t members() const { return active_; }

 private:
  void learn_net(uint64_t epoch, SymmetricKey key);
  uint64_t group_id_;
  AeadSuite suite_;
  std::map<NodeId, std::vector<SymmetricKey>> node_keys_;
  std::map<uint64_t, std::vector<SymmetricKey>> net_keys_;  // epoch -> keys it holds
  struct Escrow {
    std::vector<std::pair<NodeId, SymmetricKey>> path;
    uint64_t epoch;
    SymmetricKey net;
  };
  std::map<MemberId, Escrow> escrow_;
  size_t active_ = 0;
  uint64_t threshold_ = UINT64_MAX;  // the latest removal epoch among active members
  uint64_t attempts_ = 0, decryptions_ = 0, violations_ = 0;
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_ADVERSARY_H_
