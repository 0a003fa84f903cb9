// The demo adversary's knowledge (common/adversary.h): every key the coalition of removed
// members held, every rekey message the server sent, and their closure under every
// derivation docs/PROTOCOL.md defines, found by trial with the adversary's own crypto
// (common/adversary_spec.h), never through the runtime's key bookkeeping:
//
//   - a member secret gives its leaf key (nk-leafw) and unicast key (nk-unica);
//   - a Whole's wrapped entry is tried with every held node key its `wrapper` field
//     names (every version, forever), AND with every key of every kind (node, secret,
//     unicast) the coalition obtained within kCrossEpochs epochs of the entry, whatever
//     the wrapper field says: a Root that wraps under the wrong key, or two nodes that
//     share a key, is caught that way;
//   - a hash-forward (LKH+) Whole moves every held node key forward (nk-fwdky, at the
//     first LKH+ epoch after the key's own) obtained within kCrossEpochs of it (a
//     forwarded key counts from when its origin was obtained, so every chain ends); and
//     each node split under a moved leaf gets a key from the secret of the member last
//     seen at that leaf, and from every secret obtained within kNearEpochs (both split
//     derivations, see adversary_spec.h);
//   - a Sealed message (Slice, Welcome, Resync) is tried with every held unicast key of
//     the member it names, and with every unicast key and secret obtained within
//     kNearEpochs epochs, whatever member it names; its path keys are learned;
//   - net keys: nk-netky of every key held for the root at the epochs it was held at,
//     every net key a member held, and nk-netky of every root key and every key of any
//     kind obtained within kCrossEpochs (hash-forwarded ones apart: their origin is
//     tried) for the newest epoch seen and the next (the epochs a live packet can be
//     under).
// The cross-label trials are bounded by recency because the cross product of every key
// with every message grows with the square of the run; "obtained" counts each time a
// member brings the key again, so a key still in use stays recent.
//
// The closure is incremental: a new message is tried with the keys held, a new key
// with the logged messages, until nothing new appears. The log is bounded (oldest
// dropped first, see kMaxLogged*). Single-threaded. Keys are SymmetricKeys (wiped on
// destruction), compared with sodium_memcmp; nothing is logged.
#ifndef NETKEY_SAMPLES_COMMON_ADVERSARY_KEYS_H_
#define NETKEY_SAMPLES_COMMON_ADVERSARY_KEYS_H_

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/adversary_spec.h"
#include "netkey/keytree.h"

namespace netkey::demo {

enum class KeyRole : uint8_t {
  kNode,     // a tree node's key (a leaf's is its member's leaf key); label = node id
  kSecret,   // a member secret; label = member id
  kUnicast,  // a member's unicast seal key; label = member id
};
inline constexpr uint32_t kUnplaced = UINT32_MAX;  // a leaf key whose position is unknown

struct NetKeyCandidate {
  SymmetricKey key;
  uint64_t epoch;            // the epoch it was derived for (or held at)
  SymmetricKey root_sender;  // its traffic key for sender 0 (the Root), cached
};

class KeyPool {
 public:
  static constexpr uint64_t kCrossEpochs = 32;       // see the header comment
  static constexpr uint64_t kNearEpochs = 4;
  static constexpr size_t kMaxLoggedEntries = 1u << 18;  // wrapped keys kept for later keys
  static constexpr size_t kMaxLoggedSealed = 1u << 14;   // sealed messages kept

  // group_id 0: learnt from the first rekey message seen (the Root's group id changes at
  // every restart, and bots that only connect learn it from their handshake).
  explicit KeyPool(uint64_t group_id);
  uint64_t group_id() const { return group_id_; }
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // A key the coalition holds at `epoch`.
  void add(KeyRole role, uint32_t label, uint64_t epoch, SymmetricKey key);
  // Where a member's leaf was when it left (for the LKH+ split of that leaf).
  void place(MemberId member, NodeId leaf) { member_leaf_[member] = leaf; }
  // A net key a member held at `epoch`.
  void add_net(uint64_t epoch, SymmetricKey net);
  // A rekey message as the server sent it (Whole "NKRW" or Sealed "NKSL"): parsed after
  // the FlatBuffers Verifier (anything else is ignored), tried, logged, and closed over.
  void log_rekey(std::span<const uint8_t> bytes);
  // Applies every derivation to the keys added since the last call, until a fixed point.
  void close();

