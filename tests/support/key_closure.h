// Test support: the key-closure oracle.
//
// It answers one question: from the bytes a coalition saw and the keys its members
// held, which net keys can the coalition compute? It finds out by trial, the way an
// attacker would, and never through the tree's structure: it does not know which node
// wraps which, who sits where, or whose ancestor a node is. It is written from
// docs/PROTOCOL.md with libsodium and flatc's generated readers only; it includes no
// runtime key-tree header, so it shares no code with what it judges. (It takes keys as
// netkey::SymmetricKey, the wiped, constant-time-compared secret type, for hygiene.)
//
// Starting from what it is given, it repeats until nothing new appears:
//   - every known key against every wrapped entry of every Whole, whatever the entry's
//     `wrapper` claims (the AD is the entry's own fields, as the spec says);
//   - every known key as the unicast key of every Sealed message; an opened Welcome,
//     Resync or Slice yields the node keys it carries;
//   - from each member secret: nk-leafw and nk-unica, and nk-split for every
//     (epoch, node id) pair that one message names together, when that epoch is a
//     hash-forward one (nk-split exists only there). The pairs of a Sealed message go
//     with the secret whose unicast key opened it (a member's splits are named in its
//     own messages), those of a Whole, or of a message some other key opened, with
//     every secret;
//   - nk-fwdky of every key at the next hash-forward epoch after the first epoch it was
//     held or learned at (and so on along the chain; the kind of a batch is public in
//     its Whole). A node key lives from one batch to the next hash-forward one, so the
//     first epoch names the step it takes; a later one would only name a second step
//     that no real key takes;
//   - nk-netky of every key for every epoch any message names; a result that equals a
//     real net key is a derived epoch, and the net key joins the known keys;
//   - (derivable_team_keys) nk-teamk of every key for every epoch any message names; a
//     result that equals a real team key of that epoch is a derived (team, epoch), and
//     the team key joins the known keys. The oracle does not know which node is a team's
//     node: it tries every key it has.
// Everything it derives is something the coalition could compute itself, so a derived
// net key is a real break, never a false alarm. Signatures are not checked: an attacker
// uses whatever bytes it sees.
//
// One economy, from time and not from structure: a key that a KDF step makes with an
// epoch as input (nk-split, nk-fwdky, nk-netky of epoch e) did not exist before the
// Root's batch of e, so it is tried only on messages of epoch e or later. Keys that were
// held, unwrapped or opened are tried on every message.
#ifndef NETKEY_TESTS_SUPPORT_KEY_CLOSURE_H_
#define NETKEY_TESTS_SUPPORT_KEY_CLOSURE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netkey/keys.h"

namespace netkey::testing {

class KeyClosure {
 public:
  // What the closure tried and found: a check whose coalition tried nothing proves
  // nothing (STYLE.md 14), so tests assert on these.
  struct Attempts {
    size_t unwrap_trials = 0;  // (key, wrapped entry) pairs tried
    size_t unwrapped = 0;      // entries opened
    size_t open_trials = 0;    // (key, Sealed message) pairs tried
    size_t opened = 0;         // Sealed messages opened
    size_t derivations = 0;    // KDF and extract steps
    size_t keys = 0;           // distinct keys known at the end
    size_t unparsed = 0;       // messages that did not parse (ignored)
  };

  KeyClosure();
  ~KeyClosure();
  KeyClosure(const KeyClosure&) = delete;
  KeyClosure& operator=(const KeyClosure&) = delete;

  // What the coalition saw: a RekeyWhole ("NKRW") or a Sealed message ("NKSL").
  void add_whole(std::span<const uint8_t> message);
  void add_sealed(std::span<const uint8_t> message);
  // What it held: any key (leaf, unicast, path key) at `epoch`, and member secrets.
  void add_key(const SymmetricKey& key, uint64_t epoch);
  void add_member_secret(const SymmetricKey& secret, uint64_t epoch);

