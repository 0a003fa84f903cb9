#include "scenario.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "netkey/charter.h"
#include "netkey/kdf.h"
#include "netkey/list_controller.h"
#include "netkey/sign.h"
#include "netkey/testing.h"
#include "netkey/wire/control_generated.h"
#include "netkey/x25519.h"
#include "src/group/control_auth.h"
#include "src/group/messages.h"

namespace netkey::vectors {
namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "netkey-vectors: %s\n", what.c_str());
  std::exit(1);
}

bool has_identifier(const Bytes& b, const char* id) { return b.size() >= 8 && std::memcmp(b.data() + 4, id, 4) == 0; }

}  // namespace

const wire::Control* control_of(const Bytes& b) { return flatbuffers::GetRoot<wire::Control>(b.data()); }

Bytes key_bytes(const SymmetricKey& k) { return {k.data(), k.data() + SymmetricKey::kSize}; }

void RecordingRng::fill(std::span<uint8_t> out) {
  inner_.fill(out);
  draws_.emplace_back(out.begin(), out.end());
}

Bytes path_bytes(const std::vector<std::pair<NodeId, const SymmetricKey*>>& keys) {
  Bytes out(keys.size() * 36);
  size_t at = 0;
  for (const auto& [node, key] : keys) {
    for (int i = 0; i < 4; ++i) out[at++] = static_cast<uint8_t>(node >> (8 * i));
    std::memcpy(out.data() + at, key->data(), 32);
    at += 32;
  }
  return out;
}

Scenario::Scenario(ScenarioOptions options) : options_(options), ids_(kIdentitySeed) {
  CharterFields f = demo::Identities::default_fields(kSessionId);
  f.degree = 2;
  f.batch_window_ms = 60'000;  // batches commit when run() flushes them
  f.member_cap = 16;
  f.hash_forward_joins = options_.hash_forward;
  std::vector<std::string> acl = {"alice", "bob", "carol", "dave", "erin"};
  if (options_.hash_forward) acl.insert(acl.end(), {"frank", "grace"});
  charter_ = ids_.charter(f, acl);
  RootConfig rc = ids_.root_config(charter_, demo::kSimUnixTime);
  rc.rekey_encoding = options_.encoding;
  auto rng = std::make_unique<RecordingRng>(kRootSeed);
  root_rng_ = rng.get();
  auto root = Root::create(std::move(rc), std::move(rng), now_ns_);
  if (!root) die("Root::create: " + root.status().message());
  root_ = std::make_unique<Root>(std::move(root).value());
  if (root_rng_->draws().empty() || root_rng_->draws()[0].size() != detail::kBootNonceSize) {
    die("the Root's first random draw is not its boot nonce");
  }
}

Player& Scenario::add_player(const std::string& subject, uint64_t seed) {
  auto p = std::make_unique<Player>();
  p->subject = subject;
  p->peer = static_cast<PeerId>(players_.size() + 1);
  p->address = "192.0.2." + std::to_string(p->peer) + ":40000";
  auto rng = std::make_unique<RecordingRng>(seed);
  p->rng = rng.get();
  const demo::Identity& id = ids_.get(subject);
  auto part = Participant::create(ids_.participant_config(id, charter_, demo::kSimUnixTime), std::move(rng), now_ns_);
  if (!part) die("Participant::create: " + part.status().message());
  p->participant = std::make_unique<Participant>(std::move(part).value());
  players_.push_back(std::move(p));
  return *players_.back();
}

Player& Scenario::player(const std::string& subject) {
  for (auto& p : players_) {
    if (p->subject == subject) return *p;
  }
  die("no player " + subject);
}

const KeySnapshot& Scenario::before_batch2(const Player& p) const { return before2_.at(p.subject); }

void Scenario::run() {
  for (const char* s : {"alice", "bob", "carol"}) add_player(s, 100 + players_.size());
  for (auto& p : players_) p->participant->start(now_ns_);
  pump();
  root_->flush(now_ns_);
  pump();
  if (root_->epoch() != 1 || root_->member_count() != 3) die("batch 1 did not commit three members");
  for (auto& p : players_) {
    if (p->snapshots.empty()) die(p->subject + " has no Welcome");
    before2_[p->subject] = p->snapshots.back();
  }
  now_ns_ += 10'000'000;
  if (!options_.hash_forward) {
    player("carol").participant->leave(now_ns_);
    pump();
  }
  std::vector<std::string> joiners = {"dave", "erin"};
  if (options_.hash_forward) joiners.insert(joiners.end(), {"frank", "grace"});
  for (const std::string& s : joiners) add_player(s, 100 + players_.size()).participant->start(now_ns_);
  pump();
  now_ns_ += 10'000'000;
  root_->flush(now_ns_);
  pump();
  const size_t members = options_.hash_forward ? 7 : 4;
  if (root_->epoch() != 2 || root_->member_count() != members) die("batch 2 did not commit as scripted");
  std::vector<std::string> holders = {"alice", "bob"};
  holders.insert(holders.end(), joiners.begin(), joiners.end());
  for (const std::string& s : holders) {
    Player& p = player(s);
    if (!p.participant->has_net_key() || !(p.participant->net_key() == testing::root_net_key(*root_))) {
      die(p.subject + " does not hold the Root's net key of epoch 2");
    }
  }
  net_key2_ = key_bytes(testing::root_net_key(*root_));
}

