#include "common/swarm.h"

#include <algorithm>

namespace netkey::demo {

std::string bot_subject(size_t i) { return "bot" + std::to_string(i); }

double SwarmStats::state_delayed_fraction() const {
  if (state_expected == 0) return 0;
  return static_cast<double>(state_delayed + state_lost_rekey) / static_cast<double>(state_expected);
}

// Adds one bot's bytes, drops and expected snapshots to `into`: epoch transitions apart
// from real failures.
void Swarm::tally(const Bot& b, SwarmStats& into) const {
  into.state_expected += b.expected();
  if (b.plain) {
    into.state_bytes += b.plain->state_bytes();
    return;
  }
  const Participant& p = b.host->participant();
  into.rekey_bytes += p.stats().rekey_bytes;
  into.state_bytes += p.stats().state_bytes;
  const DropCounters& d = p.traffic_drops();
  for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
    if (d.by_reason[r] == 0) continue;
    const auto reason = static_cast<DropReason>(r);
    const bool transition = reason == DropReason::kUnknownEpoch || reason == DropReason::kEpochExpired ||
                            reason == DropReason::kBufferFull;
    (transition ? into.transitions : into.undecryptable)[std::string(drop_reason_name(reason))] += d.by_reason[r];
  }
}

std::vector<uint8_t> demo_charter(Identities& ids, uint8_t degree, bool signed_broadcasts, bool hash_forward,
                                  uint8_t teams) {
  CharterFields f = Identities::default_fields(kDemoSession, kDemoBaseUnix, kDemoValidSeconds);
  f.degree = degree;
  f.batch_window_ms = 50;
  f.max_batch = 512;
  f.member_cap = 4000;
  f.classification = 1;
  f.signed_broadcasts = signed_broadcasts;
  f.hash_forward_joins = hash_forward;
  f.teams = teams;
  std::vector<std::string> acl;
  for (size_t i = 1; i <= kDemoSubjects; ++i) acl.push_back(bot_subject(i));
  return ids.charter(f, acl);
}

Swarm::Swarm(SwarmOptions opts, const Identities* ids, std::vector<uint8_t> charter, Ed25519PublicKey ca,
             uint64_t unix_zero)
    : opts_(std::move(opts)),
      ids_(ids),
      charter_(std::move(charter)),
      ca_(ca),
      unix_zero_(unix_zero),
      rng_(opts_.seed),
      next_subject_(opts_.first_subject) {}

void Swarm::add_bot(uint64_t now) {
  if (next_subject_ > opts_.last_subject) return;  // pool exhausted
  Bot b;
  b.subject = bot_subject(next_subject_++);
  if (opts_.insecure) {
    b.plain = InsecureClient::create(opts_.host, opts_.port);
    if (!b.plain) {
      ++stats_.refusals;
      return;
    }
  } else {
    const Identity& id = const_cast<Identities*>(ids_)->get(b.subject);
    ParticipantConfig pc = const_cast<Identities*>(ids_)->participant_config(id, charter_, unix_zero_);
    enet::ClientOptions co;
    co.server_host = opts_.host;
    co.server_port = opts_.port;
    auto host = enet::ClientHost::create(std::move(pc), std::make_unique<SystemRng>(), co);
    if (!host) {
      ++stats_.refusals;
      return;
    }
    b.host = std::move(host).value();
  }
  b.next_input = now + rng_.uniform(100'000'000);
  bots_.push_back(std::move(b));
  ++stats_.joins;
}

void Swarm::hand_over(Bot& b) {
  if (b.handed_over || !on_departure_ || b.plain) return;
  const Participant& p = b.host->participant();
  if (p.member_id() == 0) return;  // no handshake: it holds no group key
  b.handed_over = true;
  on_departure_(p.member_id(), p);
}

void Swarm::remove_bot(size_t i, bool goodbye) {
  Bot& b = bots_[i];
  hand_over(b);
  if (!opts_.insecure) pending_.push_back({last_tick_, max_epoch()});  // no rekey to wait for otherwise
  if (b.plain) {
    goodbye ? b.plain->leave() : b.plain->vanish();
  } else if (goodbye) {
    b.host->leave();
  } else {
    b.host->vanish();
  }
  b.gone = true;
  ++stats_.leaves;
}

void Swarm::collect(Bot& b) {
  for (;;) {
    std::optional<ParticipantEvent> e = b.plain ? b.plain->poll_event() : b.host->poll_event();
    if (!e) return;
    if (e->kind == ParticipantEvent::Kind::kMessage) {
      ++stats_.messages;
      on_message(b, *e);
    }
    if (e->kind == ParticipantEvent::Kind::kRefused) {
      hand_over(b);
      if (e->reason == RefusalReason::kRemoved) {
        ++stats_.kicks_seen;
      } else {
        ++stats_.refusals;
      }
      b.gone = true;
    }
  }
}

