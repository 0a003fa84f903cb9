// The key-closure oracle: see key_closure.h. Every formula here is copied from
// docs/PROTOCOL.md ("Primitives", "KDF contexts", "Wrapped key", "Sealed"), not from
// the runtime.
#include "support/key_closure.h"

#include <flatbuffers/flatbuffers.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "netkey/wire/rekey_generated.h"

namespace netkey::testing {

namespace {

namespace w = netkey::wire;
using Key = std::array<uint8_t, 32>;

void put_le(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// crypto_kdf_derive_from_key with an 8-byte context ("Primitives": KDF).
void kdf(Key& out, std::span<const uint8_t> master, const char* context, uint64_t id) {
  crypto_kdf_derive_from_key(out.data(), out.size(), id, context, master.data());
}

// nk-split: keyed BLAKE2b-256(key = member secret, "nk-split" || le64(epoch) || le32(node)).
void split_key(Key& out, std::span<const uint8_t> secret, uint64_t epoch, uint32_t node) {
  uint8_t msg[8 + 12];
  std::memcpy(msg, "nk-split", 8);
  put_le(msg + 8, epoch, 8);
  put_le(msg + 16, node, 4);
  crypto_generichash(out.data(), out.size(), msg, sizeof msg, secret.data(), secret.size());
}

// "Wrapped key": nonce = le32(node) || le64(epoch);
// AD = le64(group) || le64(epoch) || le32(node) || le32(wrapper).
bool unwrap(Key& out, std::span<const uint8_t> key, uint64_t group, uint64_t epoch, uint32_t node,
            uint32_t wrapper, const std::array<uint8_t, 48>& ciphertext) {
  uint8_t nonce[12], ad[24];
  put_le(nonce, node, 4);
  put_le(nonce + 4, epoch, 8);
  put_le(ad, group, 8);
  put_le(ad + 8, epoch, 8);
  put_le(ad + 16, node, 4);
  put_le(ad + 20, wrapper, 4);
  unsigned long long n = 0;
  return crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, ciphertext.data(),
                                                   ciphertext.size(), ad, sizeof ad, nonce,
                                                   key.data()) == 0;
}

// "Sealed": nonce = le32(kind) || le64(seq); AD = le64(group) || le64(epoch) ||
// le32(member) || le64(seq) || u8(kind). `out` has room (no reallocation, which would
// leave a plaintext behind unwiped).
bool open_sealed(std::vector<uint8_t>& out, std::span<const uint8_t> key, uint64_t group,
                 uint64_t epoch, uint32_t member, uint64_t seq, uint8_t kind,
                 const std::vector<uint8_t>& ciphertext) {
  if (ciphertext.size() < crypto_aead_chacha20poly1305_ietf_ABYTES) return false;
  if (out.capacity() < ciphertext.size()) std::abort();
  uint8_t nonce[12], ad[29];
  put_le(nonce, kind, 4);
  put_le(nonce + 4, seq, 8);
  put_le(ad, group, 8);
  put_le(ad + 8, epoch, 8);
  put_le(ad + 16, member, 4);
  put_le(ad + 20, seq, 8);
  ad[28] = kind;
  out.resize(ciphertext.size() - crypto_aead_chacha20poly1305_ietf_ABYTES);
  unsigned long long n = 0;
  return crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, ciphertext.data(),
                                                   ciphertext.size(), ad, sizeof ad, nonce,
                                                   key.data()) == 0;
}

template <typename T>
const T* verified(std::vector<uint8_t>& copy, const char* identifier) {
  flatbuffers::Verifier v(copy.data(), copy.size());
  if (!v.VerifyBuffer<T>(identifier)) return nullptr;
  return flatbuffers::GetRoot<T>(copy.data());
}

struct Wiped {  // a heap buffer that may hold keys in the clear; never grows once made
  std::vector<uint8_t> bytes;
  explicit Wiped(std::span<const uint8_t> from) : bytes(from.begin(), from.end()) {}
  explicit Wiped(size_t capacity) { bytes.reserve(capacity); }
  ~Wiped() { sodium_memzero(bytes.data(), bytes.capacity()); }
};

}  // namespace

KeyClosure::KeyClosure() {
  if (sodium_init() < 0) std::abort();
  randombytes_buf(fp_key_.data(), fp_key_.size());
}

KeyClosure::~KeyClosure() = default;  // SymmetricKey wipes itself

