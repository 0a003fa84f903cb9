#include "common/message_adversary.h"

#include <sodium.h>

#include <algorithm>

#include "common/adversary_spec.h"
#include "netkey/member_keys.h"
#include "netkey/testing.h"
#include "netkey/traffic.h"

namespace netkey::demo {

std::optional<Leak> parse_leak(const std::string& name) {
  if (name == "none") return Leak::kNone;
  if (name == "other_team") return Leak::kOtherTeam;
  if (name == "other_private") return Leak::kOtherPrivate;
  if (name == "switched_team") return Leak::kSwitchedTeam;
  return std::nullopt;
}

MessageAdversary::MessageAdversary(uint64_t group_id, AeadSuite suite, uint8_t teams, Leak leak)
    : group_id_(group_id), suite_(suite), teams_(teams), leak_(leak) {}

void MessageAdversary::harvest(const Participant& p) {
  const MemberKeys* mk = netkey::testing::member_keys(p);
  if (mk == nullptr || !mk->in_group() || p.member_id() == 0) return;
  Insider& in = insiders_[p.member_id()];
  in.member = p.member_id();
  if (!in.history.empty() && in.history.back().epoch == mk->epoch()) return;
  KeySet ks;
  ks.epoch = mk->epoch();
  ks.nodes.emplace_back(mk->leaf(), mk->leaf_key().clone());
  for (const auto& [node, key] : mk->held_keys()) ks.nodes.emplace_back(node, key->clone());
  for (const auto& [node, key] : ks.nodes) {
    if (node >= 1 && node <= teams_)
      ks.team = static_cast<int>(node) - 1;  // team t lives under node t + 1
  }
  ks.secret = netkey::testing::member_secret(*mk).clone();
  in.history.push_back(std::move(ks));
  if (in.history.size() > kHistory) in.history.pop_front();
}

void MessageAdversary::former(MemberId member, uint64_t epoch, uint64_t now_ns, bool removed) {
  auto it = insiders_.find(member);
  if (it == insiders_.end()) return;
  Former f{member, -1, epoch, now_ns + kFormerNs, removed, {}};
  for (const KeySet& ks : it->second.history) {
    if (ks.epoch >= epoch) continue;
    f.team = ks.team;  // the newest before `epoch` wins: the team it left
    KeySet copy;
    copy.epoch = ks.epoch;
    copy.team = ks.team;
    for (const auto& [node, key] : ks.nodes) copy.nodes.emplace_back(node, key.clone());
    copy.secret = ks.secret.clone();
    f.keys.push_back(std::move(copy));
  }
  // A later switch ends what an earlier one was judged on (the bot may come back).
  for (Former& old : formers_) {
    if (old.member == member && !old.removed) old.until_ns = std::min(old.until_ns, now_ns);
  }
  if (removed) insiders_.erase(it);  // its member id may be reused by a newcomer
  if (f.team >= 0 && !f.keys.empty()) formers_.push_back(std::move(f));
}

void MessageAdversary::observe(Channel channel, std::span<const uint8_t> bytes, uint64_t now_ns) {
  if (channel != Channel::kState && channel != Channel::kEvents) return;
  if (bytes.size() < kTrafficOverhead) return;
  const uint8_t type = bytes[0] & 0x0f;
  if (type != static_cast<uint8_t>(PacketType::kTeamBroadcast) &&
      type != static_cast<uint8_t>(PacketType::kPrivateToMember)) {
    return;
  }
  queue_.push_back({now_ns, std::vector<uint8_t>(bytes.begin(), bytes.end())});
}

void MessageAdversary::pump(uint64_t now_ns) {
  while (!queue_.empty() && queue_.front().at_ns + kDelayNs <= now_ns) {
    const std::vector<uint8_t>& p = queue_.front().bytes;
    if ((p[0] & 0x0f) == static_cast<uint8_t>(PacketType::kTeamBroadcast)) {
      try_team(p, queue_.front().at_ns);
    } else {
      try_private(p);
    }
    queue_.pop_front();
  }
  std::erase_if(formers_, [now_ns](const Former& f) { return f.until_ns + kDelayNs < now_ns; });
}

const MessageAdversary::KeySet* MessageAdversary::at_byte(const Insider& in,
                                                          uint8_t epoch_byte) const {
  for (auto it = in.history.rbegin(); it != in.history.rend(); ++it) {
    if (static_cast<uint8_t>(it->epoch) == epoch_byte) return &*it;
  }
  return nullptr;
}

bool MessageAdversary::open(std::span<const uint8_t> packet, const SymmetricKey& key, Tally& t) {
  ++t.attempts;
  if (!spec::open_traffic(suite_, group_id_, packet, key, scratch_)) return false;
  sodium_memzero(scratch_.data(), scratch_.size());
  ++t.decryptions;
  return true;
}

bool MessageAdversary::open_with_nodes(const KeySet& ks, uint64_t epoch,
                                       std::span<const uint8_t> packet, Tally& t) {
  for (const auto& [node, key] : ks.nodes) {
    if (open(packet, spec::team_key(key, epoch), t)) return true;
  }
  return false;
}

void MessageAdversary::try_team(std::span<const uint8_t> packet, uint64_t sent_ns) {
  if (teams_ == 0) return;
  ++team_packets_;
  const int team = packet[2] | packet[3] << 8;
  const uint8_t b = packet[1];
  // other_team: bots of the other teams, round robin.
  if (!insiders_.empty()) {
    auto it =
        std::next(insiders_.begin(), static_cast<std::ptrdiff_t>(cursor_++ % insiders_.size()));
    size_t tried = 0;
    for (size_t n = 0; n < insiders_.size() && tried < kMaxInsiders; ++n, ++it) {
      if (it == insiders_.end()) it = insiders_.begin();
      const KeySet* ks = at_byte(it->second, b);
      if (ks == nullptr || ks->team < 0) continue;
      // The leak labels a bot's own team as another: it then tries its own team's packets.
      const int label = leak_ == Leak::kOtherTeam ? (ks->team + 1) % teams_ : ks->team;
      if (label == team) continue;
      ++tried;
      open_with_nodes(*ks, ks->epoch, packet, other_team_);
    }
  }
  // switched_team and removed: former members of this team, from their change on.
  size_t tried = 0;
  for (const Former& f : formers_) {
    if (f.team != team || sent_ns > f.until_ns || tried >= 2 * kMaxInsiders) continue;
    const uint64_t epoch =
        f.from_epoch + static_cast<uint8_t>(b - static_cast<uint8_t>(f.from_epoch));
    if (epoch >= f.from_epoch + kHistory)
      continue;  // an older epoch's packet: it was entitled to it
    ++tried;
    Tally& t = f.removed ? removed_team_ : switched_team_;
    bool opened = false;
    for (const KeySet& ks : f.keys) opened = opened || open_with_nodes(ks, epoch, packet, t);
    if (f.removed) continue;
    auto in = insiders_.find(f.member);
    const KeySet* now = in == insiders_.end() ? nullptr : at_byte(in->second, b);
    if (!opened && now != nullptr && now->epoch == epoch)
      opened = open_with_nodes(*now, epoch, packet, t);
    if (opened || leak_ != Leak::kSwitchedTeam) continue;
    // The leak: the keys of a bot still in the team it left.
    for (const auto& [m, other] : insiders_) {
      const KeySet* ks = at_byte(other, b);
      if (m != f.member && ks != nullptr && ks->team == team && ks->epoch == epoch) {
        open_with_nodes(*ks, epoch, packet, t);
        break;
      }
    }
  }
}

void MessageAdversary::try_private(std::span<const uint8_t> packet) {
  ++private_packets_;
  const MemberId to = static_cast<MemberId>(packet[2] | packet[3] << 8);
  const uint8_t b = packet[1];
  if (insiders_.empty()) return;
  if (leak_ == Leak::kOtherPrivate) {  // the leak hands the addressee's own keys to the coalition
    auto self = insiders_.find(to);
    const KeySet* ks = self == insiders_.end() ? nullptr : at_byte(self->second, b);
    if (ks != nullptr) open(packet, spec::private_key(ks->secret, ks->epoch, 0), other_private_);
  }
  auto it = std::next(insiders_.begin(), static_cast<std::ptrdiff_t>(cursor_++ % insiders_.size()));
  size_t tried = 0;
  for (size_t n = 0; n < insiders_.size() && tried < kMaxInsiders; ++n, ++it) {
    if (it == insiders_.end()) it = insiders_.begin();
    if (it->first == to) continue;
    const KeySet* ks = at_byte(it->second, b);
    if (ks == nullptr) continue;
    ++tried;
    open(packet, spec::private_key(ks->secret, ks->epoch, 0), other_private_);
  }
}

}  // namespace netkey::demo