// A message by its type: the Root's unreliable broadcasts are snapshots; team
// broadcasts, private messages and reliable events are counted (issue 12).
void Swarm::on_message(Bot& b, const ParticipantEvent& e) {
  if (e.delivery == Delivery::kReliableOrdered) ++stats_.events;
  switch (e.type) {
    case PacketType::kRootBroadcast:
    case PacketType::kRootSignedBroadcast:
      if (e.delivery != Delivery::kReliableOrdered) on_snapshot(b, e);
      break;
    case PacketType::kTeamBroadcast: ++stats_.team_messages; break;
    case PacketType::kPrivateToMember: {
      ++stats_.private_messages;
      uint32_t to = 0;
      for (size_t i = 4; i >= 1 && i < e.payload.size(); --i) to = to << 8 | e.payload[i];
      if (e.payload.size() < 5 || e.payload[0] != 'P' || to != b.host->participant().member_id()) {
        ++stats_.private_not_mine;
      }
      break;
    }
    default: break;
  }
}

// A snapshot: its tick extends the range the bot should have seen, and its wait in the
// next-epoch buffer (if any) is a stall the player felt.
void Swarm::on_snapshot(Bot& b, const ParticipantEvent& e) {
  if (e.payload.size() < 4) return;
  uint32_t tick = 0;
  for (int i = 3; i >= 0; --i) tick = tick << 8 | e.payload[static_cast<size_t>(i)];
  if (!b.ticked) {
    b.ticked = true;
    b.first_tick = b.last_tick = tick;
  }
  b.first_tick = std::min(b.first_tick, tick);
  b.last_tick = std::max(b.last_tick, tick);
  ++stats_.state_received;
  const double waited_ms = static_cast<double>(e.buffered_ns) / 1e6;
  if (e.buffered_ns > 0) {
    ++stats_.state_delayed;
    stats_.stall_ms.push_back(waited_ms);
  }
  // The first snapshot under a new epoch (not the Welcome's: that is no rekey's stall).
  if (e.epoch > b.snapshot_epoch) {
    if (b.snapshot_epoch != 0) stats_.stall_per_rekey_ms.push_back(waited_ms);
    b.snapshot_epoch = e.epoch;
  }
}

void Swarm::start(uint64_t now) {
  start_ = now;
  last_tick_ = now;
  next_bulk_ = now + static_cast<uint64_t>(opts_.bulk_every_s * 1e9);
  arrivals_ = static_cast<double>(opts_.bots);
}

void Swarm::tick(uint64_t now) {
  if (start_ == 0) start(now);
  // Arrivals are spread over passes (at most kArrivalsPerPass each): creating a bot
  // verifies the charter (~1 ms for 10 000 names), and a wave created in one pass would
  // stall every other bot in this process.
  for (int k = 0; k < kArrivalsPerPass && arrivals_ >= 1; ++k) {
    arrivals_ -= 1;
    add_bot(now);
  }
  const double dt = static_cast<double>(now - last_tick_) / 1e9;
  last_tick_ = now;
  service_bots(now);
  stats_.bot_seconds += dt * static_cast<double>(in_group());
  if (churn_ && in_group() > 0) churn(now, dt);
  leave_latency(now);
  if (now >= next_accounting_) {
    next_accounting_ = now + 250'000'000;
    account();
  }
  // Finished bots can be destroyed once counted; keep the vector small.
  if (bots_.size() > 2 * opts_.bots + 64) retire_gone();
}

void Swarm::service_bots(uint64_t now) {
  for (auto& b : bots_) {
    if (b.gone) continue;
    if (b.plain) {
      b.plain->service();
    } else {
      (void)b.host->service(0);
    }
    collect(b);
    if (b.connected()) {
      b.was_connected = true;
    } else if (b.was_connected && !b.gone) {
      hand_over(b);
      b.gone = true;  // the server removed it after a timeout (or it lost the server)
      ++stats_.dropped_connections;
      continue;
    }
    if (b.in_group() && now >= b.next_input) send_input(b, now);
  }
}

void Swarm::send_input(Bot& b, uint64_t now) {
  b.next_input = now + static_cast<uint64_t>(1e9 / opts_.input_hz);
  uint8_t input[6] = {static_cast<uint8_t>(rng_.uniform(3)), static_cast<uint8_t>(rng_.uniform(3)),
                      static_cast<uint8_t>(rng_.uniform(4) == 0), 0, 0, 0};
  if (b.plain) {
    b.plain->send(input);
  } else {
    (void)b.host->send(input);
  }
  ++stats_.inputs_sent;
  if (!b.plain && opts_.chat_every_s > 0 && rng_.uniform(static_cast<uint64_t>(opts_.chat_every_s * opts_.input_hz)) == 0) {
    const uint8_t chat[] = {'C', 'g', 'g'};
    if (b.host->send(chat, Delivery::kReliableOrdered)) ++stats_.chat_sent;
  }
}