  template <typename F>
  void for_each_net(F&& fn) const {
    for (const auto& n : nets_) fn(n);
    for (const auto& [epoch, slot] : window_) {
      for (const auto& n : slot.nets) fn(n);
    }
  }
  size_t key_count() const { return keys_.size(); }
  size_t net_count() const;
  uint64_t trials() const { return trials_; }  // unwraps and sealed opens tried
  uint64_t newest_epoch() const { return newest_epoch_; }

 private:
  struct Held {
    SymmetricKey key;
    KeyRole role;
    uint32_t label;
    uint64_t epoch;  // the first epoch the coalition had it at (hash-forward starts here)
    uint64_t seen;   // the latest epoch a member brought it or it was derived
    bool forwarded;  // made by nk-fwdky: not a net-key seed unless held for the root
    bool in_recent = false;
  };
  struct LoggedWhole {
    uint64_t epoch;
    std::vector<spec::Wrapped> entries;
    std::vector<bool> opened;
  };
  struct SplitMove {  // one LKH+ leaf move: the nodes created above the moved member
    NodeId from;
    std::vector<NodeId> nodes;
  };
  struct LoggedSplit {
    uint64_t epoch;
    std::vector<SplitMove> moves;
  };
  struct LoggedSealed {
    spec::SealedHeader header;
    std::vector<uint8_t> ciphertext;
    bool opened;
  };
  struct WindowSlot {
    std::vector<NetKeyCandidate> nets;
    std::unordered_set<uint32_t> from;  // key indexes already derived for this epoch
  };

  // True when the key is new, or known but now seen at a later epoch (both are queued).
  // `seen` defaults to `epoch`; a hash-forwarded key keeps its origin's.
  bool learn(KeyRole role, uint32_t label, uint64_t epoch, SymmetricKey key, uint64_t seen = 0,
             bool forwarded = false);
  uint64_t fingerprint(const SymmetricKey& k) const;
  bool recent(const Held& h, uint64_t epoch, uint64_t window) const { return h.seen + window >= epoch; }
  void log_whole(std::span<const uint8_t> bytes);
  void log_sealed(std::span<const uint8_t> bytes);
  void see_epoch(uint64_t epoch);
  void try_whole(LoggedWhole& w);
  void try_sealed(size_t i);
  bool try_entry(LoggedWhole& w, size_t e, uint32_t k);
  bool try_open(size_t sealed_index, uint32_t k);
  void process(uint32_t k);
  void replay_wholes(uint32_t k);
  void replay_sealed(uint32_t k);
  void derive_member_keys(uint32_t k);
  void split_with(uint32_t k, const LoggedSplit& s);
  bool forward_keys();
  void learn_sealed_plaintext(const spec::SealedHeader& h, std::span<const uint8_t> plain);
  void offer_net(uint32_t k);
  void fill_slot(uint64_t epoch, WindowSlot& slot, uint32_t k);
  NetKeyCandidate candidate(SymmetricKey net, uint64_t epoch) const;

  uint64_t group_id_;
  std::array<uint8_t, 16> fp_key_{};  // SipHash key for the dedup index (random per run)
  std::vector<Held> keys_;            // append-only
  std::unordered_multimap<uint64_t, uint32_t> index_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> node_keys_;     // node -> its node keys
  std::unordered_map<uint32_t, std::vector<uint32_t>> unicast_keys_;  // member -> its unicast keys
  std::vector<uint32_t> root_keys_;
  std::vector<uint32_t> secrets_;
  std::unordered_map<MemberId, NodeId> member_leaf_;
  std::vector<uint32_t> recent_;       // seen within kCrossEpochs of the newest epoch
  std::vector<uint32_t> pending_;      // learned or seen again, not processed yet
  std::vector<uint32_t> unforwarded_;  // node keys not yet hash-forwarded
  std::set<uint64_t> hf_epochs_;       // epochs of the LKH+ Wholes seen
  bool forward_dirty_ = false;
  std::deque<LoggedWhole> wholes_;
  size_t logged_entries_ = 0;
  std::deque<LoggedSplit> splits_;
  std::deque<LoggedSealed> sealed_;
  std::vector<NetKeyCandidate> nets_;
  std::unordered_multimap<uint64_t, size_t> net_index_;
  std::map<uint64_t, WindowSlot> window_;
  uint64_t newest_epoch_ = 0;
  uint64_t trials_ = 0;
  std::vector<uint8_t> plain_;  // scratch for sealed plaintexts (wiped after use)
};

}  // namespace netkey::demo

#endif  // NETKEY_SAMPLES_COMMON_ADVERSARY_KEYS_H_