Bytes Scenario::request_resync(Player& p, uint64_t have_epoch, AuthenticatedCapture* request) {
  if (p.leave) die(p.subject + " has sent Authenticated control already: its next seq is not 1");
  now_ns_ += 1'000'000'000;  // past the Root's per-member resync interval
  detail::ControlChannel mine(root_->group_id(), p.member_id, SymmetricKey::from_bytes(p.member_secret),
                              detail::ControlChannel::kToRoot);
  const Bytes msg = *mine.seal(*detail::encode_resync_request(have_epoch));
  *request = open_authenticated(p, msg, detail::ControlChannel::kToRoot);
  root_->handle_control(p.peer, msg, now_ns_);
  Bytes out;
  while (auto t = root_->poll_transmit()) {
    if (t->to == Transmit::To::kPeer && t->peer == p.peer && t->channel == Channel::kRekey) out = *t->bytes;
  }
  if (out.empty()) die("the Root sent no Resync");
  return out;
}

AuthenticatedCapture Scenario::remove(Player& p) {
  now_ns_ += 10'000'000;
  const demo::Identity& lc_id = ids_.get("lc", Role::kListController, 9);
  ListController lc(kSessionId, root_->group_id(), lc_id.seed, lc_id.certificate);
  auto update = lc.remove({p.subject});
  if (!update) die("ListController::remove: " + update.status().message());
  Status s = root_->submit_acl_update(**update, now_ns_);
  if (!s) die("the Root refused the ACL update: " + s.message());
  std::optional<AuthenticatedCapture> refusal;
  while (auto t = root_->poll_transmit()) {
    if (t->to == Transmit::To::kPeer && t->peer == p.peer && t->channel == Channel::kControl && t->bytes &&
        !t->bytes->empty() && !refusal) {
      refusal = open_authenticated(p, *t->bytes, detail::ControlChannel::kToMember);
    }
  }
  if (!refusal) die("the Root sent no Refusal to " + p.subject);
  p.participant->handle_control(refusal->message, now_ns_);
  if (p.participant->state() != Participant::State::kRemoved) {
    die(p.subject + " did not take the Refusal as a removal");
  }
  return *refusal;
}

AuthenticatedCapture Scenario::open_authenticated(const Player& p, const Bytes& message, uint8_t direction) const {
  const auto* a = control_of(message)->body_as_Authenticated();
  if (a == nullptr || a->direction() != direction) die(p.subject + ": not an Authenticated message that way");
  // The receiving side's channel opens it.
  const auto receiver = direction == detail::ControlChannel::kToRoot ? detail::ControlChannel::kToMember
                                                                     : detail::ControlChannel::kToRoot;
  detail::ControlChannel ch(root_->group_id(), p.member_id, SymmetricKey::from_bytes(p.member_secret), receiver);
  auto inner = ch.open(*a);
  if (!inner) die(p.subject + ": cannot open its Authenticated message: " + inner.status().message());
  return {message, inner->storage, direction, a->seq()};
}

void Scenario::pump() {
  for (int round = 0; round < 1000; ++round) {
    now_ns_ += 1'000'000;
    bool any = false;
    for (auto& pp : players_) {
      Player& p = *pp;
      while (auto t = p.participant->poll_transmit()) {
        any = true;
        const Bytes& b = *t->bytes;
        if (t->channel == Channel::kMember) {
          root_->handle_traffic(p.peer, b, now_ns_);
          continue;
        }
        if (!t->reliable) {  // a raw datagram, before the connection
          switch (control_of(b)->body_type()) {
            case wire::ControlBody::Hello: p.hello = b; break;
            case wire::ControlBody::HandshakeInit: p.handshake_init = b; break;
            default: die(p.subject + " sent an unexpected raw datagram");
          }
          root_->handle_datagram(p.address, b, now_ns_);
          continue;
        }
        connect(p);
        switch (control_of(b)->body_type()) {
          case wire::ControlBody::HandshakeFinish: p.handshake_finish = b; break;
          case wire::ControlBody::Authenticated:
            if (p.leave) die(p.subject + " sent a second Authenticated message");
            p.leave = open_authenticated(p, b, detail::ControlChannel::kToRoot);
            break;
          default: die(p.subject + " sent an unexpected control message on its connection");
        }
        root_->handle_control(p.peer, b, now_ns_);
      }
    }
    while (auto t = root_->poll_transmit()) {
      any = true;
      if (t->to == Transmit::To::kAddress) {
        for (auto& p : players_) {
          if (p->address != t->address) continue;
          const auto type = control_of(*t->bytes)->body_type();
          if (type == wire::ControlBody::CookieChallenge) p->cookie_challenge = *t->bytes;
          p->participant->handle_datagram(*t->bytes, now_ns_);
          if (type == wire::ControlBody::HandshakeResponse) {
            p->handshake_response = *t->bytes;
            derive_member_secret(*p);
          }
        }
        continue;
      }
      if (t->to == Transmit::To::kPeer) {
        for (auto& p : players_) {
          if (p->peer == t->peer) deliver_to_player(*p, *t);
        }
        continue;
      }
      for (PeerId peer : root_->member_peers()) {
        if (t->excludes(peer)) continue;
        for (auto& p : players_) {
          if (p->peer == peer) deliver_to_player(*p, *t);
        }
      }
    }
    if (!any) return;
  }
  die("the exchange did not settle");
}

