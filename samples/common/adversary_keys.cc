#include "common/adversary_keys.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "netkey/rekey_codec.h"
#include "netkey/wire/rekey_generated.h"
#include "src/wire/verify.h"

namespace netkey::demo {
namespace {

constexpr wire::VerifyLimits kWholeLimits{kMaxWholeBytes, 4, 8};
constexpr wire::VerifyLimits kSealedLimits{kMaxSealedBytes, 4, 8};
constexpr size_t kMaxLoggedSplits = 4096;

bool has_identifier(std::span<const uint8_t> b, const char* id) {
  return b.size() >= 8 && std::memcmp(b.data() + 4, id, 4) == 0;
}

SymmetricKey key_of(const wire::PathKey& k) { return SymmetricKey::from_bytes({k.key()->data(), 32}); }

// The nodes an LKH+ move creates by splitting: `from` and every node between it and `to`
// (a leaf split twice in one batch moves down two levels).
std::vector<NodeId> split_chain(NodeId from, NodeId to, unsigned degree) {
  std::vector<NodeId> chain;
  if (degree >= kMinDegree) {
    for (NodeId n = to; n > from;) {
      n = (n - 1) / degree;
      chain.push_back(n);
    }
  }
  if (chain.empty() || chain.back() != from) chain.assign(1, from);
  return chain;
}

bool within(uint64_t a, uint64_t b, uint64_t window) { return a + window >= b && b + window >= a; }

}  // namespace

KeyPool::KeyPool(uint64_t group_id) : group_id_(group_id) {
  if (sodium_init() < 0) std::abort();
  randombytes_buf(fp_key_.data(), fp_key_.size());
}

uint64_t KeyPool::fingerprint(const SymmetricKey& k) const {
  uint8_t h[crypto_shorthash_BYTES];
  crypto_shorthash(h, k.data(), SymmetricKey::kSize, fp_key_.data());
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | h[i];
  return v;
}

bool KeyPool::learn(KeyRole role, uint32_t label, uint64_t epoch, SymmetricKey key, uint64_t seen, bool forwarded) {
  if (seen == 0) seen = epoch;
  const uint64_t fp = fingerprint(key);
  auto [lo, hi] = index_.equal_range(fp);
  for (auto it = lo; it != hi; ++it) {
    Held& h = keys_[it->second];
    if (h.role != role || (h.label != label && label != kUnplaced) || !(h.key == key)) continue;
    if (seen <= h.seen) return false;
    h.seen = seen;  // brought again: recent again, and tried again on what is recent
    if (!h.in_recent && recent(h, newest_epoch_, kCrossEpochs)) {
      h.in_recent = true;
      recent_.push_back(it->second);
    }
    if (role == KeyRole::kNode) {
      unforwarded_.push_back(it->second);
      forward_dirty_ = true;
    }
    pending_.push_back(it->second);
    return true;
  }
  const auto k = static_cast<uint32_t>(keys_.size());
  index_.emplace(fp, k);
  keys_.push_back({std::move(key), role, label, epoch, seen, forwarded});
  if (role == KeyRole::kNode) {
    node_keys_[label].push_back(k);
    unforwarded_.push_back(k);
    forward_dirty_ = true;
    if (label == kRootNode) root_keys_.push_back(k);
  }
  if (role == KeyRole::kUnicast) unicast_keys_[label].push_back(k);
  if (role == KeyRole::kSecret) secrets_.push_back(k);
  if (recent(keys_[k], newest_epoch_, kCrossEpochs)) {
    keys_[k].in_recent = true;
    recent_.push_back(k);
  }
  pending_.push_back(k);
  return true;
}

void KeyPool::add(KeyRole role, uint32_t label, uint64_t epoch, SymmetricKey key) {
  learn(role, label, epoch, std::move(key));
}

void KeyPool::add_net(uint64_t epoch, SymmetricKey net) {
  const uint64_t fp = fingerprint(net);
  auto [lo, hi] = net_index_.equal_range(fp);
  for (auto it = lo; it != hi; ++it) {
    if (nets_[it->second].key == net) return;
  }
  net_index_.emplace(fp, nets_.size());
  nets_.push_back(candidate(std::move(net), epoch));
}

NetKeyCandidate KeyPool::candidate(SymmetricKey net, uint64_t epoch) const {
  SymmetricKey root_sender = spec::traffic_key(net, 0);
  return {std::move(net), epoch, std::move(root_sender)};
}

size_t KeyPool::net_count() const {
  size_t n = nets_.size();
  for (const auto& [epoch, slot] : window_) n += slot.nets.size();
  return n;
}

void KeyPool::see_epoch(uint64_t epoch) {
  if (epoch <= newest_epoch_) return;
  newest_epoch_ = epoch;
  recent_.clear();
  for (uint32_t k = 0; k < keys_.size(); ++k) {
    keys_[k].in_recent = recent(keys_[k], epoch, kCrossEpochs);
    if (keys_[k].in_recent) recent_.push_back(k);
  }
  window_.erase(window_.begin(), window_.lower_bound(epoch));
  for (uint64_t e : {epoch, epoch + 1}) {
    WindowSlot& slot = window_[e];
    for (uint32_t k : root_keys_) fill_slot(e, slot, k);
    for (uint32_t k : recent_) {
      if (!keys_[k].forwarded) fill_slot(e, slot, k);
    }
  }
  while (!sealed_.empty() && sealed_.front().header.epoch + kCrossEpochs < epoch) sealed_.pop_front();
}

void KeyPool::log_rekey(std::span<const uint8_t> bytes) {
  close();
  if (has_identifier(bytes, "NKRW")) log_whole(bytes);
  if (has_identifier(bytes, "NKSL")) log_sealed(bytes);
  close();
}

void KeyPool::log_whole(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());  // aligned for the Verifier
  auto whole = wire::verify_flatbuffer<wire::RekeyWhole>(copy, "NKRW", kWholeLimits, "rekey");
  if (!whole || (*whole)->body() == nullptr) return;
  std::vector<uint8_t> body((*whole)->body()->begin(), (*whole)->body()->end());
  auto rb = wire::verify_flatbuffer<wire::RekeyBody>(body, nullptr, kWholeLimits, "rekey body");
  if (!rb) return;
  if (group_id_ == 0) group_id_ = (*rb)->group_id();  // learnt from the first rekey seen
  if ((*rb)->group_id() != group_id_) return;
  const wire::RekeyBody& b = **rb;
  const uint64_t epoch = b.epoch();
  see_epoch(epoch);
  if (b.kind() == wire::RekeyKind::HashForward) {
    hf_epochs_.insert(epoch);
    forward_dirty_ = true;
  }
  if (b.kind() == wire::RekeyKind::HashForward && b.moves() != nullptr && b.moves()->size() != 0) {
    LoggedSplit s{epoch, {}};
    for (const wire::LeafMove* m : *b.moves()) {
      s.moves.push_back({m->from(), split_chain(m->from(), m->to(), b.degree())});
    }
    for (size_t i = 0, n = secrets_.size(); i < n; ++i) split_with(secrets_[i], s);
    splits_.push_back(std::move(s));
    if (splits_.size() > kMaxLoggedSplits) splits_.pop_front();
  }
  if (b.path_keys() != nullptr) {  // keys in the clear (never in a correct Whole): everyone has them
    for (const wire::PathKey* k : *b.path_keys()) learn(KeyRole::kNode, k->node(), epoch, key_of(*k));
  }
  if (b.entries() == nullptr || b.entries()->size() == 0) return;
  LoggedWhole w{epoch, {}, {}};
  w.entries.reserve(b.entries()->size());
  for (const wire::WrappedKey* e : *b.entries()) {
    spec::Wrapped x{e->node(), e->wrapper(), {}};
    std::memcpy(x.ciphertext.data(), e->ciphertext()->data(), x.ciphertext.size());
    w.entries.push_back(x);
  }
  w.opened.assign(w.entries.size(), false);
  logged_entries_ += w.entries.size();
  wholes_.push_back(std::move(w));
  try_whole(wholes_.back());
  while (logged_entries_ > kMaxLoggedEntries && wholes_.size() > 1) {
    logged_entries_ -= wholes_.front().entries.size();
    wholes_.pop_front();
  }
}

