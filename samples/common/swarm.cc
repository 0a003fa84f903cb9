#include "common/swarm.h"

#include <algorithm>

namespace netkey::demo {

std::string bot_subject(size_t i) { return "bot" + std::to_string(i); }

namespace {
// Adds one bot's bytes and drops to `into`: epoch transitions apart from real failures.
void tally(const Participant& p, SwarmStats& into) {
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
}  // namespace

std::vector<uint8_t> demo_charter(Identities& ids, uint8_t degree, bool signed_broadcasts, bool hash_forward) {
  CharterFields f = Identities::default_fields(kDemoSession, kDemoBaseUnix, kDemoValidSeconds);
  f.degree = degree;
  f.batch_window_ms = 50;
  f.max_batch = 512;
  f.member_cap = 4000;
  f.classification = 1;
  f.signed_broadcasts = signed_broadcasts;
  f.hash_forward_joins = hash_forward;
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
  const Identity& id = const_cast<Identities*>(ids_)->get(bot_subject(next_subject_++));
  ParticipantConfig pc = const_cast<Identities*>(ids_)->participant_config(id, charter_, unix_zero_);
  enet::ClientOptions co;
  co.server_host = opts_.host;
  co.server_port = opts_.port;
  auto host = enet::ClientHost::create(std::move(pc), std::make_unique<SystemRng>(), co);
  if (!host) {
    ++stats_.refusals;
    return;
  }
  Bot b;
  b.host = std::move(host).value();
  b.subject = id.subject;
  b.next_input = now + rng_.uniform(100'000'000);
  bots_.push_back(std::move(b));
  ++stats_.joins;
}

void Swarm::hand_over(Bot& b) {
  if (b.handed_over || !on_departure_) return;
  const Participant& p = b.host->participant();
  if (p.member_id() == 0) return;  // no handshake: it holds no group key
  b.handed_over = true;
  on_departure_(p.member_id(), p);
}

void Swarm::remove_bot(size_t i, bool goodbye) {
  Bot& b = bots_[i];
  hand_over(b);
  pending_.push_back({last_tick_, max_epoch()});
  if (goodbye) {
    b.host->leave();
  } else {
    b.host->vanish();
  }
  b.gone = true;
  ++stats_.leaves;
}

void Swarm::collect(Bot& b) {
  while (auto e = b.host->poll_event()) {
    if (e->kind == ParticipantEvent::Kind::kMessage) ++stats_.messages;
    if (e->kind == ParticipantEvent::Kind::kRefused) {
      hand_over(b);
      if (e->reason == RefusalReason::kRemoved) {
        ++stats_.kicks_seen;
        b.gone = true;
      } else {
        ++stats_.refusals;
        b.gone = true;
      }
    }
  }
}

void Swarm::tick(uint64_t now) {
  if (start_ == 0) {
    start_ = now;
    last_tick_ = now;
    next_bulk_ = now + static_cast<uint64_t>(opts_.bulk_every_s * 1e9);
    arrivals_ = static_cast<double>(opts_.bots);
  }
  // Arrivals are spread over passes (at most kArrivalsPerPass each): creating a bot
  // verifies the charter (~1 ms for 10 000 names), and a wave created in one pass would
  // stall every other bot in this process.
  for (int k = 0; k < kArrivalsPerPass && arrivals_ >= 1; ++k) {
    arrivals_ -= 1;
    add_bot(now);
  }
  const double dt = static_cast<double>(now - last_tick_) / 1e9;
  last_tick_ = now;
  for (auto& b : bots_) {
    if (b.gone) continue;
    (void)b.host->service(0);
    collect(b);
    if (b.host->connected()) {
      b.was_connected = true;
    } else if (b.was_connected && !b.gone) {
      hand_over(b);
      b.gone = true;  // the server removed it after a timeout (or it lost the server)
      ++stats_.dropped_connections;
      continue;
    }
    Participant& p = b.host->participant();
    if (p.has_net_key() && now >= b.next_input) {
      b.next_input = now + static_cast<uint64_t>(1e9 / opts_.input_hz);
      uint8_t input[6] = {static_cast<uint8_t>(rng_.uniform(3)), static_cast<uint8_t>(rng_.uniform(3)),
                          static_cast<uint8_t>(rng_.uniform(4) == 0), 0, 0, 0};
      (void)b.host->send(input);
    }
  }
  stats_.bot_seconds += dt * static_cast<double>(in_group());

  // Churn: half joins, half leaves; leaves alternate between a goodbye and a crash.
  if (churn_ && in_group() > 0) {
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
        if (!bots_[i].gone && bots_[i].host->participant().has_net_key()) members.push_back(i);
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
  if (now >= next_accounting_) {
    next_accounting_ = now + 250'000'000;
    account();
  }
  // Finished bots can be destroyed once counted; keep the vector small.
  if (bots_.size() > 2 * opts_.bots + 64) {
    for (const auto& b : bots_) {
      if (b.gone) tally(b.host->participant(), retired_);
    }
    bots_.erase(std::remove_if(bots_.begin(), bots_.end(), [](const Bot& b) { return b.gone; }), bots_.end());
  }
}

void Swarm::account() {
  // Drop accounting and byte counts, for finished bots too (cumulative per bot).
  stats_.undecryptable.clear();
  stats_.transitions.clear();
  stats_.rekey_bytes = stats_.state_bytes = 0;
  for (auto& b : bots_) tally(b.host->participant(), stats_);
  stats_.rekey_bytes += retired_.rekey_bytes;
  stats_.state_bytes += retired_.state_bytes;
  for (const auto& [k, v] : retired_.undecryptable) stats_.undecryptable[k] += v;
  for (const auto& [k, v] : retired_.transitions) stats_.transitions[k] += v;
}

size_t Swarm::alive() const {
  return static_cast<size_t>(std::count_if(bots_.begin(), bots_.end(), [](const Bot& b) { return !b.gone; }));
}

size_t Swarm::in_group() const {
  size_t n = 0;
  for (const auto& b : bots_) n += !b.gone && b.host->participant().has_net_key();
  return n;
}

uint64_t Swarm::max_epoch() const {
  uint64_t e = 0;
  for (const auto& b : bots_) {
    if (!b.gone && b.host->participant().has_net_key()) e = std::max(e, b.host->participant().epoch());
  }
  return e;
}

uint64_t Swarm::min_epoch() const {
  uint64_t e = UINT64_MAX;
  for (const auto& b : bots_) {
    if (!b.gone && b.host->participant().has_net_key()) e = std::min(e, b.host->participant().epoch());
  }
  return e == UINT64_MAX ? 0 : e;
}

bool Swarm::converged(uint64_t epoch, const SymmetricKey* net) const {
  for (const auto& b : bots_) {
    if (b.gone) continue;
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

std::optional<std::string> Swarm::random_member_subject() {
  std::vector<size_t> members;
  for (size_t i = 0; i < bots_.size(); ++i) {
    if (!bots_[i].gone && bots_[i].host->participant().has_net_key()) members.push_back(i);
  }
  if (members.empty()) return std::nullopt;
  Bot& b = bots_[members[rng_.uniform(members.size())]];
  hand_over(b);
  return b.subject;
}

}  // namespace netkey::demo
