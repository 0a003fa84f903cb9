// netkey/rekey_codec.h: the Root's encoders for a committed batch (docs/PROTOCOL.md).
//
//   Whole   one message for every member, signed once by the Root (Ed25519).
//   Slice   exactly the entries one member needs (at most one per level, plus its move),
//           sealed under that member's unicast key. Over unicast fan-out this cuts the
//           bytes per member from O(batch) to O(log n), and an AEAD check replaces the
//           signature check.
//   Welcome a joiner's whole path at the current epoch, sealed under its unicast key.
//   Resync  the same for a member that missed epochs.
// Sealed messages take a fresh per-member sequence number from the tree
// (KeyTree::next_unicast_seq), which is the nonce: (unicast key, nonce) never repeats.
#ifndef NETKEY_REKEY_CODEC_H_
#define NETKEY_REKEY_CODEC_H_

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "netkey/keytree.h"
#include "netkey/sign.h"
#include "netkey/status.h"

namespace netkey {

// Size caps that receivers enforce before anything else.
inline constexpr size_t kMaxWholeBytes = 8u << 20;   // a rebuild of a large tree
inline constexpr size_t kMaxSealedBytes = 64u << 10;

enum class SealedKind : uint8_t { kSlice = 1, kWelcome = 2, kResync = 3 };

// Signs the whole batch. Cannot fail.
std::vector<uint8_t> encode_whole(const RekeyPlan& plan, const SigningKey& root_key);

// Builds per-member slices of one plan; indexes the plan once, so slicing every member
// costs O(n log n) in total.
class SliceEncoder {
 public:
  // `plan` must outlive the encoder.
  explicit SliceEncoder(const RekeyPlan& plan);
  SliceEncoder(SliceEncoder&&) noexcept;
  // Wipes the encoder's buffers (they held path keys in the clear).
  ~SliceEncoder();
  // The slice for `id` after the plan was committed to `tree`. Errors: kInvalidArgument
  // when `id` is not a member, or joined in this plan (send it a Welcome instead), or
  // the tree has moved on to another epoch.
  Result<std::vector<uint8_t>> encode(KeyTree& tree, MemberId id) const;

 private:
  const RekeyPlan& plan_;
  std::unordered_map<NodeId, std::vector<size_t>> by_node_;  // node -> entry indexes
  std::unordered_map<NodeId, size_t> move_to_;               // move.to -> move index
  struct Builders;                                           // FlatBuffers, in src/
  std::unique_ptr<Builders> builders_;                       // reused across slices
};

// The member's whole current path, sealed. Errors: kInvalidArgument for a non-member.
Result<std::vector<uint8_t>> encode_welcome(KeyTree& tree, MemberId id);
Result<std::vector<uint8_t>> encode_resync(KeyTree& tree, MemberId id);

}  // namespace netkey

#endif  // NETKEY_REKEY_CODEC_H_
