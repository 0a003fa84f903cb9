// Internal: sealing one node key under another (a WrappedKey), shared by the Root's
// planner and the member's apply path.
//
// Nonce: le32(node) || le64(epoch) under the wrapping key. Why it never repeats: within
// one epoch a key wraps only its current parent, once; epochs only grow within a group;
// a key never outlives its group (leaf keys come from a fresh handshake, internal keys
// from the Rng or a one-way KDF step). So (wrapping key, epoch) is already unique, and
// the node id is there for defence in depth. AD binds group, epoch, node and wrapper.
#ifndef NETKEY_SRC_KEYTREE_WRAP_H_
#define NETKEY_SRC_KEYTREE_WRAP_H_

#include "netkey/keytree.h"

namespace netkey::detail {

WrappedKey wrap_key(const SymmetricKey& key, const SymmetricKey& wrapping_key, uint64_t group_id,
                    uint64_t epoch, NodeId node, NodeId wrapper);
// Errors: kBadTag when `wrapping_key` is not the key the entry was sealed under, or the
// entry was altered.
Result<SymmetricKey> unwrap_key(const WrappedKey& entry, const SymmetricKey& wrapping_key,
                                uint64_t group_id, uint64_t epoch);

inline NodeId parent_of(NodeId n, unsigned degree) { return (n - 1) / degree; }
// Aborts (misuse) if the child id does not fit a NodeId.
NodeId child_of(NodeId n, unsigned degree, unsigned k);
// The ancestors of `leaf`, from its parent up to the root (node 0).
std::vector<NodeId> ancestors_of(NodeId leaf, unsigned degree);

}  // namespace netkey::detail

#endif  // NETKEY_SRC_KEYTREE_WRAP_H_