void KeyPool::log_sealed(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  auto sealed = wire::verify_flatbuffer<wire::Sealed>(copy, "NKSL", kSealedLimits, "sealed message");
  if (!sealed || (*sealed)->ciphertext() == nullptr) return;
  if (group_id_ == 0) group_id_ = (*sealed)->group_id();  // learnt from the first rekey seen
  if ((*sealed)->group_id() != group_id_) return;
  const wire::Sealed& m = **sealed;
  see_epoch(m.epoch());
  sealed_.push_back({{m.group_id(), m.epoch(), m.member(), m.seq(), static_cast<uint8_t>(m.kind())},
                     std::vector<uint8_t>(m.ciphertext()->begin(), m.ciphertext()->end()),
                     false});
  if (sealed_.size() > kMaxLoggedSealed) sealed_.pop_front();
  try_sealed(sealed_.size() - 1);
}

// A new Whole: each entry with the node keys its wrapper names, then every recent key.
void KeyPool::try_whole(LoggedWhole& w) {
  for (size_t e = 0; e < w.entries.size(); ++e) {
    const NodeId wrapper = w.entries[e].wrapper;
    if (auto it = node_keys_.find(wrapper); it != node_keys_.end()) {
      const std::vector<uint32_t> named = it->second;  // learn() may grow the index
      for (uint32_t k : named) {
        if (try_entry(w, e, k)) break;
      }
    }
    for (size_t i = 0, n = recent_.size(); i < n && !w.opened[e]; ++i) {
      const Held& h = keys_[recent_[i]];
      if (h.role == KeyRole::kNode && h.label == wrapper) continue;  // tried above
      if (recent(h, w.epoch, kCrossEpochs)) try_entry(w, e, recent_[i]);
    }
  }
}