  // Runs to the fixed point; returns the epochs of `net_keys` (epoch -> the real net
  // key) whose net key the coalition computes.
  std::set<uint64_t> derivable_epochs(const std::map<uint64_t, SymmetricKey>& net_keys);
  // The same fixed point, with team keys: returns the (team, epoch) pairs of
  // `team_keys` (the Root's real ones) whose team key the coalition computes.
  using TeamEpoch = std::pair<uint8_t, uint64_t>;
  // Net key epochs found on the way (team keys are known keys too) go into `epochs`.
  std::set<TeamEpoch> derivable_team_keys(const std::map<uint64_t, SymmetricKey>& net_keys,
                                          const std::map<TeamEpoch, SymmetricKey>& team_keys,
                                          std::set<uint64_t>* epochs = nullptr);
  const Attempts& attempts() const { return attempts_; }

 private:
  struct Entry {
    uint64_t group, epoch;
    uint32_t node, wrapper;
    std::array<uint8_t, 48> ciphertext;
    bool solved = false;
  };
  struct SealedMessage {
    uint64_t group, epoch, seq;
    uint32_t member;
    uint8_t kind;
    std::vector<uint8_t> ciphertext;
    bool opened = false;
  };

  // Adds `key` (32 bytes) as held at `epoch`; returns its index. New keys are queued
  // for trial; every (key, epoch) starts a hash-forward chain.
  // `born`: the first epoch whose messages the key is tried on (see above).
  size_t learn(std::span<const uint8_t> key, uint64_t epoch, uint64_t born = 0);
  void forward(size_t index);
  void try_key(size_t index);
  // `owner`: the slot in secrets_ whose nk-split pairs this message names, or kEvery.
  static constexpr size_t kEvery = SIZE_MAX;
  void open(SealedMessage& m, std::span<const uint8_t> plain, size_t owner);
  void note_body(std::span<const uint8_t> body, bool from_whole, size_t owner);
  void note_pair(uint64_t epoch, uint32_t node, size_t owner);
  void note_hash_forward(uint64_t epoch);
  void derive_splits();
  // Derives `context` (an 8-byte nk-* KDF context) of every key for every epoch named,
  // from the key's `born` epoch up to its watermark in `from` (which then drops to
  // `born`: each (key, epoch) is derived once), and hands each result to `check`.
  void derive_per_epoch(std::vector<uint64_t>& from, const char* context,
                        const std::function<void(std::span<const uint8_t> k, uint64_t epoch)>& check);
  bool derive_net_keys(const std::map<uint64_t, SymmetricKey>& net_keys, std::set<uint64_t>& out);
  bool derive_team_keys(const std::map<TeamEpoch, SymmetricKey>& team_keys, std::set<TeamEpoch>& out);
  uint64_t fingerprint(std::span<const uint8_t> key) const;
  std::optional<size_t> find(std::span<const uint8_t> key) const;

  std::array<uint8_t, 16> fp_key_{};  // SipHash key for fingerprints (not key material)
  std::vector<SymmetricKey> keys_;
  std::vector<uint64_t> born_;        // per key: tried on messages of epochs >= this
  std::vector<uint64_t> tried_from_;  // per key: already tried on epochs >= this
  std::vector<uint64_t> net_from_;    // per key: nk-netky already tried for epochs >= this
  std::vector<uint64_t> team_from_;   // per key: nk-teamk already tried for epochs >= this
  std::vector<uint64_t> first_;       // per key: the first epoch it is known at
  std::unordered_multimap<uint64_t, size_t> index_;
  std::vector<size_t> pending_;
  std::vector<size_t> secrets_;                       // key indexes of member secrets
  std::unordered_map<size_t, size_t> unicast_owner_;  // unicast key index -> secrets_ slot
  std::vector<Entry> entries_;
  std::vector<SealedMessage> sealed_;
  bool sorted_ = false;                                 // entries_ and sealed_ by epoch
  size_t max_sealed_ = 0;                               // the longest Sealed ciphertext
  std::set<uint64_t> epochs_;                           // every epoch a message names
  std::set<uint64_t> hf_epochs_;                        // epochs of HashForward batches
  using Pair = std::tuple<size_t, uint64_t, uint32_t>;  // (owner, epoch, node)
  std::set<Pair> pairs_;                                // named together in one message
  std::set<Pair> split_done_;
  Attempts attempts_;
};

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_KEY_CLOSURE_H_