// Churn: half joins, half leaves; leaves alternate between a goodbye and a crash.
void Swarm::churn(uint64_t now, double dt) {
  join_credit_ += dt * opts_.churn_per_s / 2;
  leave_credit_ += dt * opts_.churn_per_s / 2;
  if (opts_.bulk_every_s > 0 && now >= next_bulk_) {
    next_bulk_ = now + static_cast<uint64_t>(opts_.bulk_every_s * 1e9);
    const double wave = opts_.bulk_fraction * static_cast<double>(opts_.bots);
    join_credit_ += wave;
    leave_credit_ += wave;
  }
  while (leave_credit_ >= 1) {
    leave_credit_ -= 1;
    std::vector<size_t> members;
    for (size_t i = 0; i < bots_.size(); ++i) {
      if (!bots_[i].gone && bots_[i].in_group()) members.push_back(i);
    }
    if (members.empty()) break;
    remove_bot(members[rng_.uniform(members.size())], stats_.leaves % 2 == 0);
  }
  while (join_credit_ >= 1) {
    join_credit_ -= 1;
    arrivals_ += 1;
  }
}

// Leave latency: from the request until every remaining bot is past that epoch.
void Swarm::leave_latency(uint64_t now) {
  const uint64_t lo = min_epoch();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (in_group() == 0 || lo > it->epoch_before) {
      stats_.leave_latency_ms.push_back(static_cast<double>(now - it->at_ns) / 1e6);
      it = pending_.erase(it);
    } else if (now - it->at_ns > 10'000'000'000) {
      ++stats_.latency_timeouts;
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

void Swarm::retire_gone() {
  for (const auto& b : bots_) {
    if (b.gone) tally(b, retired_);
  }
  bots_.erase(std::remove_if(bots_.begin(), bots_.end(), [](const Bot& b) { return b.gone; }), bots_.end());
}

void Swarm::account() {
  // Drop accounting and byte counts, for finished bots too (cumulative per bot).
  stats_.undecryptable.clear();
  stats_.transitions.clear();
  stats_.rekey_bytes = stats_.state_bytes = stats_.state_expected = 0;
  for (auto& b : bots_) tally(b, stats_);
  stats_.rekey_bytes += retired_.rekey_bytes;
  stats_.state_bytes += retired_.state_bytes;
  stats_.state_expected += retired_.state_expected;
  for (const auto& [k, v] : retired_.undecryptable) stats_.undecryptable[k] += v;
  for (const auto& [k, v] : retired_.transitions) stats_.transitions[k] += v;
  stats_.state_lost_rekey = 0;
  for (const auto& [k, v] : stats_.transitions) stats_.state_lost_rekey += v;
}

size_t Swarm::alive() const {
  return static_cast<size_t>(std::count_if(bots_.begin(), bots_.end(), [](const Bot& b) { return !b.gone; }));
}

size_t Swarm::in_group() const {
  size_t n = 0;
  for (const auto& b : bots_) n += !b.gone && b.in_group();
  return n;
}

uint64_t Swarm::max_epoch() const {
  uint64_t e = 0;
  for (const auto& b : bots_) {
    if (!b.gone && b.in_group()) e = std::max(e, b.epoch());
  }
  return e;
}

uint64_t Swarm::min_epoch() const {
  uint64_t e = UINT64_MAX;
  for (const auto& b : bots_) {
    if (!b.gone && b.in_group()) e = std::min(e, b.epoch());
  }
  return e == UINT64_MAX ? 0 : e;
}

bool Swarm::converged(uint64_t epoch, const SymmetricKey* net) const {
  for (const auto& b : bots_) {
    if (b.gone) continue;
    if (b.plain) {
      if (!b.plain->connected()) return false;
      continue;
    }
    const Participant& p = b.host->participant();
    if (!p.has_net_key()) {
      // Still joining: not converged yet unless it was refused.
      if (p.state() == Participant::State::kRefused) continue;
      return false;
    }
    if (p.epoch() != epoch || (net && !(p.net_key() == *net))) return false;
  }
  return true;
}

std::optional<std::string> Swarm::pick_member_subject() {
  std::vector<size_t> members;
  for (size_t i = 0; i < bots_.size(); ++i) {
    if (!bots_[i].gone && bots_[i].in_group()) members.push_back(i);
  }
  if (members.empty()) return std::nullopt;
  return bots_[members[rng_.uniform(members.size())]].subject;
}

void Swarm::for_each_member(const std::function<void(const Participant&)>& fn) const {
  for (const auto& b : bots_) {
    if (!b.gone && !b.plain && b.in_group()) fn(b.host->participant());
  }
}

std::optional<std::string> Swarm::random_member_subject() {
  std::vector<size_t> members;
  for (size_t i = 0; i < bots_.size(); ++i) {
    if (!bots_[i].gone && bots_[i].in_group()) members.push_back(i);
  }
  if (members.empty()) return std::nullopt;
  Bot& b = bots_[members[rng_.uniform(members.size())]];
  hand_over(b);
  return b.subject;
}

}  // namespace netkey::demo
