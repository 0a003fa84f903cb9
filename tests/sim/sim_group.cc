#include "sim/sim_group.h"

#include <gtest/gtest.h>

#include "netkey/testing.h"
namespace netkey::testing {

namespace {
// One IP per node, so per-IP limits apply per node as they would per player.
std::string address_of(uint32_t node) { return "10.0." + std::to_string(node >> 8) + "." + std::to_string(node & 255) + ":4000"; }
uint32_t node_of(std::string_view address) {
  // "10.0.H.L:4000" -> H * 256 + L
  const size_t a = address.find('.', 5), b = address.find(':');
  return static_cast<uint32_t>(std::stoul(std::string(address.substr(5, a - 5))) * 256 +
                               std::stoul(std::string(address.substr(a + 1, b - a - 1))));
}
}  // namespace

SimGroup::SimGroup(SimGroupOptions o) : opts_(std::move(o)), ids_(opts_.seed), net_(opts_.seed * 31 + 7, opts_.link) {
  std::vector<std::string> acl;
  for (size_t i = 1; i <= opts_.subjects; ++i) acl.push_back(subject(i));
  charter_ = ids_.charter(opts_.charter, acl);
  RootConfig rc = ids_.root_config(charter_, kSimUnixTime);
  const RootConfig& lim = opts_.root_overrides;
  rc.cookie_lifetime_ns = lim.cookie_lifetime_ns;
  rc.handshake_timeout_ns = lim.handshake_timeout_ns;
  rc.max_handshakes_in_flight = lim.max_handshakes_in_flight;
  rc.max_handshakes_per_ip_per_s = lim.max_handshakes_per_ip_per_s;
  rc.max_handshakes_per_subject_per_s = lim.max_handshakes_per_subject_per_s;
  rc.max_rate_entries = lim.max_rate_entries;
  rc.resync_min_interval_ns = lim.resync_min_interval_ns;
  rc.rekey_copies = lim.rekey_copies;
  rc.rekey_encoding = opts_.encoding;
  auto root = Root::create(std::move(rc), std::make_unique<DeterministicRng>(opts_.seed * 101), 0);
  EXPECT_TRUE(root.is_ok()) << root.status().to_string();
  root_ = std::make_unique<Root>(std::move(root).value());
  const Identity& lc = ids_.get("lc", Role::kListController, 9);
  lc_ = std::make_unique<ListController>(opts_.charter.session_id, root_->group_id(), lc.seed, lc.certificate);
}

uint32_t SimGroup::add(const Identity& id, const std::vector<uint8_t>* charter) {
  ParticipantConfig pc = ids_.participant_config(id, charter ? *charter : charter_, kSimUnixTime);
  const uint32_t node = next_node_++;
  auto p = Participant::create(std::move(pc), std::make_unique<DeterministicRng>(opts_.seed * 7919 + node), now_);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  nodes_.emplace(node, std::make_unique<Participant>(std::move(p).value()));
  counters_[node];
  nodes_.at(node)->start(now_);
  pump(node);
  return node;
}

void SimGroup::disconnect(uint32_t node) {
  crashed_.insert(node);
  closed_.insert(node);
  at(now_ + opts_.disconnect_detect_ns, [this, node] {
    root_->peer_disconnected(node, now_);
    pump_root();
  });
}

void SimGroup::lc_send(const std::shared_ptr<const std::vector<uint8_t>>& bytes) {
  net_.send(kLcNode, 0, Channel::kControl, true, bytes, now_);
}

void SimGroup::follow_member_change(const Transmit& t) {
  if (t.member_change == Transmit::MemberChange::kNone) return;
  ++seam_.changes;
  if (t.member_change == Transmit::MemberChange::kTeamChanged) {
    stream_team_[t.peer] = t.team;
  } else if (t.member_change == Transmit::MemberChange::kAdded) {
    stream_members_.insert(t.peer);
    stream_team_[t.peer] = t.team;
  } else if (opts_.ignore_first_member_removal && !removal_ignored_) {
    removal_ignored_ = true;
  } else {
    stream_members_.erase(t.peer);
  }
}

// The kAllMembers recipients by the stream (at this point of it) against those by
// member_peers() (at drain time). They agree when the Root was drained after the call
// that queued the transmit, which the sim does except after a test's direct call.
void SimGroup::check_fanout(const Transmit& t) {
  std::set<PeerId> by_stream, by_query;
  for (PeerId p : stream_members_) {
    if (!t.excludes(p)) by_stream.insert(p);
  }
  for (PeerId p : root_->member_peers()) {
    if (!t.excludes(p)) by_query.insert(p);
  }
  ++seam_.fanouts_checked;
  if (by_stream != by_query) ++seam_.fanout_mismatches;
}

void SimGroup::pump_root() {
  while (auto t = root_->poll_transmit()) {
    follow_member_change(*t);
    if (t->to == Transmit::To::kAllMembers) check_fanout(*t);
    if (root_tap_ && !t->bytes->empty()) root_tap_(t->channel, *t->bytes);
    if (t->to == Transmit::To::kAddress) {
      const uint32_t node = node_of(t->address);
      if (!t->bytes->empty() && !crashed_.count(node)) net_.send(0, node, t->channel, false, t->bytes, now_);
    } else if (t->to == Transmit::To::kPeer) {
      if (!t->bytes->empty() && !closed_.count(t->peer) && t->peer != kLcNode) {
        net_.send(0, t->peer, t->channel, t->reliable, t->bytes, now_);
      }
      if (t->then_disconnect) closed_.insert(t->peer);
    } else if (t->to == Transmit::To::kTeam) {
      for (PeerId p : stream_members_) {  // a team's members, by the stream (as ServerHost)
        auto team = stream_team_.find(p);
        if (team == stream_team_.end() || team->second != t->team || t->excludes(p) || closed_.count(p)) continue;
        net_.send(0, p, t->channel, t->reliable, t->bytes, now_);
      }
    } else {
      for (PeerId p : root_->member_peers()) {
        if (!t->excludes(p) && !closed_.count(p)) net_.send(0, p, t->channel, t->reliable, t->bytes, now_);
      }
    }
  }
  while (auto e = root_->poll_event()) {
    if (e->kind != RootEvent::Kind::kMessage) root_events_.push_back(std::move(*e));
  }
  const std::vector<PeerId> now_members = root_->member_peers();
  ++seam_.drains_checked;
  if (std::set<PeerId>(now_members.begin(), now_members.end()) != stream_members_) ++seam_.set_mismatches;
}

void SimGroup::pump(uint32_t node) {
  Participant& p = *nodes_.at(node);
  while (auto t = p.poll_transmit()) {
    if (!closed_.count(node)) net_.send(node, 0, t->channel, t->reliable, t->bytes, now_);
  }
  NodeCounters& c = counters_.at(node);
  while (auto e = p.poll_event()) {
    if (event_tap_) event_tap_(node, *e);
    switch (e->kind) {
      case ParticipantEvent::Kind::kWelcomed: ++c.welcomed; break;
      case ParticipantEvent::Kind::kRekeyed: ++c.rekeyed; break;
      case ParticipantEvent::Kind::kMessage: ++c.messages; break;
      case ParticipantEvent::Kind::kResyncRequested: ++c.resyncs; break;
      case ParticipantEvent::Kind::kRefused:
        c.refused = true;
        c.last_refusal = e->reason;
        break;
      case ParticipantEvent::Kind::kDisconnected: break;  // transport bindings only
      case ParticipantEvent::Kind::kTeamChanged: break;
    }
  }
  if (auto t = p.poll_timeout()) timers_.push({*t, node});
}

// The class a traffic datagram came with, as a transport reads it off its flags.
static netkey::Delivery traffic_class(const Delivery& d) {
  return d.reliable ? netkey::Delivery::kReliableOrdered : netkey::Delivery::kUnreliableSequenced;
}

void SimGroup::deliver(const Delivery& d) {
  if (d.to == 0) {
    const std::string addr = address_of(d.from);
    if (d.from == kLcNode) {
      (void)root_->submit_acl_update(*d.bytes, now_);  // the LC's own trusted link
    } else if (d.channel == Channel::kMember || d.channel == Channel::kEvents) {
      root_->handle_traffic(d.from, *d.bytes, now_, traffic_class(d));
    } else if (!d.reliable) {
      root_->handle_datagram(addr, *d.bytes, now_);  // raw, before any connection
    } else {
      // The first reliable message opens the connection (as ENet's CONNECT does).
      if (!connected_.count(d.from)) {
        if (!root_->peer_connected(d.from, addr, now_)) {
          closed_.insert(d.from);
          pump_root();
          return;
        }
        connected_.insert(d.from);
      }
      root_->handle_control(d.from, *d.bytes, now_);
    }
    pump_root();
    return;
  }
  auto it = nodes_.find(d.to);
  if (it == nodes_.end() || crashed_.count(d.to)) return;
  Participant& p = *it->second;
  switch (d.channel) {
    case Channel::kControl:
      if (d.reliable) {
        p.handle_control(*d.bytes, now_);
      } else {
        p.handle_datagram(*d.bytes, now_);
      }
      break;
    case Channel::kRekey: p.handle_rekey(*d.bytes, now_); break;
    default: p.handle_traffic(*d.bytes, now_, traffic_class(d)); break;
  }
  pump(d.to);
}

uint64_t SimGroup::next_due() const {
  uint64_t t = UINT64_MAX;
  if (auto n = net_.next_time()) t = std::min(t, *n);
  if (auto r = root_->poll_timeout()) t = std::min(t, *r);
  if (!timers_.empty()) t = std::min(t, timers_.top().first);
  if (!actions_.empty()) t = std::min(t, actions_.begin()->first);
  return t;
}

void SimGroup::run_until(uint64_t until) {
  for (;;) {
    const uint64_t t = next_due();
    if (t > until) {
      now_ = std::max(now_, until);
      return;
    }
    now_ = std::max(now_, t);
    while (auto d = net_.pop(now_)) deliver(*d);
    while (!actions_.empty() && actions_.begin()->first <= now_) {
      auto fn = std::move(actions_.begin()->second);
      actions_.erase(actions_.begin());
      fn();
    }
    if (auto r = root_->poll_timeout(); r && *r <= now_) {
      root_->handle_timeout(now_);
      pump_root();
    }
    while (!timers_.empty() && timers_.top().first <= now_) {
      const uint32_t node = timers_.top().second;
      timers_.pop();
      auto it = nodes_.find(node);
      if (it == nodes_.end() || crashed_.count(node)) continue;
      auto pt = it->second->poll_timeout();
      if (!pt || *pt > now_) continue;  // stale entry
      it->second->handle_timeout(now_);
      pump(node);
    }
  }
}

bool SimGroup::quiet() const {
  if (root_->pending() != 0 || root_->poll_timeout() || net_.next_time() || !actions_.empty()) return false;
  for (const auto& [node, p] : nodes_) {
    if (crashed_.count(node) || closed_.count(node)) continue;
    auto st = p->state();
    if (st == Participant::State::kConnecting || st == Participant::State::kCookie ||
        st == Participant::State::kHandshake) {
      return false;
    }
  }
  return true;
}

bool SimGroup::run_until_quiet(uint64_t max_ns) {
  const uint64_t end = now_ + max_ns;
  while (!quiet()) {
    if (now_ >= end) return false;
    run_for(10 * kMs);
  }
  return true;
}

std::vector<uint32_t> SimGroup::members() const {
  std::vector<uint32_t> out;
  for (const auto& [node, p] : nodes_) {
    if (closed_.count(node) || crashed_.count(node)) continue;
    auto s = p->state();
    if (s == Participant::State::kWelcomed || s == Participant::State::kInGroup) out.push_back(node);
  }
  return out;
}

size_t SimGroup::disagreeing() const {
  size_t bad = 0;
  for (uint32_t node : members()) {
    const Participant& p = *nodes_.at(node);
    if (!root_->has_net_key() || p.epoch() != root_->epoch() || !(p.net_key() == testing::root_net_key(*root_))) ++bad;
  }
  return bad;
}

}  // namespace netkey::testing
