// A Root and a Participant in memory, for the fuzz targets that need a real handshake
// behind them (the control-plane targets) and for fuzz_seeds, which records real
// messages against the very same world.
//
// Everything is deterministic (seeded Rngs, fixed times), so a message recorded against
// one Joined world (a cookie, an Authenticated message sealed with seq 1) is valid in
// every fresh one: the seeds reach past the cookie, the proof of possession and the tag.
#ifndef NETKEY_TESTS_FUZZ_FUZZ_GROUP_H_
#define NETKEY_TESTS_FUZZ_FUZZ_GROUP_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/pki.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "src/group/control_auth.h"

namespace netkey::fuzz {

inline constexpr PeerId kMemberPeer = 1;   // p1's connection
inline constexpr PeerId kSecondPeer = 2;   // a second client's connection
inline constexpr char kMemberAddress[] = "10.0.0.1:4000";
inline constexpr char kSecondAddress[] = "10.0.0.2:4000";

// The Root (DeterministicRng(9)) with p1 (DeterministicRng(4)) welcomed at epoch 1 on
// peer kMemberPeer from kMemberAddress, and p1's member secret, which the harness derives
// from the messages: p1's ephemeral is the first draw of its Rng.
struct Joined {
  Joined();
  std::unique_ptr<Root> root;
  std::unique_ptr<Participant> p;
  SymmetricKey secret;
  MemberId member = 0;
  uint64_t group = 0;
  uint64_t now = 0;
  std::vector<uint8_t> response;  // the HandshakeResponse p1 took
  std::vector<uint8_t> welcome;   // the Welcome p1 applied

  // Seals `inner` as the member (to the Root) or as the Root (to the member), with a seq
  // above `after`: channels of the harness's own, so the first message of each is seq 1,
  // as in a fresh world.
  detail::Bytes seal_to_root(std::span<const uint8_t> inner, uint64_t after = 0);
  detail::Bytes seal_to_member(std::span<const uint8_t> inner, uint64_t after = 0);
  // Delivers the Root's transmits for p1 to p1, and p1's transmits to the Root, until
  // both are quiet. Returns how many transmits and events there were; transmits to
  // other addresses or peers go to `others` if given.
  uint64_t pump(std::vector<Transmit>* others = nullptr);
  // One transmit of p1's to the Root, as the transport delivers it: raw datagrams from
  // kMemberAddress, reliable control on the connection (bound on first use).
  void to_root(const Transmit& t);
  // The Root's transmits: p1's to p1, the rest (and broadcasts) to `others` if given.
  void route(std::vector<Transmit>& from_root, std::vector<Transmit>* others);

 private:
  bool for_member(const Transmit& t) const;
  void to_member(const Transmit& t);

  std::unique_ptr<detail::ControlChannel> to_root_, to_member_;
  uint64_t to_root_seq_ = 0, to_member_seq_ = 0;
  // The highest seq of the Authenticated messages p1 and the Root sent each other
  // themselves (a ResyncRequest, a Refusal): the probes go above them too.
  uint64_t own_to_root_seq_ = 0, own_to_member_seq_ = 0;
  friend bool root_still_opens_member(Joined& w, uint64_t last_genuine_seq);
  friend bool member_still_opens_root(Joined& w, uint64_t last_genuine_seq);
  bool connected_ = false;
};

// What the snapshots cannot show: the replay counter of p1's control channel. Rejected
// input must not move it, so the next genuine message (seq above every genuine one sent
// so far) must still open. Each sends one (a ResyncRequest sealed by the member; a
// Refusal{not_on_acl} sealed by the Root) and returns whether it opened (the receiver's
// control_rejected did not grow).
bool root_still_opens_member(Joined& w, uint64_t last_genuine_seq);
bool member_still_opens_root(Joined& w, uint64_t last_genuine_seq);
// The seq of `bytes` when they are an Authenticated message genuinely sealed under p1's
// control key in `direction` (tag valid, inner message well formed), else 0: a second
// opinion, from a channel of its own, on what may move the receiver's counter.
uint64_t genuine_seq(const Joined& w, std::span<const uint8_t> bytes, detail::ControlChannel::Direction direction);

// fuzz_root_control's doors. An input is a list of frames door || le16(n) || n bytes:
//   door & 3 == 0  a raw datagram, from kSecondAddress (or kMemberAddress when door & 4)
//   door & 3 == 1  a control message on kSecondPeer's connection (connected from
//                  kSecondAddress first, when its handshake was answered)
//   door & 3 == 2  a control message on the member's connection
//   door & 3 == 3  an ACL update through the trusted channel (submit_acl_update)
// Each frame advances the clock by 1 ms. A frame the Root rejects must change nothing.
inline constexpr uint8_t kDoorDatagram = 0, kDoorSecond = 1, kDoorMember = 2, kDoorAcl = 3;
inline constexpr uint64_t kFrameStepNs = 1'000'000;

class RootDoors {
 public:
  explicit RootDoors(Joined& w) : w_(w) {}
  // Applies one frame; false when the Root rejected it. Replies to kSecondAddress and
  // kSecondPeer go to `replies` if given.
  bool apply(uint8_t door, std::span<const uint8_t> bytes, std::vector<Transmit>* replies = nullptr);
  // Whether the last frame changed what the Root shows, or got an answer.
  bool changed() const { return changed_; }
  // The highest seq of a genuine Authenticated message on the member's connection.
  uint64_t last_genuine_seq() const { return last_genuine_seq_; }

 private:
  Joined& w_;
  bool second_connected_ = false;
  bool changed_ = false;
  uint64_t last_genuine_seq_ = 0;
};

void append_frame(std::vector<uint8_t>& out, uint8_t door, std::span<const uint8_t> bytes);
// For fuzz_seeds: the frames of a second client `who` (DeterministicRng(8)) that runs
// its handshake against `w` through the doors (Hello, Init, Finish), until its join is
// pending.
std::vector<uint8_t> second_client_frames(Joined& w, const demo::Identity& who);

// The harnesses (see fuzz_world.h for the convention: true = all the way through).
bool run_root_control(std::span<const uint8_t> input);        // every frame taken
bool run_participant_control(std::span<const uint8_t> input);  // taken, see the .cc
bool run_authenticated(std::span<const uint8_t> input);       // the inner message acted on
bool run_handshake_init(std::span<const uint8_t> input);      // the Root answered, and took the Finish
bool run_handshake_response(std::span<const uint8_t> input);  // the client sent its Finish

// For fuzz_seeds: the HandshakeFinish that `identity` (with ephemeral secret `eph`)
// sends for `response`, whose Init carried `certificate`.
std::vector<uint8_t> finish_for(std::span<const uint8_t> response, std::span<const uint8_t> certificate,
                                const SigningSeed& identity, const X25519Secret& eph);
// The HandshakeResponse fuzz_handshake_init's Root answers for this certificate and
// ephemeral (empty when it refuses).
std::vector<uint8_t> handshake_init_response(std::span<const uint8_t> certificate, const X25519PublicKey& eph);

}  // namespace netkey::fuzz

#endif  // NETKEY_TESTS_FUZZ_FUZZ_GROUP_H_
