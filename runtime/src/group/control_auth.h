// Internal: authenticated control between the Root and one member after the handshake.
//
// Every control message after the HandshakeResponse (LeaveRequest, ResyncRequest from
// the member; Refusal from the Root) travels sealed inside an `Authenticated` message
// under key = KDF(member secret, "nk-contr", 0), ChaCha20-Poly1305-IETF, with
//   nonce = le32(direction) || le64(seq)       (12 bytes)
//   AD    = "netkey-ctl-v1" || le64(group id) || le32(member) || u8(direction) || le64(seq)
// direction 1 is Root -> member, 2 is member -> Root.
//
// Why the nonce never repeats under the key: the key exists for one handshake only (the
// member secret comes from a fresh X25519 and the transcript), each side seals in one
// direction only, and its seq starts at 1 and only grows.
//
// A receiver takes only seq > the last one it accepted, so a replayed or reordered copy
// is dropped (ENet delivers the control channel reliably and in order).
#ifndef NETKEY_SRC_GROUP_CONTROL_AUTH_H_
#define NETKEY_SRC_GROUP_CONTROL_AUTH_H_

#include <cstdint>

#include "netkey/keys.h"
#include "netkey/keytree.h"
#include "netkey/status.h"
#include "src/group/messages.h"

namespace netkey::detail {

class ControlChannel {
 public:
  enum Direction : uint8_t { kToMember = 1, kToRoot = 2 };

  // `outgoing` is the direction this side seals in; it opens the other one.
  ControlChannel(uint64_t group_id, MemberId member, const SymmetricKey& member_secret, Direction outgoing);

  // The Control bytes of an Authenticated message carrying `inner` (a Control message).
  Bytes seal(std::span<const uint8_t> inner);

  // Opens an Authenticated message addressed to this channel and returns the verified
  // inner Control. Errors: kWrongGroup (another member or direction), kStaleEpoch (seq
  // not above the last accepted: a replay), kBadTag, kMalformed (the inner message).
  // Nothing changes on an error.
  Result<ParsedControl> open(const wire::Authenticated& m);

 private:
  SymmetricKey key_;
  uint64_t group_id_;
  MemberId member_;
  Direction out_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace netkey::detail

#endif  // NETKEY_SRC_GROUP_CONTROL_AUTH_H_
