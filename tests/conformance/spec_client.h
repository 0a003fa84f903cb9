// A second, independent implementation of the netkey wire protocol, written from
// docs/PROTOCOL.md alone: libsodium calls, hand-built byte strings and the FlatBuffers
// code flatc generates from schemas/. It shares no code with the runtime (it does not
// link netkey_runtime) so that conformance_test.cc can re-derive the vectors in
// tests/vectors/ through a second code path and compare them byte for byte.
//
// It is what a client in another language would write; it is test code, not an API:
// it favours plain steps over speed and does not wipe secrets.
#ifndef NETKEY_TESTS_CONFORMANCE_SPEC_CLIENT_H_
#define NETKEY_TESTS_CONFORMANCE_SPEC_CLIENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spec {

using Bytes = std::vector<uint8_t>;

// ---- byte strings
Bytes le(uint64_t value, int size);
Bytes text(const std::string& s);       // the ASCII bytes, no NUL
Bytes text0(const std::string& s);      // the ASCII bytes and a NUL
Bytes operator+(Bytes a, const Bytes& b);

// ---- primitives ("Primitives" in PROTOCOL.md)
Bytes blake2b256(const Bytes& message, const Bytes& key = {});
Bytes kdf(const Bytes& key, const std::string& context, uint64_t id);       // crypto_kdf, 8-byte context
Bytes extract(const Bytes& ikm, const std::string& context, const Bytes& info);  // keyed BLAKE2b-256
Bytes key_id(const Bytes& ed25519_public);
Bytes ed25519_public(const Bytes& seed);
Bytes ed25519_sign(const Bytes& seed, const Bytes& message);
bool ed25519_verify(const Bytes& public_key, const Bytes& message, const Bytes& signature);
Bytes x25519_public(const Bytes& secret);
Bytes x25519(const Bytes& secret, const Bytes& peer_public);
enum Suite : uint8_t { kChaCha = 1, kAesGcm = 2, kXChaCha = 3 };
size_t nonce_size(Suite s);
Bytes aead_seal(Suite s, const Bytes& key, const Bytes& nonce, const Bytes& ad, const Bytes& plaintext);
std::optional<Bytes> aead_open(Suite s, const Bytes& key, const Bytes& nonce, const Bytes& ad, const Bytes& sealed);

// ---- derived keys and hashes
Bytes charter_hash(const Bytes& charter);
// "Group id": the first 8 bytes, little-endian, of
// BLAKE2b-256("netkey-group-v1" || le64(session) || boot nonce).
uint64_t group_id(uint64_t session, const Bytes& boot_nonce);
Bytes cookie(const Bytes& secret, const std::string& address, uint64_t issued_ms);
// What sig_I signs: "netkey-hs-init" || 0x00 || cookie || le64(session) || charter hash ||
// participant ephemeral.
Bytes init_message(const Bytes& cookie, uint64_t session, const Bytes& charter_hash, const Bytes& participant_eph);
Bytes transcript(uint64_t session, uint32_t member_id, const Bytes& charter_hash, const Bytes& participant_cert,
                 const Bytes& participant_eph, const Bytes& root_cert, const Bytes& root_eph,
                 const Bytes& boot_nonce);
Bytes member_secret(const Bytes& shared, const Bytes& transcript);
Bytes leaf_key(const Bytes& member_secret);
Bytes unicast_key(const Bytes& member_secret);
Bytes control_key(const Bytes& member_secret);  // "nk-contr"
// The transport connect tag: first 4 bytes of KDF(member secret, "nk-conid", 0), LE; 0 -> 1.
uint32_t connect_tag(const Bytes& member_secret);
Bytes net_key(const Bytes& root_node_key, uint64_t epoch);
Bytes traffic_key(const Bytes& net_key, uint16_t sender);

// ---- key wrapping and sealed messages
Bytes wrap(const Bytes& key, const Bytes& wrapping_key, uint64_t group, uint64_t epoch, uint32_t node, uint32_t wrapper);
std::optional<Bytes> unwrap(const Bytes& ciphertext, const Bytes& wrapping_key, uint64_t group, uint64_t epoch,
                            uint32_t node, uint32_t wrapper);
Bytes sealed_nonce(uint8_t kind, uint64_t seq);
Bytes sealed_ad(uint64_t group, uint64_t epoch, uint32_t member, uint64_t seq, uint8_t kind);

// ---- authenticated control ("Authenticated control")
enum Direction : uint8_t { kToMember = 1, kToRoot = 2 };
Bytes control_nonce(uint8_t direction, uint64_t seq);  // le32(direction) || le64(seq)
// "netkey-ctl-v1" || le64(group) || le32(member) || u8(direction) || le64(seq)
Bytes control_ad(uint64_t group, uint32_t member, uint8_t direction, uint64_t seq);
// One side of a member's authenticated control: it seals in `outgoing` and opens the
// other direction.
struct ControlChannel {
  uint64_t group = 0;
  uint32_t member = 0;
  Bytes key;  // control_key(member secret)
  uint8_t outgoing = kToRoot;
  uint64_t sent = 0;      // the last seq sealed
  uint64_t received = 0;  // the last seq accepted
};
// The Authenticated Control message carrying `inner` (a Control message's bytes).
Bytes seal_control(ControlChannel& c, const Bytes& inner);
// Opens an Authenticated message: "" and the inner Control bytes in *inner, or the
// first failing check's error name (malformed, wrong_group, stale_epoch, bad_tag).
// A failure leaves `c` as it was.
std::string open_control(ControlChannel& c, const Bytes& message, Bytes* inner);