bool KeyPool::try_entry(LoggedWhole& w, size_t e, uint32_t k) {
  if (w.opened[e]) return true;
  ++trials_;
  auto key = spec::unwrap(w.entries[e], keys_[k].key, group_id_, w.epoch);
  if (!key) return false;
  w.opened[e] = true;
  learn(KeyRole::kNode, w.entries[e].node, w.epoch, std::move(key).value());
  return true;
}

// A new Sealed message: the unicast keys of the member it names, then every recent
// unicast key and secret.
void KeyPool::try_sealed(size_t i) {
  const uint32_t member = sealed_[i].header.member;
  const uint64_t epoch = sealed_[i].header.epoch;
  if (auto it = unicast_keys_.find(member); it != unicast_keys_.end()) {
    const std::vector<uint32_t> named = it->second;
    for (uint32_t k : named) {
      if (try_open(i, k)) return;
    }
  }
  for (size_t r = 0, n = recent_.size(); r < n && !sealed_[i].opened; ++r) {
    const Held& h = keys_[recent_[r]];
    if (h.role == KeyRole::kNode || (h.role == KeyRole::kUnicast && h.label == member)) continue;
    if (recent(h, epoch, kNearEpochs)) try_open(i, recent_[r]);
  }
}

bool KeyPool::try_open(size_t i, uint32_t k) {
  LoggedSealed& s = sealed_[i];
  if (s.opened) return true;
  ++trials_;
  if (!spec::open_sealed(s.header, s.ciphertext, keys_[k].key, plain_)) return false;
  s.opened = true;
  const spec::SealedHeader h = s.header;
  learn_sealed_plaintext(h, plain_);
  sodium_memzero(plain_.data(), plain_.size());
  return true;
}

void KeyPool::learn_sealed_plaintext(const spec::SealedHeader& h, std::span<const uint8_t> plain) {
  if (h.kind == static_cast<uint8_t>(SealedKind::kSlice)) {
    auto rb = wire::verify_flatbuffer<wire::RekeyBody>(plain, nullptr, kSealedLimits, "slice");
    if (!rb || (*rb)->path_keys() == nullptr) return;
    for (const wire::PathKey* k : *(*rb)->path_keys()) learn(KeyRole::kNode, k->node(), (*rb)->epoch(), key_of(*k));
    return;
  }
  auto pb = wire::verify_flatbuffer<wire::PathBody>(plain, nullptr, kSealedLimits, "path");
  if (!pb || (*pb)->path() == nullptr) return;
  for (const wire::PathKey* k : *(*pb)->path()) learn(KeyRole::kNode, k->node(), (*pb)->epoch(), key_of(*k));
}

void KeyPool::close() {
  for (;;) {
    while (!pending_.empty()) {
      const uint32_t k = pending_.back();
      pending_.pop_back();
      process(k);
    }
    if (!forward_keys()) break;
  }
}

// A key learned (or brought again): everything it derives and everything it opens.
void KeyPool::process(uint32_t k) {
  if (keys_[k].role == KeyRole::kSecret) {
    derive_member_keys(k);
    for (const LoggedSplit& s : splits_) split_with(k, s);
  }
  replay_wholes(k);
  replay_sealed(k);
  offer_net(k);
}

void KeyPool::derive_member_keys(uint32_t k) {
  const SymmetricKey secret = keys_[k].key.clone();
  const uint32_t member = keys_[k].label;
  const uint64_t seen = keys_[k].seen;
  learn(KeyRole::kNode, kUnplaced, seen, spec::leaf_key(secret));
  learn(KeyRole::kUnicast, member, seen, spec::unicast_key(secret));
}

