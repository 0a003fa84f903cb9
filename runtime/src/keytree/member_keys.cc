#include "netkey/member_keys.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "netkey/kdf.h"
#include "netkey/sign.h"
#include "netkey/wire/rekey_generated.h"
#include "src/keytree/sealed.h"
#include "src/keytree/wrap.h"
#include "src/util/testing_access.h"
#include "src/wire/verify.h"

namespace netkey {
namespace {

constexpr wire::VerifyLimits kWholeLimits{kMaxWholeBytes, 4, 8};
constexpr wire::VerifyLimits kSealedLimits{kMaxSealedBytes, 4, 8};
constexpr wire::VerifyLimits kBodyLimits{kMaxWholeBytes, 4, 8};

Status malformed(const char* what) { return Status(Errc::kMalformed, what); }

bool has_identifier(std::span<const uint8_t> b, const char* id) {
  return b.size() >= 8 && std::memcmp(b.data() + 4, id, 4) == 0;
}

}  // namespace

MemberKeys::MemberKeys(uint64_t group_id, MemberId id, const SymmetricKey& member_secret,
                       const Ed25519PublicKey& root_public_key, uint8_t teams)
    : group_id_(group_id),
      id_(id),
      secret_(member_secret.clone()),
      derived_(MemberDerivedKeys::from_secret(member_secret)),
      root_public_key_(root_public_key),
      teams_(teams) {
  NETKEY_CHECK(teams <= kMaxDegree);
}

std::optional<uint8_t> MemberKeys::team() const {
  if (teams_ == 0 || !in_group_) return std::nullopt;
  return team_of_leaf(leaf_, degree_);
}

const SymmetricKey& MemberKeys::team_key() const {
  NETKEY_CHECK(team().has_value());
  return team_key_;
}

// A team member's leaf lies strictly below its team's node (depth 2 or more), and the
// team exists. The team key comes from the path's depth-1 key (the one before the root).
Status MemberKeys::finish(Path& p) const {
  if (teams_ == 0) return Status::ok();
  auto team = team_of_leaf(p.leaf, p.degree);
  if (!team || *team >= teams_ || p.keys.size() < 2) return malformed("position outside the teams' subtrees");
  const auto& [node, key] = p.keys[p.keys.size() - 2];
  NETKEY_CHECK(node == team_node(*team));  // the path is the leaf's ancestors, checked before
  p.team_key = team_key_from_node(key, p.epoch);
  return Status::ok();
}

const SymmetricKey& MemberKeys::net_key() const {
  NETKEY_CHECK(in_group_);
  return net_key_;
}

std::vector<std::pair<NodeId, const SymmetricKey*>> MemberKeys::held_keys() const {
  std::vector<std::pair<NodeId, const SymmetricKey*>> out;
  for (const auto& [n, k] : path_) out.emplace_back(n, &k);
  return out;
}

Status MemberKeys::apply(std::span<const uint8_t> bytes) {
  if (has_identifier(bytes, detail::kWholeId)) return apply_whole(bytes);
  if (has_identifier(bytes, detail::kSealedId)) return apply_sealed(bytes);
  if (bytes.size() > kMaxWholeBytes) return Status(Errc::kTooLarge, "rekey message too large");
  return malformed("not a rekey message (unknown file identifier)");
}

Status MemberKeys::check_epoch(uint64_t epoch) const {
  if (!in_group_) return Status(Errc::kNeedsResync, "no Welcome applied yet");
  if (epoch <= epoch_) return Status(Errc::kStaleEpoch, "epoch " + std::to_string(epoch) + " is not newer than ours");
  if (epoch > epoch_ + 1) {
    return Status(Errc::kNeedsResync, "epoch gap: have " + std::to_string(epoch_) + ", got " + std::to_string(epoch));
  }
  return Status::ok();
}

void MemberKeys::commit(Path p) {
  epoch_ = p.epoch;
  leaf_ = p.leaf;
  degree_ = p.degree;
  path_ = std::move(p.keys);
  net_key_ = std::move(p.net_key);
  team_key_ = std::move(p.team_key);
  in_group_ = true;
}

Status MemberKeys::apply_whole(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());  // aligned
  auto whole = wire::verify_flatbuffer<wire::RekeyWhole>(copy, detail::kWholeId, kWholeLimits, "rekey");
  if (!whole) return whole.status();
  const auto* body = (*whole)->body();
  const auto* sig = (*whole)->signature();
  if (body == nullptr || sig == nullptr || sig->size() != 64) return malformed("rekey lacks body or signature");
  std::vector<uint8_t> msg(sizeof(detail::kRekeySigLabel) + body->size());
  std::memcpy(msg.data(), detail::kRekeySigLabel, sizeof(detail::kRekeySigLabel));
  std::memcpy(msg.data() + sizeof(detail::kRekeySigLabel), body->data(), body->size());
  Ed25519Signature s;
  std::memcpy(s.bytes.data(), sig->data(), 64);
  if (!verify_signature(root_public_key_, msg, s)) {
    return Status(Errc::kBadSignature, "rekey is not signed by the Root");
  }
  std::vector<uint8_t> body_copy(body->begin(), body->end());
  return apply_body(body_copy, std::nullopt);
}