// ---- traffic
Bytes traffic_nonce(Suite s, uint32_t seq);  // le32("traf") || zeros || le64(seq)
Bytes traffic_packet(Suite s, uint64_t group, uint64_t epoch, const Bytes& net_key, uint8_t type, uint16_t sender,
                     uint32_t seq, const Bytes& payload, const Bytes& root_seed = {});
// The payload, or nullopt when the tag (or, for type 3, the signature) fails.
std::optional<Bytes> traffic_open(Suite s, uint64_t group, const Bytes& net_key, const Bytes& packet,
                                  const Bytes& root_public = {});
// Private messages (types 5, 6) and team broadcasts (type 4), "Private messages" and
// "Team broadcasts": base = kdf(member secret, "nk-privb", 0); key = extract(base,
// "nk-privk", le64(epoch) || u8(direction)), direction 0 for type 5, 1 for type 6.
Bytes private_base(const Bytes& member_secret);
Bytes private_key(const Bytes& base, uint64_t epoch, uint8_t type);
// The packet of `type` 4, 5 or 6 whose sender field is `sender` (team index or member id)
// under `key`: header || AEAD(key, traffic_nonce(seq), header || le64(group), payload).
Bytes keyed_packet(Suite s, uint64_t group, uint64_t epoch, const Bytes& key, uint8_t type, uint16_t sender,
                   uint32_t seq, const Bytes& payload);
// Opens a type 4-6 packet under `key` after the receiving checks of its section: the
// expected type, the expected sender field (member id or own team), then the tag.
std::optional<Bytes> keyed_open(Suite s, uint64_t group, const Bytes& key, uint8_t type, uint16_t sender,
                                const Bytes& packet);

// ---- FlatBuffers messages in the reference encoding ("Reference encoding")
struct PathKey {
  uint32_t node;
  Bytes key;
};
struct Move {
  uint32_t from, to;
};
struct Entry {
  uint32_t node, wrapper;
  Bytes ciphertext;  // 48
};
Bytes encode_hello(uint64_t session);  // padded with 56 zero bytes
Bytes encode_cookie_challenge(const Bytes& cookie);
Bytes encode_handshake_init(const Bytes& cookie, uint64_t session, const Bytes& charter_hash, const Bytes& cert,
                            const Bytes& eph, const Bytes& sig);
Bytes encode_handshake_response(uint32_t member_id, const Bytes& cert, const Bytes& eph, const Bytes& sig,
                                const Bytes& boot_nonce);
Bytes encode_handshake_finish(const Bytes& sig);
Bytes encode_refusal(uint8_t reason);
Bytes encode_leave(uint32_t member_id);  // sent only inside an Authenticated message
Bytes encode_resync_request(uint64_t have_epoch);
Bytes encode_authenticated(uint32_t member_id, uint8_t direction, uint64_t seq, const Bytes& ciphertext);
Bytes encode_sealed(uint64_t group, uint64_t epoch, uint32_t member, uint64_t seq, uint8_t kind, const Bytes& ct);
Bytes encode_path_body(uint64_t group, uint64_t epoch, uint32_t member, uint8_t degree, uint32_t leaf,
                       const std::vector<PathKey>& path);
Bytes encode_whole_body(uint64_t group, uint64_t epoch, uint8_t kind, uint8_t degree, const std::vector<Move>& moves,
                        const std::vector<Entry>& entries);
Bytes encode_slice_body(uint64_t group, uint64_t epoch, uint8_t kind, uint8_t degree, const std::vector<Move>& moves,
                        const std::vector<PathKey>& path_keys);
Bytes encode_whole(const Bytes& body, const Bytes& sig);

// ---- a member's key state and the apply rules ("Applying")
struct Member {
  uint64_t group = 0;
  uint32_t id = 0;
  Bytes secret;
  Bytes root_public;
  bool in_group = false;
  uint8_t degree = 0;
  uint32_t leaf = 0;
  uint64_t epoch = 0;
  std::vector<PathKey> path;  // leaf's parent first, root last
  Bytes net_key;
};
std::vector<uint32_t> ancestors(uint32_t leaf, uint8_t degree);
// Each returns "" on success, else the error name PROTOCOL.md gives ("bad_tag",
// "unknown_key", ...). A failure leaves `m` as it was.
std::string apply_sealed(Member& m, const Bytes& message);
// Dispatches on the file identifier: "NKRW" a Whole, "NKSL" a Sealed message.
std::string apply(Member& m, const Bytes& message);
std::string apply_whole(Member& m, const Bytes& message);
// Opens a Sealed message for `m` without applying it: the plaintext, or nullopt.
std::optional<Bytes> open_sealed(const Member& m, const Bytes& message);
// le32(node) || key for each path key, in order (how the vectors write a path).
Bytes path_bytes(const std::vector<PathKey>& path);
std::vector<PathKey> parse_path(const Bytes& bytes);

}  // namespace spec

#endif  // NETKEY_TESTS_CONFORMANCE_SPEC_CLIENT_H_
