// All-or-nothing checks for the fuzz targets that hold state (security review).
//
// A rejected input must leave the state as it was: a MemberKeys that refuses a rekey
// keeps its epoch, net key and path; a TrafficReceiver that drops a packet changes only
// its drop counters; a Participant or a Root that rejects a control message keeps its
// state. Each stateful harness takes a snapshot of what the object shows before an
// input, feeds it, and, when a rejection counter moved, takes another and calls
// require_unchanged(), which prints the difference and traps (libFuzzer saves the input).
//
// The snapshots read only the public accessors, never the object's bookkeeping, so the
// check stands apart from the code it judges; keys are compared with operator== (which
// is sodium_memcmp). fuzz_invariants_test is the positive control: it makes every
// harness count its inputs as rejected and checks that an input that does change the
// state (a seed) then traps.
//
// Manual check against the runtime itself (done when these checks were written, never
// committed): each of these one-line breaks made the named target trap, within a minute
// of fuzzing from the seeds or on the first seed, and reverting it made the same inputs
// run clean.
//   member_keys.cc   apply_path sets epoch_ before its degree check -> sealed_body:
//                    "a sealed message was rejected but changed: epoch 0 -> 1"
//   control_auth.cc  open() sets received_ before the tag check -> root_control and
//                    participant_control: "... no longer opens its next message"
//   root.cc          handle_control's default case also calls mark_batch -> a Hello
//                    on the member's connection: "poll_timeout ... -> 104000000"
//   traffic.cc       a kReplay drop also buffers the packet -> traffic (and fuzz_seeds):
//                    "a traffic packet was rejected but changed: buffered 0 -> 1"
//   private_channel.cc  open() marks the sequence before the tag check -> private_channel
//                    (20 s from the seeds): "a private packet was rejected but changed:
//                    its sequence was marked"
//   participant.cc   malformed connection control moves kWelcomed to kInGroup ->
//                    participant_control: "state 4 -> 5"
#ifndef NETKEY_TESTS_FUZZ_FUZZ_INVARIANTS_H_
#define NETKEY_TESTS_FUZZ_FUZZ_INVARIANTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netkey/member_keys.h"
#include "netkey/participant.h"
#include "netkey/root.h"
#include "netkey/traffic.h"

namespace netkey::fuzz {

using HeldKeys = std::vector<std::pair<NodeId, SymmetricKey>>;

// What a MemberKeys shows: epoch, membership, leaf, net key and every held path key.
struct KeysSnapshot {
  bool in_group = false;
  uint64_t epoch = 0;
  NodeId leaf = 0;
  std::optional<SymmetricKey> net_key;
  HeldKeys held;
};
KeysSnapshot snapshot(const MemberKeys& k);

// What a TrafficReceiver shows, and how many packets the harness has polled from it.
struct ReceiverSnapshot {
  bool has_epoch = false;
  uint64_t epoch = 0;
  size_t buffered = 0;
  uint64_t delivered = 0;
};
ReceiverSnapshot snapshot(const TrafficReceiver& rx, uint64_t delivered);

// What a Participant shows, and how many transmits and events the input produced (a
// rejected input answers nothing).
struct ParticipantSnapshot {
  Participant::State state = Participant::State::kIdle;
  MemberId member = 0;
  uint64_t group = 0;
  uint64_t epoch = 0;
  std::optional<SymmetricKey> net_key;
  HeldKeys held;
  std::optional<uint64_t> timeout;
  uint64_t outputs = 0;
};
ParticipantSnapshot snapshot(const Participant& p, uint64_t outputs = 0);

// What a Root shows: membership, batch, ACL and commit counters, the net key, which
// peers hold the epoch, which of `addresses` may connect, the next deadline, and how many
// transmits and events the input produced.
struct RootSnapshot {
  uint64_t group = 0;
  uint64_t epoch = 0;
  size_t members = 0;
  size_t pending = 0;
  uint64_t acl_updates_applied = 0;
  uint64_t commits = 0;
  uint64_t cookies_issued = 0;
  uint64_t resyncs_sent = 0;
  uint64_t refusals = 0;
  std::optional<SymmetricKey> net_key;
  std::vector<PeerId> member_peers;  // sorted
  std::vector<bool> accepts;         // accepts_connection_from(addresses[i])
  std::optional<uint64_t> timeout;
  uint64_t outputs = 0;
};
RootSnapshot snapshot(const Root& r, const std::vector<std::string>& addresses, uint64_t outputs = 0);

// The Root's and the Participant's rejection counters, summed: when the sum grew over
// one input, that input was rejected.
uint64_t rejections(const Root& r);       // malformed_control, raw_unexpected, control_rejected,
                                          // acl_updates_rejected
uint64_t rejections(const Participant& p);  // control_malformed, control_rejected, raw_ignored,
                                            // rekeys_rejected, rekeys_stale, rekeys_early, traffic drops

// "" when the snapshots agree, else the fields that differ ("epoch 1 -> 2, net_key").
std::string diff(const KeysSnapshot& a, const KeysSnapshot& b);
std::string diff(const ReceiverSnapshot& a, const ReceiverSnapshot& b);
std::string diff(const ParticipantSnapshot& a, const ParticipantSnapshot& b);
std::string diff(const RootSnapshot& a, const RootSnapshot& b);

// Test hook for fuzz_invariants_test: every input counts as rejected, so an input that
// changes the state must trap. Off in the fuzz targets.
bool force_rejected();
void set_force_rejected(bool on);

[[noreturn]] void all_or_nothing_violated(std::string_view what, const std::string& difference);

// Prints `what` and the difference to stderr and traps when the input was rejected
// and the snapshots differ.
template <class Snapshot>
void require_unchanged(bool rejected, const Snapshot& before, const Snapshot& after, std::string_view what) {
  if (!rejected && !force_rejected()) return;
  const std::string d = diff(before, after);
  if (!d.empty()) all_or_nothing_violated(what, d);
}

}  // namespace netkey::fuzz

#endif  // NETKEY_TESTS_FUZZ_FUZZ_INVARIANTS_H_