Status MemberKeys::apply_sealed(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  auto sealed = wire::verify_flatbuffer<wire::Sealed>(copy, detail::kSealedId, kSealedLimits, "sealed message");
  if (!sealed) return sealed.status();
  const wire::Sealed& m = **sealed;
  if (m.ciphertext() == nullptr || m.ciphertext()->size() < kAeadTagSize) return malformed("sealed message lacks ciphertext");
  uint8_t kind = static_cast<uint8_t>(m.kind());
  if (kind < 1 || kind > 3) return malformed("sealed message has an unknown kind");
  if (m.group_id() != group_id_) return Status(Errc::kWrongGroup, "sealed message for another group");
  if (m.member() != id_) return Status(Errc::kWrongGroup, "sealed message for another member");
  const detail::SealedHeader h = detail::header_of(m);
  auto plain = detail::open_sealed(derived_.unicast, h, {m.ciphertext()->data(), m.ciphertext()->size()});
  if (!plain) return plain.status();
  Status out = h.kind == SealedKind::kSlice ? apply_body(*plain, h.epoch) : apply_path(*plain, h.kind, h.epoch);
  detail::wipe(plain->data(), plain->size());
  return out;
}

Status MemberKeys::apply_path(std::span<const uint8_t> plain, SealedKind kind, uint64_t sealed_epoch) {
  auto pb = wire::verify_flatbuffer<wire::PathBody>(plain, nullptr, kBodyLimits, "path");
  if (!pb) return pb.status();
  const wire::PathBody& b = **pb;
  if (b.group_id() != group_id_) return Status(Errc::kWrongGroup, "path for another group");
  if (b.member() != id_) return Status(Errc::kWrongGroup, "path for another member");
  if (b.epoch() != sealed_epoch) return malformed("sealed header and path disagree on the epoch");
  if (b.degree() < kMinDegree || b.degree() > kMaxDegree) return malformed("path has an invalid degree");
  if (b.path() == nullptr || b.leaf() == kRootNode) return malformed("path lacks keys");
  if (in_group_ && b.epoch() <= epoch_) {
    return Status(Errc::kStaleEpoch, kind == SealedKind::kWelcome ? "Welcome for an old epoch" : "Resync for an old epoch");
  }
  auto expect = detail::ancestors_of(b.leaf(), b.degree());
  if (expect.size() != b.path()->size()) return malformed("path does not match the leaf position");
  Path p;
  p.epoch = b.epoch();
  p.leaf = b.leaf();
  p.degree = b.degree();
  for (size_t i = 0; i < expect.size(); ++i) {
    const wire::PathKey* k = b.path()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (k->node() != expect[i]) return malformed("path does not match the leaf position");
    p.keys.emplace_back(k->node(), SymmetricKey::from_bytes({k->key()->data(), 32}));
  }
  NETKEY_RETURN_IF_ERROR(finish(p));
  p.net_key = net_key_from_root(p.keys.back().second, p.epoch);
  commit(std::move(p));
  return Status::ok();
}