uint64_t KeyClosure::fingerprint(std::span<const uint8_t> key) const {
  uint8_t h[crypto_shorthash_BYTES];
  crypto_shorthash(h, key.data(), key.size(), fp_key_.data());
  uint64_t out = 0;
  std::memcpy(&out, h, sizeof out);
  return out;
}

std::optional<size_t> KeyClosure::find(std::span<const uint8_t> key) const {
  auto [lo, hi] = index_.equal_range(fingerprint(key));
  for (auto it = lo; it != hi; ++it) {
    if (sodium_memcmp(keys_[it->second].data(), key.data(), 32) == 0) return it->second;
  }
  return std::nullopt;
}

size_t KeyClosure::learn(std::span<const uint8_t> key, uint64_t epoch, uint64_t born) {
  std::optional<size_t> known = find(key);
  if (!known) {
    const size_t index = keys_.size();
    keys_.push_back(SymmetricKey::from_bytes(key));
    born_.push_back(born);
    tried_from_.push_back(UINT64_MAX);
    net_from_.push_back(UINT64_MAX);
    team_from_.push_back(UINT64_MAX);
    first_.push_back(epoch);
    index_.emplace(fingerprint(key), index);
    pending_.push_back(index);
    forward(index);
    return index;
  }
  const size_t index = *known;
  if (born < born_[index]) {  // now known from earlier on: try it on older messages too
    born_[index] = born;
    pending_.push_back(index);
  }
  if (epoch < first_[index]) {
    first_[index] = epoch;
    forward(index);
  }
  return index;
}

// nk-fwdky at the next hash-forward epoch after the key's first epoch: what it becomes
// if it survives to that batch. The result starts its own chain.
void KeyClosure::forward(size_t index) {
  auto next = hf_epochs_.upper_bound(first_[index]);
  if (next == hf_epochs_.end()) return;
  Key k;
  kdf(k, keys_[index].bytes(), "nk-fwdky", *next);
  ++attempts_.derivations;
  learn(k, *next, *next);
  sodium_memzero(k.data(), k.size());
}

void KeyClosure::note_pair(uint64_t epoch, uint32_t node, size_t owner) {
  epochs_.insert(epoch);
  pairs_.insert({owner, epoch, node});
}

void KeyClosure::note_hash_forward(uint64_t epoch) {
  if (!hf_epochs_.insert(epoch).second) return;
  // A newly known hash-forward epoch may come before a key's next step: step again.
  for (size_t i = 0; i < keys_.size(); ++i) forward(i);
}

// Notes what a RekeyBody names: its epoch, its kind, the node ids in moves, entries and
// path keys. A Whole's entries are kept for trial; a Slice's path keys are learned.
void KeyClosure::note_body(std::span<const uint8_t> body, bool from_whole, size_t owner) {
  Wiped copy(body);  // aligned, and it may hold path keys
  const auto* b = verified<w::RekeyBody>(copy.bytes, nullptr);
  if (b == nullptr) {
    ++attempts_.unparsed;
    return;
  }
  epochs_.insert(b->epoch());
  if (b->kind() == w::RekeyKind::HashForward) note_hash_forward(b->epoch());
  if (b->moves() != nullptr) {
    for (const w::LeafMove* m : *b->moves()) {
      note_pair(b->epoch(), m->from(), owner);
      note_pair(b->epoch(), m->to(), owner);
    }
  }
  if (from_whole && b->entries() != nullptr) {
    for (const w::WrappedKey* e : *b->entries()) {
      Entry entry{b->group_id(), b->epoch(), e->node(), e->wrapper(), {}, false};
      std::memcpy(entry.ciphertext.data(), e->ciphertext()->data(), entry.ciphertext.size());
      entries_.push_back(entry);
      note_pair(b->epoch(), e->node(), owner);
      note_pair(b->epoch(), e->wrapper(), owner);
    }
  }
  if (!from_whole && b->path_keys() != nullptr) {
    for (const w::PathKey* k : *b->path_keys()) {
      note_pair(b->epoch(), k->node(), owner);
      learn({k->key()->data(), 32}, b->epoch());
    }
  }
}

void KeyClosure::add_whole(std::span<const uint8_t> message) {
  if (sorted_) std::abort();  // misuse: every message comes before derivable_epochs()
  std::vector<uint8_t> copy(message.begin(), message.end());
  const auto* whole = verified<w::RekeyWhole>(copy, "NKRW");
  if (whole == nullptr || whole->body() == nullptr) {
    ++attempts_.unparsed;
    return;
  }
  note_body({whole->body()->data(), whole->body()->size()}, true, kEvery);
}

