// The spec client's messages: docs/PROTOCOL.md "Reference encoding" (building),
// "Applying" (checking and applying rekeys, Welcomes and Slices) and "Authenticated
// control" (sealing and opening), with flatc's code.
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstring>

#include "conformance/spec_client.h"
#include "netkey/wire/control_generated.h"
#include "netkey/wire/rekey_generated.h"

namespace spec {
namespace w = netkey::wire;

namespace {

Bytes take(flatbuffers::FlatBufferBuilder& b) { return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()); }

Bytes control(flatbuffers::FlatBufferBuilder& b, w::ControlBody type, flatbuffers::Offset<void> body) {
  b.Finish(w::CreateControl(b, type, body), "NKCP");
  return take(b);
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> vec(flatbuffers::FlatBufferBuilder& b, const Bytes& v) {
  return b.CreateVector(v);
}

std::vector<w::PathKey> wire_keys(const std::vector<PathKey>& keys) {
  std::vector<w::PathKey> out;
  for (const PathKey& k : keys) out.emplace_back(k.node, flatbuffers::span<const uint8_t, 32>(k.key.data(), 32));
  return out;
}

std::vector<w::LeafMove> wire_moves(const std::vector<Move>& moves) {
  std::vector<w::LeafMove> out;
  for (const Move& m : moves) out.emplace_back(m.from, m.to);
  return out;
}

// The FlatBuffers Verifier with PROTOCOL.md's limits, on a copy (aligned).
template <typename T>
const T* verified(const Bytes& bytes, const char* identifier, size_t max_size, Bytes& storage, unsigned depth = 4,
                  unsigned tables = 8) {
  if (bytes.size() > max_size) return nullptr;
  storage = bytes;
  flatbuffers::Verifier v(storage.data(), storage.size(), depth, tables);
  if (!v.VerifyBuffer<T>(identifier)) return nullptr;
  return flatbuffers::GetRoot<T>(storage.data());
}

const Bytes* held(const Member& m, uint32_t node) {
  for (const PathKey& k : m.path) {
    if (k.node == node) return &k.key;
  }
  return nullptr;
}

// "Body checks (Whole and Slice)". Commits to `m` only when everything passed.
std::string apply_body(Member& m, const Bytes& bytes, bool slice, uint64_t sealed_epoch = 0) {
  Bytes storage;
  const auto* b = verified<w::RekeyBody>(bytes, nullptr, 8u << 20, storage);
  if (b == nullptr) return "malformed";
  if (b->group_id() != m.group) return "wrong_group";
  if (slice && b->epoch() != sealed_epoch) return "malformed";
  if (!m.in_group) return "needs_resync";
  if (b->epoch() <= m.epoch) return "stale_epoch";
  if (b->epoch() > m.epoch + 1) return "needs_resync";
  if (b->degree() != m.degree) return "malformed";
  const uint8_t kind = static_cast<uint8_t>(b->kind());
  if (kind > 1) return "malformed";
  const uint64_t epoch = b->epoch();
  uint32_t leaf = m.leaf;
  bool moved = false;
  uint32_t moved_from = 0;
  if (b->moves() != nullptr) {
    for (const w::LeafMove* mv : *b->moves()) {
      if (mv->from() != m.leaf) continue;
      if (mv->to() == 0) return "malformed";
      leaf = mv->to();
      moved = true;
      moved_from = mv->from();
      break;
    }
  }
  const std::vector<uint32_t> path = ancestors(leaf, m.degree);
  const size_t entry_count = b->entries() == nullptr ? 0 : b->entries()->size();
  const size_t path_key_count = b->path_keys() == nullptr ? 0 : b->path_keys()->size();
  std::vector<PathKey> out;
  if (kind == 1) {  // HashForward
    if (entry_count != 0) return "malformed";
    // The nodes of the new path from the new leaf's parent up to our old leaf (our
    // move's `from`) were made by splitting our leaf: each gets nk-split with its id.
    size_t splits = 0;
    if (moved) {
      auto it = std::find(path.begin(), path.end(), moved_from);
      if (it != path.end()) splits = static_cast<size_t>(it - path.begin()) + 1;
    }
    for (size_t i = 0; i < path.size(); ++i) {
      const uint32_t a = path[i];
      if (i < splits) {
        out.push_back({a, extract(m.secret, "nk-split", le(epoch, 8) + le(a, 4))});
        continue;
      }
      const Bytes* k = held(m, a);
      if (k == nullptr) return "unknown_key";
      out.push_back({a, kdf(*k, "nk-fwdky", epoch)});
    }
  } else if (slice) {
    if (entry_count != 0) return "malformed";
    std::vector<const w::PathKey*> given(path.size(), nullptr);
    bool root_given = false;
    for (size_t j = 0; j < path_key_count; ++j) {
      const w::PathKey* k = b->path_keys()->Get(static_cast<flatbuffers::uoffset_t>(j));
      auto it = std::find(path.begin(), path.end(), k->node());
      if (it == path.end() || given[static_cast<size_t>(it - path.begin())] != nullptr) return "malformed";
      given[static_cast<size_t>(it - path.begin())] = k;
      root_given = root_given || k->node() == 0;
    }
    if (!root_given) return "unknown_key";
    for (size_t i = 0; i < path.size(); ++i) {
      if (given[i] != nullptr) {
        out.push_back({path[i], Bytes(given[i]->key()->begin(), given[i]->key()->end())});
        continue;
      }
      const Bytes* k = moved ? nullptr : held(m, path[i]);
      if (k == nullptr) return "unknown_key";
      out.push_back({path[i], *k});
    }
  } else {
    if (path_key_count != 0) return "malformed";
    bool root_targeted = false;
    for (size_t j = 0; j < entry_count; ++j) root_targeted = root_targeted || b->entries()->Get(static_cast<flatbuffers::uoffset_t>(j))->node() == 0;
    if (!root_targeted) return "unknown_key";
    Bytes below_key = leaf_key(m.secret);
    uint32_t below = leaf;
    for (uint32_t a : path) {
      bool targeted = false;
      const w::WrappedKey* mine = nullptr;
      for (size_t j = 0; j < entry_count; ++j) {
        const w::WrappedKey* e = b->entries()->Get(static_cast<flatbuffers::uoffset_t>(j));
        if (e->node() != a) continue;
        targeted = true;
        if (e->wrapper() == below && mine == nullptr) mine = e;
      }
      if (mine != nullptr) {
        auto k = unwrap(Bytes(mine->ciphertext()->begin(), mine->ciphertext()->end()), below_key, m.group, epoch, a,
                        below);
        if (!k) return "bad_tag";
        out.push_back({a, *k});
      } else if (targeted) {
        return "unknown_key";
      } else {
        const Bytes* k = moved ? nullptr : held(m, a);
        if (k == nullptr) return "unknown_key";
        out.push_back({a, *k});
      }
      below_key = out.back().key;
      below = a;
    }
  }
  m.epoch = epoch;
  m.leaf = leaf;
  m.path = std::move(out);
  m.net_key = net_key(m.path.back().key, epoch);
  return "";
}

// Welcome and Resync: "Verifier on the PathBody; group and member ours; ...".
std::string apply_path(Member& m, const Bytes& bytes, uint64_t sealed_epoch) {
  Bytes storage;
  const auto* b = verified<w::PathBody>(bytes, nullptr, 8u << 20, storage);
  if (b == nullptr) return "malformed";
  if (b->group_id() != m.group || b->member() != m.id) return "wrong_group";
  if (b->epoch() != sealed_epoch) return "malformed";
  if (b->degree() < 2 || b->degree() > 16) return "malformed";
  if (b->path() == nullptr || b->leaf() == 0) return "malformed";
  if (m.in_group && b->epoch() <= m.epoch) return "stale_epoch";
  const std::vector<uint32_t> expect = ancestors(b->leaf(), b->degree());
  if (expect.size() != b->path()->size()) return "malformed";
  std::vector<PathKey> keys;
  for (size_t i = 0; i < expect.size(); ++i) {
    const w::PathKey* k = b->path()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (k->node() != expect[i]) return "malformed";
    keys.push_back({k->node(), Bytes(k->key()->begin(), k->key()->end())});
  }
  m.in_group = true;
  m.degree = b->degree();
  m.leaf = b->leaf();
  m.epoch = b->epoch();
  m.path = std::move(keys);
  m.net_key = net_key(m.path.back().key, m.epoch);
  return "";
}

// "Control plane": identifier NKCP, at most 64 KiB, Verifier depth 6 and 64 tables, and
// a body.
const w::Control* verified_control(const Bytes& bytes, Bytes& storage) {
  const auto* c = verified<w::Control>(bytes, "NKCP", 64u << 10, storage, 6, 64);
  if (c == nullptr || c->body_type() == w::ControlBody::NONE || c->body() == nullptr) return nullptr;
  return c;
}

}  // namespace

Bytes encode_hello(uint64_t session) {
  flatbuffers::FlatBufferBuilder b;
  auto pad = vec(b, Bytes(56, 0));  // "the message must be at least 96 bytes"
  return control(b, w::ControlBody::Hello, w::CreateHello(b, 1, session, pad).Union());
}

Bytes encode_cookie_challenge(const Bytes& cookie) {
  flatbuffers::FlatBufferBuilder b;
  auto c = vec(b, cookie);
  return control(b, w::ControlBody::CookieChallenge, w::CreateCookieChallenge(b, c).Union());
}

Bytes encode_handshake_init(const Bytes& cookie, uint64_t session, const Bytes& charter_hash, const Bytes& cert,
                            const Bytes& eph, const Bytes& sig) {
  flatbuffers::FlatBufferBuilder b;
  auto c = vec(b, cookie);
  auto h = vec(b, charter_hash);
  auto ce = vec(b, cert);
  auto e = vec(b, eph);
  auto s = vec(b, sig);
  return control(b, w::ControlBody::HandshakeInit, w::CreateHandshakeInit(b, c, session, h, ce, e, s).Union());
}

Bytes encode_handshake_response(uint32_t member_id, const Bytes& cert, const Bytes& eph, const Bytes& sig,
                                const Bytes& boot_nonce) {
  flatbuffers::FlatBufferBuilder b;
  auto ce = vec(b, cert);
  auto e = vec(b, eph);
  auto s = vec(b, sig);
  auto n = vec(b, boot_nonce);
  return control(b, w::ControlBody::HandshakeResponse,
                 w::CreateHandshakeResponse(b, member_id, ce, e, s, n).Union());
}

Bytes encode_handshake_finish(const Bytes& sig) {
  flatbuffers::FlatBufferBuilder b;
  auto s = vec(b, sig);
  return control(b, w::ControlBody::HandshakeFinish, w::CreateHandshakeFinish(b, s).Union());
}

Bytes encode_refusal(uint8_t reason) {
  flatbuffers::FlatBufferBuilder b;
  return control(b, w::ControlBody::Refusal, w::CreateRefusal(b, static_cast<w::RefusalReason>(reason)).Union());
}

Bytes encode_leave(uint32_t member_id) {
  flatbuffers::FlatBufferBuilder b;
  return control(b, w::ControlBody::LeaveRequest, w::CreateLeaveRequest(b, member_id).Union());
}

Bytes encode_resync_request(uint64_t have_epoch) {
  flatbuffers::FlatBufferBuilder b;
  return control(b, w::ControlBody::ResyncRequest, w::CreateResyncRequest(b, have_epoch).Union());
}

Bytes encode_authenticated(uint32_t member_id, uint8_t direction, uint64_t seq, const Bytes& ciphertext) {
  flatbuffers::FlatBufferBuilder b;
  auto c = vec(b, ciphertext);
  return control(b, w::ControlBody::Authenticated,
                 w::CreateAuthenticated(b, member_id, direction, seq, c).Union());
}

Bytes seal_control(ControlChannel& c, const Bytes& inner) {
  const uint64_t seq = ++c.sent;  // from 1, only growing: the nonce never repeats
  const Bytes ct = aead_seal(kChaCha, c.key, control_nonce(c.outgoing, seq),
                             control_ad(c.group, c.member, c.outgoing, seq), inner);
  return encode_authenticated(c.member, c.outgoing, seq, ct);
}

// "The receiver checks, in this order: ...". Only then is seq recorded.
std::string open_control(ControlChannel& c, const Bytes& message, Bytes* inner) {
  Bytes storage;
  const w::Control* m = verified_control(message, storage);
  if (m == nullptr || m->body_type() != w::ControlBody::Authenticated) return "malformed";
  const w::Authenticated* a = m->body_as_Authenticated();
  const uint8_t incoming = c.outgoing == kToRoot ? kToMember : kToRoot;
  if (a->member_id() != c.member || a->direction() != incoming) return "wrong_group";
  if (a->ciphertext() == nullptr || a->ciphertext()->size() < 16) return "malformed";
  if (a->seq() <= c.received) return "stale_epoch";
  auto plain = aead_open(kChaCha, c.key, control_nonce(incoming, a->seq()),
                         control_ad(c.group, c.member, incoming, a->seq()),
                         Bytes(a->ciphertext()->begin(), a->ciphertext()->end()));
  if (!plain) return "bad_tag";
  Bytes inner_storage;
  const w::Control* in = verified_control(*plain, inner_storage);
  if (in == nullptr || in->body_type() == w::ControlBody::Authenticated) return "malformed";
  c.received = a->seq();
  *inner = std::move(*plain);
  return "";
}

Bytes encode_sealed(uint64_t group, uint64_t epoch, uint32_t member, uint64_t seq, uint8_t kind, const Bytes& ct) {
  flatbuffers::FlatBufferBuilder b;
  auto c = vec(b, ct);
  b.Finish(w::CreateSealed(b, group, epoch, member, seq, static_cast<w::SealedKind>(kind), c), "NKSL");
  return take(b);
}

Bytes encode_path_body(uint64_t group, uint64_t epoch, uint32_t member, uint8_t degree, uint32_t leaf,
                       const std::vector<PathKey>& path) {
  flatbuffers::FlatBufferBuilder b;
  auto k = b.CreateVectorOfStructs(wire_keys(path));
  b.Finish(w::CreatePathBody(b, group, epoch, member, degree, leaf, k));
  return take(b);
}

Bytes encode_whole_body(uint64_t group, uint64_t epoch, uint8_t kind, uint8_t degree, const std::vector<Move>& moves,
                        const std::vector<Entry>& entries) {
  flatbuffers::FlatBufferBuilder b;
  auto mv = b.CreateVectorOfStructs(wire_moves(moves));
  std::vector<w::WrappedKey> ws;
  for (const Entry& e : entries) {
    ws.emplace_back(e.node, e.wrapper, flatbuffers::span<const uint8_t, 48>(e.ciphertext.data(), 48));
  }
  auto ev = b.CreateVectorOfStructs(ws);
  b.Finish(w::CreateRekeyBody(b, group, epoch, static_cast<w::RekeyKind>(kind), degree, mv, ev));
  return take(b);
}

Bytes encode_slice_body(uint64_t group, uint64_t epoch, uint8_t kind, uint8_t degree, const std::vector<Move>& moves,
                        const std::vector<PathKey>& path_keys) {
  flatbuffers::FlatBufferBuilder b;
  auto mv = b.CreateVectorOfStructs(wire_moves(moves));
  auto kv = b.CreateVectorOfStructs(wire_keys(path_keys));
  b.Finish(w::CreateRekeyBody(b, group, epoch, static_cast<w::RekeyKind>(kind), degree, mv, 0, kv));
  return take(b);
}

Bytes encode_whole(const Bytes& body, const Bytes& sig) {
  flatbuffers::FlatBufferBuilder b;
  auto bv = vec(b, body);
  auto sv = vec(b, sig);
  b.Finish(w::CreateRekeyWhole(b, bv, sv), "NKRW");
  return take(b);
}

std::vector<uint32_t> ancestors(uint32_t leaf, uint8_t degree) {
  std::vector<uint32_t> out;
  while (leaf != 0) {
    leaf = (leaf - 1) / degree;
    out.push_back(leaf);
  }
  return out;
}

std::optional<Bytes> open_sealed(const Member& m, const Bytes& message) {
  Bytes storage;
  const auto* s = verified<w::Sealed>(message, "NKSL", 64u << 10, storage);
  if (s == nullptr || s->ciphertext() == nullptr || s->ciphertext()->size() < 16) return std::nullopt;
  const uint8_t kind = static_cast<uint8_t>(s->kind());
  return aead_open(kChaCha, unicast_key(m.secret), sealed_nonce(kind, s->seq()),
                   sealed_ad(s->group_id(), s->epoch(), s->member(), s->seq(), kind),
                   Bytes(s->ciphertext()->begin(), s->ciphertext()->end()));
}

std::string apply_sealed(Member& m, const Bytes& message) {
  Bytes storage;
  const auto* s = verified<w::Sealed>(message, "NKSL", 64u << 10, storage);
  if (s == nullptr || s->ciphertext() == nullptr || s->ciphertext()->size() < 16) return "malformed";
  const uint8_t kind = static_cast<uint8_t>(s->kind());
  if (kind < 1 || kind > 3) return "malformed";
  if (s->group_id() != m.group || s->member() != m.id) return "wrong_group";
  auto plain = open_sealed(m, message);
  if (!plain) return "bad_tag";
  return kind == 1 ? apply_body(m, *plain, true, s->epoch()) : apply_path(m, *plain, s->epoch());
}

std::string apply(Member& m, const Bytes& message) {
  if (message.size() >= 8 && std::memcmp(message.data() + 4, "NKRW", 4) == 0) return apply_whole(m, message);
  if (message.size() >= 8 && std::memcmp(message.data() + 4, "NKSL", 4) == 0) return apply_sealed(m, message);
  return message.size() > (8u << 20) ? "too_large" : "malformed";
}

std::string apply_whole(Member& m, const Bytes& message) {
  if (message.size() > (8u << 20)) return "too_large";
  Bytes storage;
  const auto* whole = verified<w::RekeyWhole>(message, "NKRW", 8u << 20, storage);
  if (whole == nullptr || whole->body() == nullptr || whole->signature() == nullptr ||
      whole->signature()->size() != 64) {
    return "malformed";
  }
  const Bytes body(whole->body()->begin(), whole->body()->end());
  if (!ed25519_verify(m.root_public, text0("netkey-rekey-v1") + body,
                      Bytes(whole->signature()->begin(), whole->signature()->end()))) {
    return "bad_signature";
  }
  return apply_body(m, body, false);
}

}  // namespace spec
