#include "netkey/flat_rekey.h"

#include <string>
#include <unordered_set>

#include "src/keytree/wrap.h"

namespace netkey {

Result<SchemeCommit> LkhScheme::commit_batch(Batch batch, Rng& rng) {
  auto plan = tree_.commit(std::move(batch), rng);
  if (!plan) return plan.status();
  last_ = std::move(plan).value();
  SchemeCommit c;
  c.epoch = last_.epoch;
  c.wrapped_keys = last_.entries.size();
  c.multicast_bytes = last_.entries.size() * (8 + kWrappedKeySize) + last_.moves.size() * 8;
  return c;
}

const SymmetricKey& FlatScheme::net_key() const {
  NETKEY_CHECK(!members_.empty());
  return net_key_;
}

Result<SchemeCommit> FlatScheme::commit_batch(Batch batch, Rng& rng) {
  if (batch.empty()) return Status(Errc::kInvalidArgument, "empty batch: nothing to commit");
  std::unordered_set<MemberId> leaving(batch.leaves.begin(), batch.leaves.end());
  if (leaving.size() != batch.leaves.size()) return Status(Errc::kInvalidArgument, "duplicate leave");
  for (MemberId id : batch.leaves) {
    if (!members_.count(id)) return Status(Errc::kInvalidArgument, "leave of member " + std::to_string(id) + ", which is not in the group");
  }
  std::unordered_set<MemberId> joining;
  for (const JoinRequest& j : batch.joins) {
    if ((members_.count(j.id) && !leaving.count(j.id)) || !joining.insert(j.id).second) {
      return Status(Errc::kInvalidArgument, "join of member " + std::to_string(j.id) + ", which is already in the group");
    }
  }
  if (members_.size() - leaving.size() + joining.size() > max_members_) {
    return Status(Errc::kInvalidArgument, "batch exceeds the member cap");
  }
  for (MemberId id : batch.leaves) members_.erase(id);
  for (JoinRequest& j : batch.joins) members_.emplace(j.id, MemberDerivedKeys::from_secret(j.member_secret).leaf);
  ++epoch_;
  net_key_ = rng.symmetric_key();
  last_ = FlatRekey{group_id_, epoch_, {}};
  last_.entries.reserve(members_.size());
  for (const auto& [id, leaf] : members_) {
    // Under a leaf key, the nonce (node 0, epoch) is used once per epoch: unique.
    WrappedKey w = detail::wrap_key(net_key_, leaf, group_id_, epoch_, kRootNode, id);
    last_.entries.push_back({id, w.ciphertext});
  }
  return SchemeCommit{epoch_, last_.entries.size(), last_.entries.size() * (4 + kWrappedKeySize)};
}

Result<SymmetricKey> flat_open(const FlatRekey& rekey, MemberId id, const SymmetricKey& leaf_key) {
  for (const FlatEntry& e : rekey.entries) {
    if (e.member != id) continue;
    WrappedKey w{kRootNode, id, e.ciphertext};
    return detail::unwrap_key(w, leaf_key, rekey.group_id, rekey.epoch);
  }
  return Status(Errc::kUnknownKey, "no flat entry for this member (removed)");
}

}  // namespace netkey