void KeyClosure::add_sealed(std::span<const uint8_t> message) {
  if (sorted_) std::abort();  // misuse: every message comes before derivable_epochs()
  std::vector<uint8_t> copy(message.begin(), message.end());
  const auto* s = verified<w::Sealed>(copy, "NKSL");
  if (s == nullptr || s->ciphertext() == nullptr) {
    ++attempts_.unparsed;
    return;
  }
  epochs_.insert(s->epoch());
  sealed_.push_back(
      {s->group_id(), s->epoch(), s->seq(), s->member(), static_cast<uint8_t>(s->kind()),
       std::vector<uint8_t>(s->ciphertext()->begin(), s->ciphertext()->end()), false});
}

void KeyClosure::add_key(const SymmetricKey& key, uint64_t epoch) { learn(key.bytes(), epoch); }

void KeyClosure::add_member_secret(const SymmetricKey& secret, uint64_t epoch) {
  secrets_.push_back(learn(secret.bytes(), epoch));
  Key k;
  kdf(k, secret.bytes(), "nk-leafw", 0);
  learn(k, epoch);
  kdf(k, secret.bytes(), "nk-unica", 0);
  unicast_owner_.emplace(learn(k, epoch), secrets_.size() - 1);
  attempts_.derivations += 2;
  sodium_memzero(k.data(), k.size());
}

// An opened Welcome or Resync (a PathBody), or a Slice (a RekeyBody).
void KeyClosure::open(SealedMessage& m, std::span<const uint8_t> plain, size_t owner) {
  m.opened = true;
  ++attempts_.opened;
  if (m.kind == 1) {
    note_body(plain, false, owner);
    return;
  }
  Wiped copy(plain);
  if (const auto* p = verified<w::PathBody>(copy.bytes, nullptr);
      p != nullptr && p->path() != nullptr) {
    note_pair(p->epoch(), p->leaf(), owner);
    for (const w::PathKey* k : *p->path()) {
      note_pair(p->epoch(), k->node(), owner);
      learn({k->key()->data(), 32}, p->epoch());
    }
  } else {
    ++attempts_.unparsed;
  }
}

// One key against every wrapped entry and every sealed message not yet opened, of the
// epochs it has not been tried on yet (from its `born` epoch on).
void KeyClosure::try_key(size_t index) {
  const uint64_t lo = born_[index], hi = tried_from_[index];
  if (lo >= hi) return;
  tried_from_[index] = lo;
  auto first_entry = std::partition_point(entries_.begin(), entries_.end(),
                                          [&](const Entry& e) { return e.epoch < lo; });
  Key out;
  for (size_t i = static_cast<size_t>(first_entry - entries_.begin());
       i < entries_.size() && entries_[i].epoch < hi; ++i) {
    Entry& e = entries_[i];
    if (e.solved) continue;
    ++attempts_.unwrap_trials;
    if (unwrap(out, keys_[index].bytes(), e.group, e.epoch, e.node, e.wrapper, e.ciphertext)) {
      e.solved = true;
      ++attempts_.unwrapped;
      learn(out, e.epoch);
    }
  }
  sodium_memzero(out.data(), out.size());
  auto first_sealed = std::partition_point(sealed_.begin(), sealed_.end(),
                                           [&](const SealedMessage& m) { return m.epoch < lo; });
  Wiped plain(max_sealed_);
  for (size_t i = static_cast<size_t>(first_sealed - sealed_.begin());
       i < sealed_.size() && sealed_[i].epoch < hi; ++i) {
    SealedMessage& m = sealed_[i];
    if (m.opened) continue;
    ++attempts_.open_trials;
    if (open_sealed(plain.bytes, keys_[index].bytes(), m.group, m.epoch, m.member, m.seq, m.kind,
                    m.ciphertext)) {
      auto owner = unicast_owner_.find(index);
      open(m, plain.bytes, owner == unicast_owner_.end() ? kEvery : owner->second);
    }
  }
}

