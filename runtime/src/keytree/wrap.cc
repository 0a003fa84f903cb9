#include "src/keytree/wrap.h"

#include "netkey/aead.h"
#include "netkey/kdf.h"

namespace netkey {
namespace detail {
namespace {

const Aead& wrap_aead() {
  static const Aead aead = Aead::create(AeadSuite::kChaCha20Poly1305).value();
  return aead;
}

void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

struct WrapContext {
  uint8_t ad[24];
  Nonce nonce;
  WrapContext(uint64_t group_id, uint64_t epoch, NodeId node, NodeId wrapper)
      : nonce(Nonce::from_counter(12, node, epoch)) {
    put_le(ad, group_id, 8);
    put_le(ad + 8, epoch, 8);
    put_le(ad + 16, node, 4);
    put_le(ad + 20, wrapper, 4);
  }
};

}  // namespace

WrappedKey wrap_key(const SymmetricKey& key, const SymmetricKey& wrapping_key, uint64_t group_id,
                    uint64_t epoch, NodeId node, NodeId wrapper) {
  WrapContext ctx(group_id, epoch, node, wrapper);
  WrappedKey out{node, wrapper, {}};
  wrap_aead().seal(wrapping_key, ctx.nonce, ctx.ad, key.bytes(), out.ciphertext);
  return out;
}

Result<SymmetricKey> unwrap_key(const WrappedKey& entry, const SymmetricKey& wrapping_key,
                                uint64_t group_id, uint64_t epoch) {
  WrapContext ctx(group_id, epoch, entry.node, entry.wrapper);
  SymmetricKey out;
  Status s = wrap_aead().open(wrapping_key, ctx.nonce, ctx.ad, entry.ciphertext, out.mutable_bytes());
  if (!s) return s;
  return out;
}

NodeId child_of(NodeId n, unsigned degree, unsigned k) {
  uint64_t c = uint64_t{n} * degree + 1 + k;
  NETKEY_CHECK(c <= UINT32_MAX);
  return static_cast<NodeId>(c);
}

std::vector<NodeId> ancestors_of(NodeId leaf, unsigned degree) {
  std::vector<NodeId> out;
  while (leaf != kRootNode) {
    leaf = parent_of(leaf, degree);
    out.push_back(leaf);
  }
  return out;
}

}  // namespace detail

MemberDerivedKeys MemberDerivedKeys::from_secret(const SymmetricKey& member_secret) {
  return {kdf_derive(member_secret, kdf_ctx::kLeafWrap, 0),
          kdf_derive(member_secret, kdf_ctx::kUnicast, 0)};
}

SymmetricKey split_node_key(const SymmetricKey& member_secret, uint64_t epoch, NodeId node) {
  // The node id is in the input: one batch may split the same member's leaf several
  // times (security finding 1), and each split node must get its own key.
  uint8_t info[12];
  detail::put_le(info, epoch, 8);
  detail::put_le(info + 8, node, 4);
  return kdf_extract(member_secret.bytes(), kdf_ctx::kSplit, info);
}

SymmetricKey net_key_from_root(const SymmetricKey& root_key, uint64_t epoch) {
  return kdf_derive(root_key, kdf_ctx::kNetKey, epoch);
}

SymmetricKey team_key_from_node(const SymmetricKey& node_key, uint64_t epoch) {
  return kdf_derive(node_key, kdf_ctx::kTeamKey, epoch);
}

std::optional<uint8_t> team_of_leaf(NodeId node, unsigned degree) {
  if (node == kRootNode) return std::nullopt;
  while (detail::parent_of(node, degree) != kRootNode) node = detail::parent_of(node, degree);
  return static_cast<uint8_t>(node - 1);
}

unsigned ceil_log(unsigned degree, size_t n) {
  unsigned k = 0;
  size_t cap = 1;
  while (cap < n) {
    cap *= degree;
    ++k;
  }
  return k;
}

}  // namespace netkey
