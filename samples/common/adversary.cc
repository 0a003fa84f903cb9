#include "common/adversary.h"

#include <algorithm>
#include <cstring>

#include "netkey/aead.h"
#include "netkey/kdf.h"
#include "netkey/rekey_codec.h"
#include "netkey/wire/rekey_generated.h"
#include "src/keytree/wrap.h"
#include "src/wire/verify.h"

namespace netkey::demo {

Adversary::Adversary(uint64_t group_id, AeadSuite suite) : group_id_(group_id), suite_(suite) {}

void Adversary::learn_net(uint64_t epoch, SymmetricKey key) {
  auto& v = net_keys_[epoch];
  for (const auto& k : v) {
    if (k == key) return;
  }
  v.push_back(std::move(key));
}

void Adversary::absorb(MemberId member, const std::vector<std::pair<NodeId, const SymmetricKey*>>& path,
                       uint64_t epoch, const SymmetricKey& net_key) {
  Escrow e{{}, epoch, net_key.clone()};
  for (const auto& [node, key] : path) e.path.emplace_back(node, key->clone());
  escrow_.insert_or_assign(member, std::move(e));
}

void Adversary::removed(MemberId member, uint64_t epoch) {
  auto it = escrow_.find(member);
  if (it == escrow_.end()) return;
  for (auto& [node, key] : it->second.path) node_keys_[node].push_back(std::move(key));
  learn_net(it->second.epoch, std::move(it->second.net));
  escrow_.erase(it);
  ++active_;
  threshold_ = threshold_ == UINT64_MAX ? epoch : std::max(threshold_, epoch);
}

void Adversary::observe(Channel channel, std::span<const uint8_t> bytes) {
  if (active_ == 0) return;
  if (channel == Channel::kRekey) {
    // Whole rekeys: unwrap whatever it can with the node keys it holds.
    if (bytes.size() < 8 || std::memcmp(bytes.data() + 4, "NKRW", 4) != 0) return;
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    auto whole = wire::verify_flatbuffer<wire::RekeyWhole>(copy, "NKRW", {kMaxWholeBytes, 4, 8}, "rekey");
    if (!whole || !(*whole)->body()) return;
    std::vector<uint8_t> body((*whole)->body()->begin(), (*whole)->body()->end());
    auto b = wire::verify_flatbuffer<wire::RekeyBody>(body, nullptr, {kMaxWholeBytes, 4, 8}, "body");
    if (!b || !(*b)->entries()) return;
    const uint64_t epoch = (*b)->epoch();
    bool learned = true;
    while (learned) {  // entries deepest first, but loop until nothing new appears
      learned = false;
      for (const wire::WrappedKey* e : *(*b)->entries()) {
        auto held = node_keys_.find(e->wrapper());
        if (held == node_keys_.end()) continue;
        WrappedKey w{e->node(), e->wrapper(), {}};
        std::memcpy(w.ciphertext.data(), e->ciphertext()->data(), kWrappedKeySize);
        for (size_t i = 0; i < held->second.size(); ++i) {
          ++attempts_;
          auto k = netkey::detail::unwrap_key(w, held->second[i], group_id_, epoch);
          if (!k) continue;
          auto& dst = node_keys_[e->node()];
          bool known = false;
          for (const auto& x : dst) known = known || x == *k;
          if (known) continue;
          if (e->node() == kRootNode) learn_net(epoch, net_key_from_root(*k, epoch));
          dst.push_back(std::move(k).value());
          learned = true;
          break;
        }
      }
    }
    return;
  }
  if (channel != Channel::kState && channel != Channel::kMember) return;
  if (bytes.size() < kTrafficOverhead) return;
  const uint8_t epoch_byte = bytes[1];
  const SenderId sender = static_cast<SenderId>(bytes[2] | bytes[3] << 8);
  uint32_t seq = 0;
  for (int i = 3; i >= 0; --i) seq = seq << 8 | bytes[static_cast<size_t>(4 + i)];
  const size_t sealed = (bytes[0] & 0x0f) == 3 ? bytes.size() - kTrafficSignatureSize : bytes.size();
  if (sealed < kTrafficOverhead) return;
  static thread_local std::vector<uint8_t> out;
  out.resize(sealed - kTrafficOverhead);
  uint8_t ad[16];
  std::memcpy(ad, bytes.data(), 8);
  for (int i = 0; i < 8; ++i) ad[8 + i] = static_cast<uint8_t>(group_id_ >> (8 * i));
  auto aead = Aead::create(suite_);
  if (!aead) return;
  const Nonce nonce = Nonce::from_counter(aead->nonce_size(), 0x66617274, seq);
  for (const auto& [epoch, keys] : net_keys_) {
    if (static_cast<uint8_t>(epoch) != epoch_byte) continue;
    for (const auto& net : keys) {
      ++attempts_;
      SymmetricKey k = kdf_derive(net, kdf_ctx::kTraffic, sender);
      if (aead->open(k, nonce, ad, bytes.subspan(8, sealed - 8), out)) {
        ++decryptions_;
        if (epoch >= threshold_) ++violations_;
        return;
      }
    }
  }
}

}  // namespace netkey::demo
