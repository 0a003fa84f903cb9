#include "support/key_closure.h"

#include <algorithm>
#include <array>

#include "netkey/kdf.h"
#include "src/keytree/wrap.h"

namespace netkey::testing {

namespace {
SymmetricKey key_of(const std::vector<uint8_t>& b) { return SymmetricKey::from_bytes(b); }
std::vector<uint8_t> bytes_of(const SymmetricKey& k) { return {k.data(), k.data() + 32}; }
}  // namespace

KeyClosure::KeyClosure(uint64_t group_id, const std::vector<SimBatch>& batches)
    : group_id_(group_id), batches_(batches) {
  for (size_t b = 0; b < batches.size(); ++b) {
    const RekeyPlan& p = batches[b].plan;
    if (p.kind == RekeyKind::kHashForward) hf_epochs_.push_back(p.epoch);
    for (size_t i = 0; i < p.entries.size(); ++i) by_wrapper_[p.entries[i].wrapper].push_back({b, i});
  }
}

void KeyClosure::learn(NodeId node, std::vector<uint8_t> key, uint64_t valid_from) {
  std::array<char, 36> raw{};
  std::copy(key.begin(), key.end(), raw.begin());
  for (size_t i = 0; i < 4; ++i) raw[32 + i] = static_cast<char>(node >> (8 * i));
  std::string tagged(raw.data(), raw.size());
  if (!seen_.insert(tagged).second) return;
  ++known_count_;
  work_.push_back({node, Known{std::move(key), valid_from}});
}

void KeyClosure::add_member(const SimMember& m) {
  for (const HeldKey& h : m.held) learn(h.node, h.key, h.valid_from);
  secrets_.push_back(bytes_of(m.secret));
}

std::set<uint64_t> KeyClosure::derivable_epochs(
    const std::map<uint64_t, std::vector<uint8_t>>& net_keys) {
  // Split-node keys from every secret, for every LKH+ split in the log.
  for (const SimBatch& b : batches_) {
    for (NodeId p : b.split_nodes) {
      for (const auto& s : secrets_) learn(p, bytes_of(split_node_key(key_of(s), b.plan.epoch, p)), b.plan.epoch);
    }
  }
  while (!work_.empty()) {
    auto [node, k] = std::move(work_.back());
    work_.pop_back();
    SymmetricKey key = key_of(k.key);
    // Unwrap every unsolved entry sealed under this node.
    auto it = by_wrapper_.find(node);
    if (it != by_wrapper_.end()) {
      for (const auto& [b, i] : it->second) {
        if (solved_.count({b, i})) continue;
        const RekeyPlan& p = batches_[b].plan;
        auto r = detail::unwrap_key(p.entries[i], key, group_id_, p.epoch);
        if (r.is_ok()) {
          solved_.insert({b, i});
          learn(p.entries[i].node, bytes_of(*r), p.epoch);
        }
      }
    }
    // Hash-forward at the next LKH+ epoch after the key was valid.
    auto hf = std::upper_bound(hf_epochs_.begin(), hf_epochs_.end(), k.valid_from);
    if (hf != hf_epochs_.end()) learn(node, bytes_of(kdf_derive(key, kdf_ctx::kForward, *hf)), *hf);
    known_[node].push_back(std::move(k));
  }
  std::set<uint64_t> out;
  for (const Known& k : known_[kRootNode]) {
    SymmetricKey key = key_of(k.key);
    for (const auto& [epoch, net] : net_keys) {
      if (epoch < k.valid_from || out.count(epoch)) continue;
      if (net_key_from_root(key, epoch) == key_of(net)) out.insert(epoch);
    }
  }
  return out;
}

}  // namespace netkey::testing