namespace {

// What the body checks share: the batch's epoch, the member's new path (leaf's parent
// first), and a lookup of the keys it holds now. Each apply_* below fills `out` with
// one key per node of `path`, in order, or fails without side effects.
struct PathUpdate {
  uint64_t group_id;
  uint64_t epoch;
  NodeId leaf;                    // our new leaf
  std::optional<NodeId> moved_from;  // our old leaf, when a LeafMove moved us
  std::vector<NodeId> path;       // ancestors of `leaf`, bottom-up
  const std::vector<std::pair<NodeId, SymmetricKey>>* old_path;

  const SymmetricKey* old_key(NodeId n) const {
    for (const auto& [id, k] : *old_path) {
      if (id == n) return &k;
    }
    return nullptr;
  }
  // The key a node keeps when the batch gave none: ours, unless we moved.
  const SymmetricKey* kept_key(NodeId n) const { return moved_from ? nullptr : old_key(n); }
};

using KeyList = std::vector<std::pair<NodeId, SymmetricKey>>;

// HashForward. The nodes of our new path at or below our old leaf were created by
// splitting our leaf, once per split (security finding 1: there may be several); each
// gets its own key from our secret and its node id. Every other node is on our old path
// and steps forward.
Status apply_hash_forward(const wire::RekeyBody& b, const PathUpdate& u, const SymmetricKey& secret, KeyList& out) {
  if (b.entries() != nullptr && b.entries()->size() != 0) return malformed("hash-forward rekey carries entries");
  size_t splits = 0;
  if (u.moved_from) {
    auto it = std::find(u.path.begin(), u.path.end(), *u.moved_from);
    if (it != u.path.end()) splits = static_cast<size_t>(it - u.path.begin()) + 1;
  }
  for (size_t i = 0; i < u.path.size(); ++i) {
    const NodeId a = u.path[i];
    if (i < splits) {
      out.emplace_back(a, split_node_key(secret, u.epoch, a));
      continue;
    }
    const SymmetricKey* k = u.old_key(a);
    if (k == nullptr) return Status(Errc::kUnknownKey, "hash-forward for a node we do not hold");
    out.emplace_back(a, kdf_derive(*k, kdf_ctx::kForward, u.epoch));
  }
  return Status::ok();
}

// A Slice: sealed under our own unicast key, it carries the new key of each node on our
// path that changed. Every other node on the path keeps its key.
Status apply_slice(const wire::RekeyBody& b, const PathUpdate& u, KeyList& out) {
  if (b.entries() != nullptr && b.entries()->size() != 0) return malformed("slice carries wrapped entries");
  std::vector<const wire::PathKey*> given(u.path.size(), nullptr);
  bool root_given = false;
  if (b.path_keys() != nullptr) {
    for (const wire::PathKey* k : *b.path_keys()) {
      size_t i = 0;
      while (i < u.path.size() && u.path[i] != k->node()) ++i;
      if (i == u.path.size() || given[i] != nullptr) return malformed("slice key is not on our path");
      given[i] = k;
      root_given = root_given || k->node() == kRootNode;
    }
  }
  if (!root_given) return Status(Errc::kUnknownKey, "slice leaves no root key for us");
  for (size_t i = 0; i < u.path.size(); ++i) {
    if (given[i] != nullptr) {
      out.emplace_back(u.path[i], SymmetricKey::from_bytes({given[i]->key()->data(), 32}));
      continue;
    }
    const SymmetricKey* k = u.kept_key(u.path[i]);
    if (k == nullptr) return Status(Errc::kUnknownKey, "slice does not cover our new path");
    out.emplace_back(u.path[i], k->clone());
  }
  return Status::ok();
}

// A Full Whole: for each node on our path, bottom up, unwrap the entry sealed under our
// path child's key; a changed node with no entry for our child means we were removed.
Status apply_whole_entries(const wire::RekeyBody& b, const PathUpdate& u, const SymmetricKey& leaf_key,
                           KeyList& out) {
  if (b.path_keys() != nullptr && b.path_keys()->size() != 0) return malformed("whole rekey carries path keys");
  // One pass over the entries: for each node on our path, note whether it changed
  // (targeted) and the entry wrapped under our path child (mine), if any.
  std::vector<bool> targeted(u.path.size(), false);
  std::vector<const wire::WrappedKey*> mine(u.path.size(), nullptr);
  bool root_targeted = false;
  if (b.entries() != nullptr) {
    for (const wire::WrappedKey* e : *b.entries()) {
      const NodeId node = e->node();
      root_targeted = root_targeted || node == kRootNode;
      for (size_t i = 0; i < u.path.size(); ++i) {
        if (u.path[i] != node) continue;
        targeted[i] = true;
        const NodeId below = i == 0 ? u.leaf : u.path[i - 1];
        if (e->wrapper() == below && mine[i] == nullptr) mine[i] = e;
        break;
      }
    }
  }
  // A Full batch always refreshes the root while the group has members; a body with
  // no root entry means the group was emptied (we were removed with everyone else).
  if (!root_targeted) return Status(Errc::kUnknownKey, "rekey leaves no root key for us (group emptied)");
  const SymmetricKey* below_key = &leaf_key;
  for (size_t i = 0; i < u.path.size(); ++i) {
    const NodeId a = u.path[i];
    if (mine[i] != nullptr) {
      WrappedKey w{a, mine[i]->wrapper(), {}};
      std::memcpy(w.ciphertext.data(), mine[i]->ciphertext()->data(), kWrappedKeySize);
      auto k = detail::unwrap_key(w, *below_key, u.group_id, u.epoch);
      if (!k) return Status(Errc::kBadTag, "wrapped key failed authentication");
      out.emplace_back(a, std::move(k).value());
    } else if (targeted[i]) {
      return Status(Errc::kUnknownKey, "our path was rekeyed under keys we do not hold");
    } else {
      const SymmetricKey* k = u.kept_key(a);
      if (k == nullptr) return Status(Errc::kUnknownKey, "rekey does not cover our new path");
      out.emplace_back(a, k->clone());
    }
    below_key = &out.back().second;
  }
  return Status::ok();
}

}  // namespace

