#include "fuzz_invariants.h"

#include <algorithm>
#include <cstdio>

#include "netkey/testing.h"
namespace netkey::fuzz {

namespace {

bool g_force_rejected = false;

HeldKeys clone_held(const std::vector<std::pair<NodeId, const SymmetricKey*>>& held) {
  HeldKeys out;
  out.reserve(held.size());
  for (const auto& [node, key] : held) out.emplace_back(node, key->clone());
  return out;
}

// Collects "name a -> b" for each field that differs.
class Differ {
 public:
  template <class T>
  void field(const char* name, const T& a, const T& b) {
    if (a == b) return;
    sep();
    out_ += name;
    out_ += ' ';
    out_ += std::to_string(static_cast<uint64_t>(a));
    out_ += " -> ";
    out_ += std::to_string(static_cast<uint64_t>(b));
  }
  // Keys and other values that are never printed (secrets) or have no number.
  void same(const char* name, bool equal) {
    if (equal) return;
    sep();
    out_ += name;
  }
  std::string take() { return std::move(out_); }

 private:
  void sep() {
    if (!out_.empty()) out_ += ", ";
  }
  std::string out_;
};

bool same_key(const std::optional<SymmetricKey>& a, const std::optional<SymmetricKey>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a.has_value() || *a == *b;  // sodium_memcmp
}

bool same_held(const HeldKeys& a, const HeldKeys& b) {
  if (a.size() != b.size()) return false;
  bool equal = true;
  for (size_t i = 0; i < a.size(); ++i) {
    equal = equal && a[i].first == b[i].first && a[i].second == b[i].second;
  }
  return equal;
}

uint64_t timeout_of(const std::optional<uint64_t>& t) { return t.value_or(UINT64_MAX); }

}  // namespace

bool force_rejected() { return g_force_rejected; }
void set_force_rejected(bool on) { g_force_rejected = on; }

void all_or_nothing_violated(std::string_view what, const std::string& difference) {
  std::fprintf(stderr, "netkey fuzz: all-or-nothing violated: %.*s was rejected but changed: %s\n",
               static_cast<int>(what.size()), what.data(), difference.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

KeysSnapshot snapshot(const MemberKeys& k) {
  KeysSnapshot s;
  s.in_group = k.in_group();
  s.epoch = k.epoch();
  s.leaf = k.leaf();
  if (k.in_group()) s.net_key = k.net_key().clone();
  s.held = clone_held(k.held_keys());
  return s;
}

ReceiverSnapshot snapshot(const TrafficReceiver& rx, uint64_t delivered) {
  return {rx.has_epoch(), rx.epoch(), rx.buffered(), delivered};
}

ParticipantSnapshot snapshot(const Participant& p, uint64_t outputs) {
  ParticipantSnapshot s;
  s.state = p.state();
  s.member = p.member_id();
  s.group = p.group_id();
  s.epoch = p.epoch();
  if (p.has_net_key()) s.net_key = p.net_key().clone();
  s.held = clone_held(testing::held_keys(p));
  s.timeout = p.poll_timeout();
  s.outputs = outputs;
  return s;
}

RootSnapshot snapshot(const Root& r, const std::vector<std::string>& addresses, uint64_t outputs) {
  RootSnapshot s;
  s.group = r.group_id();
  s.epoch = r.epoch();
  s.members = r.member_count();
  s.pending = r.pending();
  s.acl_updates_applied = r.stats().acl_updates_applied;
  s.commits = r.stats().commits;
  s.cookies_issued = r.stats().cookies_issued;
  s.resyncs_sent = r.stats().resyncs_sent;
  s.refusals = r.stats().refusals_total();
  if (r.has_net_key()) s.net_key = testing::root_net_key(r).clone();
  s.member_peers = r.member_peers();
  std::sort(s.member_peers.begin(), s.member_peers.end());
  for (const auto& a : addresses) s.accepts.push_back(r.accepts_connection_from(a));
  s.timeout = r.poll_timeout();
  s.outputs = outputs;
  return s;
}

uint64_t rejections(const Root& r) {
  const RootStats& s = r.stats();
  return s.malformed_control + s.raw_unexpected + s.control_rejected + s.acl_updates_rejected;
}

uint64_t rejections(const Participant& p) {
  const ParticipantStats& s = p.stats();
  return s.control_malformed + s.control_rejected + s.raw_ignored + s.rekeys_rejected + s.rekeys_stale +
         s.rekeys_early + p.traffic_drops().total();
}

std::string diff(const KeysSnapshot& a, const KeysSnapshot& b) {
  Differ d;
  d.field("in_group", a.in_group, b.in_group);
  d.field("epoch", a.epoch, b.epoch);
  d.field("leaf", a.leaf, b.leaf);
  d.same("net_key", same_key(a.net_key, b.net_key));
  d.same("held path keys", same_held(a.held, b.held));
  return d.take();
}

std::string diff(const ReceiverSnapshot& a, const ReceiverSnapshot& b) {
  Differ d;
  d.field("has_epoch", a.has_epoch, b.has_epoch);
  d.field("epoch", a.epoch, b.epoch);
  d.field("buffered", a.buffered, b.buffered);
  d.field("delivered", a.delivered, b.delivered);
  return d.take();
}

std::string diff(const ParticipantSnapshot& a, const ParticipantSnapshot& b) {
  Differ d;
  d.field("state", a.state, b.state);
  d.field("member_id", a.member, b.member);
  d.field("group_id", a.group, b.group);
  d.field("epoch", a.epoch, b.epoch);
  d.same("net_key", same_key(a.net_key, b.net_key));
  d.same("held path keys", same_held(a.held, b.held));
  d.field("poll_timeout", timeout_of(a.timeout), timeout_of(b.timeout));
  d.field("transmits+events", a.outputs, b.outputs);
  return d.take();
}

std::string diff(const RootSnapshot& a, const RootSnapshot& b) {
  Differ d;
  d.field("group_id", a.group, b.group);
  d.field("epoch", a.epoch, b.epoch);
  d.field("member_count", a.members, b.members);
  d.field("pending", a.pending, b.pending);
  d.field("acl_updates_applied", a.acl_updates_applied, b.acl_updates_applied);
  d.field("commits", a.commits, b.commits);
  d.field("cookies_issued", a.cookies_issued, b.cookies_issued);
  d.field("resyncs_sent", a.resyncs_sent, b.resyncs_sent);
  d.field("refusals", a.refusals, b.refusals);
  d.same("net_key", same_key(a.net_key, b.net_key));
  d.same("member_peers", a.member_peers == b.member_peers);
  d.same("accepts_connection_from", a.accepts == b.accepts);
  d.field("poll_timeout", timeout_of(a.timeout), timeout_of(b.timeout));
  d.field("transmits+events", a.outputs, b.outputs);
  return d.take();
}

}  // namespace netkey::fuzz