// The split keys a secret gives for the moves of one LKH+ Whole: the moves of the leaf
// its member was last seen at, and every move when the secret is near that epoch.
void KeyPool::split_with(uint32_t k, const LoggedSplit& s) {
  const auto placed = member_leaf_.find(keys_[k].label);
  const bool near = within(keys_[k].seen, s.epoch, kNearEpochs);
  SymmetricKey secret;
  bool cloned = false;
  for (const SplitMove& m : s.moves) {
    if (!near && (placed == member_leaf_.end() || placed->second != m.from)) continue;
    if (!cloned) {
      secret = keys_[k].key.clone();
      cloned = true;
    }
    for (NodeId node : m.nodes) {
      learn(KeyRole::kNode, node, s.epoch, spec::split_key(secret, s.epoch, node));
      learn(KeyRole::kNode, node, s.epoch, spec::split_key_unbound(secret, s.epoch));
    }
  }
}

// Logged Wholes, newest first: the entries its wrapper label names from its first epoch
// on, and every entry within kCrossEpochs of when it was seen.
void KeyPool::replay_wholes(uint32_t k) {
  const KeyRole role = keys_[k].role;
  const uint32_t label = keys_[k].label;
  const uint64_t first = keys_[k].epoch, seen = keys_[k].seen;
  for (auto it = wholes_.rbegin(); it != wholes_.rend(); ++it) {
    LoggedWhole& w = *it;
    const bool cross = within(w.epoch, seen, kCrossEpochs);
    const bool named = role == KeyRole::kNode && w.epoch >= first;
    if (!cross && !named) {
      if (w.epoch + kCrossEpochs < seen && (role != KeyRole::kNode || w.epoch < first)) break;
      continue;
    }
    for (size_t e = 0; e < w.entries.size(); ++e) {
      if (!w.opened[e] && (cross || w.entries[e].wrapper == label)) try_entry(w, e, k);
    }
  }
}

void KeyPool::replay_sealed(uint32_t k) {
  const KeyRole role = keys_[k].role;
  if (role == KeyRole::kNode) return;
  const uint32_t label = keys_[k].label;
  const uint64_t first = keys_[k].epoch, seen = keys_[k].seen;
  for (size_t i = sealed_.size(); i-- > 0;) {
    const spec::SealedHeader& h = sealed_[i].header;
    const bool cross = within(h.epoch, seen, kNearEpochs);
    const bool named = role == KeyRole::kUnicast && h.member == label && h.epoch >= first;
    if (!sealed_[i].opened && (cross || named)) try_open(i, k);
  }
}

bool KeyPool::forward_keys() {
  if (hf_epochs_.empty() || !forward_dirty_) return false;
  forward_dirty_ = false;
  bool any = false;
  std::vector<uint32_t> todo;
  todo.swap(unforwarded_);
  std::vector<uint32_t> waiting;
  for (uint32_t k : todo) {
    // A node key steps forward at the first LKH+ epoch after the one it is valid from,
    // while that is within kCrossEpochs of when it (or its chain's origin) was obtained.
    auto next = hf_epochs_.upper_bound(keys_[k].epoch);
    if (next == hf_epochs_.end()) {
      waiting.push_back(k);
      continue;
    }
    if (*next > keys_[k].seen + kCrossEpochs) continue;  // the chain ends (until seen again)
    SymmetricKey forwarded = spec::forward_key(keys_[k].key, *next);
    any = learn(KeyRole::kNode, keys_[k].label, *next, std::move(forwarded), keys_[k].seen, true) || any;
  }
  unforwarded_.insert(unforwarded_.end(), waiting.begin(), waiting.end());
  return any;
}

// Net keys: a root key at the epochs it was held at, and every root or recent key for
// the window's epochs.
void KeyPool::offer_net(uint32_t k) {
  const Held& h = keys_[k];
  const bool root = h.role == KeyRole::kNode && h.label == kRootNode;
  if (root) {
    add_net(h.epoch, spec::net_key(h.key, h.epoch));
    if (h.seen != h.epoch) add_net(h.seen, spec::net_key(h.key, h.seen));
  }
  if (!root && (!h.in_recent || h.forwarded)) return;
  for (auto& [epoch, slot] : window_) fill_slot(epoch, slot, k);
}

void KeyPool::fill_slot(uint64_t epoch, WindowSlot& slot, uint32_t k) {
  const Held& h = keys_[k];
  if (h.role == KeyRole::kNode && h.label == kRootNode && (h.epoch == epoch || h.seen == epoch)) return;  // in nets_
  if (!slot.from.insert(k).second) return;
  slot.nets.push_back(candidate(spec::net_key(h.key, epoch), epoch));
}

}  // namespace netkey::demo