void Scenario::connect(Player& p) {
  if (p.connected) return;
  if (!root_->peer_connected(p.peer, p.address, now_ns_)) die(p.subject + ": the Root refused its connection");
  p.connected = true;
}

void Scenario::deliver_to_player(Player& p, const Transmit& t) {
  if (!t.bytes || t.bytes->empty()) return;  // a bare disconnect
  if (t.redundant) return;  // a rekey copy: the original's bytes again (the vectors hold originals)
  const Bytes& b = *t.bytes;
  switch (t.channel) {
    case Channel::kControl: p.participant->handle_control(b, now_ns_); break;
    case Channel::kRekey: {
      if (has_identifier(b, "NKRW") && whole_.empty()) whole_ = b;  // batch 1 sends none: all are new
      if (p.keys) {
        Status s = p.keys->apply(b);
        if (!s) die(p.subject + ": the mirror refused a rekey: " + s.message());
        p.rekeys.push_back(b);
        p.snapshots.push_back({p.keys->epoch(), p.keys->leaf(), path_bytes(p.keys->held_keys()),
                               key_bytes(p.keys->net_key())});
      }
      p.participant->handle_rekey(b, now_ns_);
      if (p.keys && !(p.participant->net_key() == p.keys->net_key())) {
        die(p.subject + ": the mirror and the participant disagree on the net key");
      }
      break;
    }
    default: p.participant->handle_traffic(b, now_ns_); break;
  }
}

// The participant's side of the handshake, recomputed with the runtime's functions from
// the captured messages and the participant's first random draw (its ephemeral secret).
void Scenario::derive_member_secret(Player& p) {
  const auto* init = control_of(p.handshake_init)->body_as_HandshakeInit();
  const auto* resp = control_of(p.handshake_response)->body_as_HandshakeResponse();
  if (init == nullptr || resp == nullptr || p.rng->draws().empty() || p.rng->draws()[0].size() != 32) {
    die(p.subject + ": unexpected handshake capture");
  }
  p.member_id = resp->member_id();
  p.ephemeral_secret = p.rng->draws()[0];
  auto kp = X25519KeyPair::from_secret(X25519Secret::from_bytes(p.ephemeral_secret));
  if (std::memcmp(kp.public_key().bytes.data(), init->ephemeral()->data(), 32) != 0) {
    die(p.subject + ": the first random draw is not the ephemeral secret");
  }
  X25519PublicKey root_eph;
  std::memcpy(root_eph.bytes.data(), resp->ephemeral()->data(), 32);
  detail::BootNonce boot{};
  if (resp->boot_nonce() == nullptr || resp->boot_nonce()->size() != boot.size() ||
      std::memcmp(resp->boot_nonce()->data(), boot_nonce().data(), boot.size()) != 0) {
    die(p.subject + ": the HandshakeResponse does not carry the Root's boot nonce");
  }
  std::memcpy(boot.data(), resp->boot_nonce()->data(), boot.size());
  const uint64_t group = detail::group_id_of(kSessionId, boot);
  if (group != root_->group_id()) die("the group id from the boot nonce is not the Root's");
  const auto digest = charter_hash(charter_);
  const auto& cert = ids_.get(p.subject).certificate;
  auto t = detail::transcript_hash(kSessionId, digest, p.member_id, cert, kp.public_key(),
                                   {resp->certificate()->data(), resp->certificate()->size()}, root_eph, boot);
  p.transcript.assign(t.begin(), t.end());
  auto shared = kp.agree(root_eph);
  if (!shared) die(p.subject + ": weak X25519 result");
  p.shared_secret.assign(shared->data(), shared->data() + 32);
  SymmetricKey secret = kdf_extract(shared->bytes(), kdf_ctx::kHandshake, t);
  p.member_secret = key_bytes(secret);
  const auto root_key = SigningKey::from_seed(ids_.get("root", Role::kRoot, 9).seed);
  p.keys = std::make_unique<MemberKeys>(group, p.member_id, secret, root_key.public_key());
}

}  // namespace netkey::vectors