// nk-split for every (epoch, node) pair one message named together, at the
// hash-forward epochs, from the secret the pair goes with (or every secret).
void KeyClosure::derive_splits() {
  Key k;
  for (const auto& [owner, e, node] : std::vector<Pair>(pairs_.begin(), pairs_.end())) {
    if (!hf_epochs_.count(e) || !split_done_.insert({owner, e, node}).second) continue;
    for (size_t slot = 0; slot < secrets_.size(); ++slot) {
      if (owner != kEvery && owner != slot) continue;
      split_key(k, keys_[secrets_[slot]].bytes(), e, node);
      ++attempts_.derivations;
      learn(k, e, e);
    }
  }
  sodium_memzero(k.data(), k.size());
}

void KeyClosure::derive_per_epoch(std::vector<uint64_t>& from, const char* context,
                                  const std::function<void(std::span<const uint8_t> k, uint64_t epoch)>& check) {
  Key k;
  for (size_t i = 0; i < keys_.size(); ++i) {  // check() may learn keys: size() grows
    const uint64_t lo = born_[i], hi = from[i];
    if (lo >= hi) continue;
    from[i] = lo;
    for (auto e = epochs_.lower_bound(lo); e != epochs_.end() && *e < hi; ++e) {
      kdf(k, keys_[i].bytes(), context, *e);
      ++attempts_.derivations;
      check(k, *e);
    }
  }
  sodium_memzero(k.data(), k.size());
}

// nk-netky of every key for every epoch named (from its `born` epoch on); returns true
// if a net key was found.
bool KeyClosure::derive_net_keys(const std::map<uint64_t, SymmetricKey>& net_keys,
                                 std::set<uint64_t>& out) {
  bool found = false;
  derive_per_epoch(net_from_, "nk-netky", [&](std::span<const uint8_t> k, uint64_t e) {
    auto real = net_keys.find(e);
    if (real == net_keys.end() || sodium_memcmp(k.data(), real->second.data(), 32) != 0) return;
    if (out.insert(e).second) found = true;
    learn(k, e, e);
  });
  return found;
}

// nk-teamk of every key for every epoch named (from its `born` epoch on), against every
// real team key of that epoch; returns true if one was found.
bool KeyClosure::derive_team_keys(const std::map<TeamEpoch, SymmetricKey>& team_keys,
                                  std::set<TeamEpoch>& out) {
  std::map<uint64_t, std::vector<std::pair<uint8_t, const SymmetricKey*>>> by_epoch;
  for (const auto& [te, key] : team_keys) by_epoch[te.second].emplace_back(te.first, &key);
  bool found = false;
  derive_per_epoch(team_from_, "nk-teamk", [&](std::span<const uint8_t> k, uint64_t e) {
    auto real = by_epoch.find(e);
    if (real == by_epoch.end()) return;
    for (const auto& [team, key] : real->second) {
      if (sodium_memcmp(k.data(), key->data(), 32) != 0) continue;
      if (out.insert({team, e}).second) found = true;
      learn(k, e, e);
    }
  });
  return found;
}

std::set<KeyClosure::TeamEpoch> KeyClosure::derivable_team_keys(
    const std::map<uint64_t, SymmetricKey>& net_keys, const std::map<TeamEpoch, SymmetricKey>& team_keys,
    std::set<uint64_t>* epochs) {
  std::set<TeamEpoch> out;
  do {
    std::set<uint64_t> found = derivable_epochs(net_keys);  // the fixed point of everything else
    if (epochs != nullptr) epochs->insert(found.begin(), found.end());
  } while (derive_team_keys(team_keys, out));
  attempts_.keys = keys_.size();
  return out;
}

std::set<uint64_t> KeyClosure::derivable_epochs(const std::map<uint64_t, SymmetricKey>& net_keys) {
  if (!sorted_) {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.epoch < b.epoch; });
    std::stable_sort(
        sealed_.begin(), sealed_.end(),
        [](const SealedMessage& a, const SealedMessage& b) { return a.epoch < b.epoch; });
    sorted_ = true;
    for (const SealedMessage& m : sealed_) max_sealed_ = std::max(max_sealed_, m.ciphertext.size());
  }
  std::set<uint64_t> out;
  for (;;) {
    derive_splits();
    while (!pending_.empty()) {
      const size_t index = pending_.back();
      pending_.pop_back();
      try_key(index);
      if (pending_.empty()) derive_splits();  // opened messages may name new nodes
    }
    if (!derive_net_keys(net_keys, out) && pending_.empty()) break;
  }
  attempts_.keys = keys_.size();
  return out;
}

}  // namespace netkey::testing
