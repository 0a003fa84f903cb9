// netkey/flat_rekey.h: the flat baseline, and the interface both schemes implement.
//
// The flat scheme is the seed's own: every batch draws a fresh net key and seals it
// under each remaining member's individual KEK (its leaf key), one entry per member.
// It is O(n) per change where LKH is O(log n); it is kept for benchmarks and tests.
//
// GroupKeyScheme lets benchmarks and tests drive either scheme the same way.
#ifndef NETKEY_FLAT_REKEY_H_
#define NETKEY_FLAT_REKEY_H_

#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "netkey/keytree.h"
#include "netkey/status.h"

namespace netkey {

// What one commit cost, in the units the benchmarks report.
struct SchemeCommit {
  uint64_t epoch = 0;
  size_t wrapped_keys = 0;     // AEAD-wrapped keys the Root produced
  size_t multicast_bytes = 0;  // payload bytes of the one-message encoding (entries + moves)
};

class GroupKeyScheme {
 public:
  virtual ~GroupKeyScheme() = default;
  // Errors as KeyTree::commit.
  virtual Result<SchemeCommit> commit_batch(Batch batch, Rng& rng) = 0;
  virtual bool has_net_key() const = 0;
  virtual const SymmetricKey& net_key() const = 0;
  virtual uint64_t epoch() const = 0;
  virtual size_t member_count() const = 0;
};

// The LKH tree behind GroupKeyScheme. The last plan stays available for encoders.
class LkhScheme final : public GroupKeyScheme {
 public:
  LkhScheme(uint64_t group_id, TreePolicy policy) : tree_(group_id, policy) {}
  Result<SchemeCommit> commit_batch(Batch batch, Rng& rng) override;
  bool has_net_key() const override { return tree_.has_net_key(); }
  const SymmetricKey& net_key() const override { return tree_.net_key(); }
  uint64_t epoch() const override { return tree_.epoch(); }
  size_t member_count() const override { return tree_.member_count(); }
  KeyTree& tree() { return tree_; }
  const RekeyPlan& last_plan() const { return last_; }

 private:
  KeyTree tree_;
  RekeyPlan last_;
};

// One flat entry: the new net key sealed under a member's leaf key.
struct FlatEntry {
  MemberId member;
  std::array<uint8_t, kWrappedKeySize> ciphertext;
};

struct FlatRekey {
  uint64_t group_id = 0;
  uint64_t epoch = 0;
  std::vector<FlatEntry> entries;  // one per member after the batch (joiners included)
};

class FlatScheme final : public GroupKeyScheme {
 public:
  explicit FlatScheme(uint64_t group_id, uint32_t max_members = 1u << 20)
      : group_id_(group_id), max_members_(max_members) {}
  Result<SchemeCommit> commit_batch(Batch batch, Rng& rng) override;
  bool has_net_key() const override { return !members_.empty(); }
  const SymmetricKey& net_key() const override;
  uint64_t epoch() const override { return epoch_; }
  size_t member_count() const override { return members_.size(); }
  const FlatRekey& last_rekey() const { return last_; }

 private:
  uint64_t group_id_;
  uint32_t max_members_;
  uint64_t epoch_ = 0;
  std::unordered_map<MemberId, SymmetricKey> members_;  // id -> leaf key
  SymmetricKey net_key_;
  FlatRekey last_;
};

// The member side of the flat scheme: finds its entry and opens it with its leaf key.
// Errors: kUnknownKey when there is no entry for `id` (removed); kBadTag when the entry
// does not open under `leaf_key`.
Result<SymmetricKey> flat_open(const FlatRekey& rekey, MemberId id, const SymmetricKey& leaf_key);

}  // namespace netkey

#endif  // NETKEY_FLAT_REKEY_H_