Status MemberKeys::apply_body(std::span<const uint8_t> bytes, std::optional<uint64_t> sealed_epoch) {
  const bool sealed_for_us = sealed_epoch.has_value();
  auto rb = wire::verify_flatbuffer<wire::RekeyBody>(bytes, nullptr, kBodyLimits, "rekey body");
  if (!rb) return rb.status();
  const wire::RekeyBody& b = **rb;
  if (b.group_id() != group_id_) return Status(Errc::kWrongGroup, "rekey for another group");
  if (sealed_for_us && b.epoch() != *sealed_epoch) return malformed("sealed header and slice disagree on the epoch");
  NETKEY_RETURN_IF_ERROR(check_epoch(b.epoch()));
  if (b.degree() != degree_) return malformed("rekey degree differs from ours");
  const uint8_t kind = static_cast<uint8_t>(b.kind());
  if (kind > 1) return malformed("rekey has an unknown kind");

  PathUpdate u{group_id_, b.epoch(), leaf_, std::nullopt, {}, &path_};
  if (b.moves() != nullptr) {
    for (const wire::LeafMove* m : *b.moves()) {
      if (m->from() != leaf_) continue;
      if (m->to() == kRootNode) return malformed("move to the root");
      u.leaf = m->to();
      u.moved_from = m->from();
      break;
    }
  }
  u.path = detail::ancestors_of(u.leaf, degree_);

  Path p;
  p.epoch = b.epoch();
  p.degree = degree_;
  p.leaf = u.leaf;
  Status st = kind == static_cast<uint8_t>(RekeyKind::kHashForward) ? apply_hash_forward(b, u, secret_, p.keys)
              : sealed_for_us                                      ? apply_slice(b, u, p.keys)
                                                                   : apply_whole_entries(b, u, derived_.leaf, p.keys);
  if (!st) return st;
  NETKEY_RETURN_IF_ERROR(finish(p));
  p.net_key = net_key_from_root(p.keys.back().second, p.epoch);
  commit(std::move(p));
  return Status::ok();
}

const SymmetricKey& TestingAccess::member_secret(const MemberKeys& keys) { return keys.secret_; }
const SymmetricKey& TestingAccess::unicast_key(const MemberKeys& keys) { return keys.derived_.unicast; }
const SymmetricKey& testing::member_secret(const MemberKeys& keys) { return TestingAccess::member_secret(keys); }
const SymmetricKey& testing::unicast_key(const MemberKeys& keys) { return TestingAccess::unicast_key(keys); }

}  // namespace netkey
