#include "common/adversary.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "netkey/member_keys.h"
#include "netkey/testing.h"
#include "netkey/traffic.h"

namespace netkey::demo {
namespace {

// Adds the wall time of a scope to a counter.
class BusyTimer {
 public:
  explicit BusyTimer(uint64_t& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~BusyTimer() {
    total_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count());
  }
  BusyTimer(const BusyTimer&) = delete;
  BusyTimer& operator=(const BusyTimer&) = delete;

 private:
  uint64_t& total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

Loot Loot::of(const Participant& p) {
  Loot l;
  l.member = p.member_id();
  const MemberKeys* mk = netkey::testing::member_keys(p);
  if (mk == nullptr) return l;
  l.epoch = mk->epoch();
  l.secret = netkey::testing::member_secret(*mk).clone();
  l.leaf_key = mk->leaf_key().clone();
  l.unicast_key = netkey::testing::unicast_key(*mk).clone();
  if (!mk->in_group()) return l;
  l.leaf = mk->leaf();
  l.net_key = mk->net_key().clone();
  for (const auto& [node, key] : mk->held_keys()) l.path.emplace_back(node, key->clone());
  return l;
}

Adversary::Adversary(uint64_t group_id, AeadSuite suite) : group_id_(group_id), suite_(suite), pool_(group_id) {}

void Adversary::absorb(Loot loot) {
  BusyTimer timer(busy_ns_);
  auto late = unclaimed_.find(loot.member);
  if (late != unclaimed_.end() && loot.epoch > 0 && loot.epoch < late->second) {
    const uint64_t epoch = late->second;
    unclaimed_.erase(late);
    join(loot, epoch);
    return;
  }
  const MemberId m = loot.member;
  escrow_.insert_or_assign(m, std::move(loot));
}

void Adversary::removed(MemberId member, uint64_t epoch) {
  BusyTimer timer(busy_ns_);
  auto it = escrow_.find(member);
  if (it == escrow_.end()) {
    if (unclaimed_.size() >= kMaxUnclaimed) {  // forget the oldest removal
      unclaimed_.erase(std::min_element(unclaimed_.begin(), unclaimed_.end(),
                                        [](const auto& x, const auto& y) { return x.second < y.second; }));
    }
    unclaimed_.insert_or_assign(member, epoch);
    return;
  }
  join(it->second, epoch);
  escrow_.erase(it);
}

void Adversary::join(Loot& l, uint64_t removal_epoch) {
  const MemberId member = l.member;
  if (l.leaf != kUnplaced) pool_.place(member, l.leaf);
  if (l.secret) pool_.add(KeyRole::kSecret, member, l.epoch, std::move(*l.secret));
  if (l.unicast_key) pool_.add(KeyRole::kUnicast, member, l.epoch, std::move(*l.unicast_key));
  if (l.leaf_key) pool_.add(KeyRole::kNode, l.leaf, l.epoch, std::move(*l.leaf_key));
  for (auto& [node, key] : l.path) pool_.add(KeyRole::kNode, node, l.epoch, std::move(key));
  if (l.net_key) pool_.add_net(l.epoch, std::move(*l.net_key));
  ++active_;
  threshold_ = std::max(threshold_, removal_epoch);
  pool_.close();  // what it can reach now, from every rekey logged so far
}

void Adversary::observe(Channel channel, std::span<const uint8_t> bytes) {
  BusyTimer timer(busy_ns_);
  if (channel == Channel::kRekey) {
    // Logged even before any removal: a member removed later was entitled to it.
    pool_.log_rekey(bytes);
    return;
  }
  // kEvents: reliable traffic (issue 12) is tried like the rest.
  if (active_ == 0 || (channel != Channel::kState && channel != Channel::kMember && channel != Channel::kEvents)) return;
  try_packet(bytes);
}

void Adversary::try_packet(std::span<const uint8_t> bytes) {
  if (bytes.size() < kTrafficOverhead) return;
  ++packets_;
  const uint8_t type = bytes[0] & 0x0f;
  const uint8_t epoch_byte = bytes[1];
  const SenderId sender = static_cast<SenderId>(bytes[2] | bytes[3] << 8);
  bool opened = false;
  uint64_t key_epoch = 0;
  pool_.for_each_net([&](const NetKeyCandidate& c) {
    if (opened) return;
    ++attempts_;
    if (sender == kRootSender) {
      opened = spec::open_traffic(suite_, pool_.group_id(), bytes, c.root_sender, scratch_);
    } else {
      const SymmetricKey k = spec::traffic_key(c.key, sender);
      opened = spec::open_traffic(suite_, pool_.group_id(), bytes, k, scratch_);
    }
    if (opened) key_epoch = c.epoch;
  });
  if (!opened) return;
  sodium_memzero(scratch_.data(), scratch_.size());
  const bool root_packet = type != static_cast<uint8_t>(PacketType::kMemberData);
  const bool relabelled = static_cast<uint8_t>(key_epoch) != epoch_byte;
  if (root_packet || relabelled || key_epoch >= threshold_) {
    ++decryptions_;
  } else {
    ++grace_decryptions_;
  }
}

}  // namespace netkey::demo
