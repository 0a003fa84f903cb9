// netkey-vectors: writes the protocol test vectors in tests/vectors/ from fixed seeds.
//
//   netkey-vectors --out DIR     write the files into DIR
//   netkey-vectors --check DIR   regenerate them and compare with DIR's, byte for byte
//   netkey-vectors --help | -h | --version
//
// Exit status: 0 done (identical), 1 a file differs or cannot be written, 2 a usage
// error (one line on stderr; tools/cli/cli.h).
//
// The vectors come from a real exchange between the runtime's Root and Participants
// (scenario.h), so they are what the runtime puts on the wire. tests/conformance
// re-derives every one of them from docs/PROTOCOL.md alone.
//
// Every file is a JSON array of flat objects whose values are strings: hex for bytes,
// decimal for integers, text for names. Each object has a "case".
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "netkey/aead.h"
#include "netkey/kdf.h"
#include "netkey/keytree.h"
#include "netkey/private_channel.h"
#include "netkey/traffic.h"
#include "netkey/wire/control_generated.h"
#include "netkey/wire/rekey_generated.h"
#include "cli/cli.h"
#include "scenario.h"
#include "src/group/control_auth.h"
#include "src/group/messages.h"
#include "src/keytree/sealed.h"
#include "src/util/hex.h"

namespace netkey::vectors {
namespace {

// One vector: a flat object of strings, in the order the fields are added (ordered_json).
class Record {
 public:
  explicit Record(const std::string& c) { text("case", c); }
  Record& text(const std::string& k, const std::string& v) {
    kv_[k] = v;
    return *this;
  }
  Record& bytes(const std::string& k, std::span<const uint8_t> v) { return text(k, detail::to_hex(v)); }
  Record& num(const std::string& k, uint64_t v) { return text(k, std::to_string(v)); }
  const nlohmann::ordered_json& json() const { return kv_; }

 private:
  nlohmann::ordered_json kv_ = nlohmann::ordered_json::object();
};

struct File {
  std::string name;
  std::vector<Record> records;
  // The committed format: dump(2) (two-space indent, "key": "value") and a final newline.
  std::string json() const {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const Record& r : records) all.push_back(r.json());
    return all.dump(2) + "\n";
  }
};

Bytes seed_bytes(const SigningSeed& s) { return {s.data(), s.data() + SigningSeed::kSize}; }
Bytes vec(const flatbuffers::Vector<uint8_t>* v) { return {v->begin(), v->end()}; }

SymmetricKey secret_of(const Player& p) { return SymmetricKey::from_bytes(p.member_secret); }

// Opens a captured Sealed message with the member's unicast key (the runtime's AEAD).
Bytes open_sealed(const Player& p, const Bytes& msg, const wire::Sealed** out) {
  const auto* s = flatbuffers::GetRoot<wire::Sealed>(msg.data());
  const auto unicast = MemberDerivedKeys::from_secret(secret_of(p)).unicast;
  auto plain = detail::open_sealed(unicast, detail::header_of(*s), {s->ciphertext()->data(), s->ciphertext()->size()});
  if (!plain) {
    std::fprintf(stderr, "netkey-vectors: cannot open %s's sealed message\n", p.subject.c_str());
    std::exit(1);
  }
  *out = s;
  return std::move(plain).value();
}

Record& with_member(Record& r, const Player& p) {
  return r.text("subject", p.subject).num("member_id", p.member_id).bytes("member_secret", p.member_secret);
}

Record& with_snapshot(Record& r, const std::string& suffix, const KeySnapshot& s) {
  return r.num("epoch" + suffix, s.epoch).num("leaf" + suffix, s.leaf).bytes("path" + suffix, s.path);
}

// A member receiving a Sealed message: who it is, its keys before, the header's fields.
Record& with_sealed_header(Record& r, const Player& p, const KeySnapshot& before, const wire::Sealed* s) {
  with_member(r, p).bytes("unicast_key", key_bytes(MemberDerivedKeys::from_secret(secret_of(p)).unicast));
  return with_snapshot(r, "_before", before).num("group_id", s->group_id()).num("seq", s->seq()).num("epoch", s->epoch());
}

// An Authenticated control message (docs/PROTOCOL.md "Authenticated control"): the
// control key, nonce and AD (checked by opening the captured ciphertext with them), the
// inner Control message and its fields, and the message.
Record authenticated_record(const Scenario& w, const Player& p, const AuthenticatedCapture& a) {
  const SymmetricKey control = kdf_derive(secret_of(p), kdf_ctx::kControl, 0);
  const auto* m = control_of(a.message)->body_as_Authenticated();
  const Nonce nonce = Nonce::from_counter(12, a.direction, a.seq);
  static constexpr char kLabel[] = "netkey-ctl-v1";
  Bytes ad(kLabel, kLabel + sizeof(kLabel) - 1);
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<uint8_t>(w.group_id() >> (8 * i)));
  for (int i = 0; i < 4; ++i) ad.push_back(static_cast<uint8_t>(p.member_id >> (8 * i)));
  ad.push_back(a.direction);
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<uint8_t>(a.seq >> (8 * i)));
  const Bytes ct = vec(m->ciphertext());
  Bytes plain(ct.size() - kAeadTagSize);
  const auto aead = Aead::create(AeadSuite::kChaCha20Poly1305).value();
  if (!aead.open(control, nonce, ad, ct, plain) || plain != a.inner) {
    std::fprintf(stderr, "netkey-vectors: %s's Authenticated message does not open with the recorded "
                         "nonce and AD\n", p.subject.c_str());
    std::exit(1);
  }
  const wire::Control* inner = control_of(a.inner);
  Record r("authenticated");
  r.text("inner_type", wire::EnumNameControlBody(inner->body_type()));
  with_member(r, p)
      .num("group_id", w.group_id())
      .num("direction", a.direction)
      .num("seq", a.seq)
      .bytes("control_key", key_bytes(control));
  switch (inner->body_type()) {
    case wire::ControlBody::LeaveRequest:
      r.num("leave_member_id", inner->body_as_LeaveRequest()->member_id());
      break;
    case wire::ControlBody::ResyncRequest:
      r.num("have_epoch", inner->body_as_ResyncRequest()->have_epoch());
      break;
    case wire::ControlBody::Refusal: {
      const auto reason = static_cast<RefusalReason>(inner->body_as_Refusal()->reason());
      r.num("reason", static_cast<uint8_t>(reason)).text("reason_name", std::string(refusal_reason_name(reason)));
      break;
    }
    default: break;
  }
  r.bytes("inner", a.inner).bytes("nonce", nonce.bytes()).bytes("ad", ad).bytes("ciphertext", ct);
  r.bytes("authenticated", a.message);
  return r;
}

File handshake_file(Scenario& w, const AuthenticatedCapture& resync_request, const AuthenticatedCapture& refusal,
                    const std::string& removed) {
  File f{"handshake.json", {}};
  demo::Identities& ids = w.identities();
  const auto& root_id = ids.get("root", Role::kRoot, 9);
  const auto digest = charter_hash(w.charter());
  f.records.push_back(Record("group")
                          .num("session_id", Scenario::kSessionId)
                          .bytes("boot_nonce", w.boot_nonce())
                          .num("group_id", w.group_id())
                          .num("unix_time", demo::kSimUnixTime)
                          .bytes("ca_public_key", ids.ca().public_key().bytes)
                          .bytes("charter", w.charter())
                          .bytes("charter_hash", digest)
                          .bytes("root_certificate", root_id.certificate)
                          .bytes("root_public_key", SigningKey::from_seed(root_id.seed).public_key().bytes));
  // The stateless cookie, from a fixed secret (the Root's own secret never leaves it).
  SymmetricKey cookie_secret;
  for (size_t i = 0; i < SymmetricKey::kSize; ++i) cookie_secret.data()[i] = static_cast<uint8_t>(0xc0 + i);
  const uint64_t ms = demo::kSimUnixTime * 1000 + 123;
  const auto cookie = detail::make_cookie(cookie_secret, "198.51.100.4:27015", ms * 1'000'000);
  f.records.push_back(Record("cookie")
                          .bytes("cookie_secret", key_bytes(cookie_secret))
                          .text("address", "198.51.100.4:27015")
                          .num("issued_ms", ms)
                          .bytes("cookie", cookie));
  for (const auto& pp : w.players()) {
    const Player& p = *pp;
    const auto* init = control_of(p.handshake_init)->body_as_HandshakeInit();
    const auto* resp = control_of(p.handshake_response)->body_as_HandshakeResponse();
    const auto* fin = control_of(p.handshake_finish)->body_as_HandshakeFinish();
    const auto derived = MemberDerivedKeys::from_secret(secret_of(p));
    Record r("handshake");
    r.text("subject", p.subject)
        .text("address", p.address)
        .bytes("participant_seed", seed_bytes(ids.get(p.subject).seed))
        .bytes("participant_certificate", ids.get(p.subject).certificate)
        .bytes("hello", p.hello)
        .bytes("cookie_challenge", p.cookie_challenge)
        .bytes("participant_ephemeral_secret", p.ephemeral_secret)
        .bytes("participant_ephemeral_public", vec(init->ephemeral()))
        .bytes("init_signature", vec(init->signature()))
        .bytes("handshake_init", p.handshake_init)
        .bytes("handshake_response", p.handshake_response)
        .num("member_id", p.member_id)
        .bytes("root_ephemeral_public", vec(resp->ephemeral()))
        .bytes("transcript_hash", p.transcript)
        .bytes("root_signature", vec(resp->signature()))
        .bytes("shared_secret", p.shared_secret)
        .bytes("member_secret", p.member_secret)
        .bytes("leaf_key", key_bytes(derived.leaf))
        .bytes("unicast_key", key_bytes(derived.unicast))
        .num("connect_tag", detail::connect_tag_of(secret_of(p)))
        .bytes("participant_signature", vec(fin->signature()))
        .bytes("handshake_finish", p.handshake_finish);
    f.records.push_back(std::move(r));
  }
  // Authenticated control: carol's LeaveRequest, alice's ResyncRequest (member -> Root),
  // and the Root's Refusal{removed} to a member the List Controller removed.
  for (const auto& pp : w.players()) {
    if (pp->leave) f.records.push_back(authenticated_record(w, *pp, *pp->leave));
  }
  f.records.push_back(authenticated_record(w, w.player("alice"), resync_request));
  f.records.push_back(authenticated_record(w, w.player(removed), refusal));
  return f;
}

File welcome_file(Scenario& w, const Bytes& resync) {
  File f{"welcome.json", {}};
  for (const auto& pp : w.players()) {
    const Player& p = *pp;
    const Bytes& msg = p.rekeys.front();  // the first rekey-channel message is the Welcome
    const wire::Sealed* s = nullptr;
    Bytes plain = open_sealed(p, msg, &s);
    const KeySnapshot& after = p.snapshots.front();
    Record r("welcome");
    with_member(r, p)
        .bytes("unicast_key", key_bytes(MemberDerivedKeys::from_secret(secret_of(p)).unicast))
        .num("group_id", s->group_id())
        .num("seq", s->seq())
        .num("epoch", s->epoch())
        .num("leaf", after.leaf)
        .num("degree", 2)
        .bytes("plaintext", plain)
        .bytes("welcome", msg)
        .bytes("path", after.path)
        .bytes("net_key", after.net_key);
    f.records.push_back(std::move(r));
  }
  // alice's Resync after batch 2, applied as if she had missed it (she holds epoch 1).
  Player& alice = w.player("alice");
  MemberKeys mirror(w.group_id(), alice.member_id, secret_of(alice),
                    SigningKey::from_seed(w.identities().get("root", Role::kRoot, 9).seed).public_key());
  if (!mirror.apply(alice.rekeys.front()) || !mirror.apply(resync)) {
    std::fprintf(stderr, "netkey-vectors: the Resync does not apply\n");
    std::exit(1);
  }
  const wire::Sealed* s = nullptr;
  Bytes plain = open_sealed(alice, resync, &s);
  Record r("resync");
  with_sealed_header(r, alice, w.before_batch2(alice), s)
      .num("leaf", mirror.leaf())
      .num("degree", 2)
      .bytes("plaintext", plain)
      .bytes("resync", resync)
      .bytes("path", path_bytes(mirror.held_keys()))
      .bytes("net_key", key_bytes(mirror.net_key()));
  f.records.push_back(std::move(r));
  return f;
}

// Batch 2 as one Whole (Full or HashForward), and each of batch 1's members applying it.
File whole_file(Scenario& w, const std::string& name) {
  File f{name, {}};
  const auto* whole = flatbuffers::GetRoot<wire::RekeyWhole>(w.whole().data());
  const auto* body = flatbuffers::GetRoot<wire::RekeyBody>(whole->body()->data());
  const auto& root_id = w.identities().get("root", Role::kRoot, 9);
  f.records.push_back(Record("whole")
                          .num("group_id", body->group_id())
                          .num("epoch", body->epoch())
                          .num("degree", body->degree())
                          .bytes("root_seed", seed_bytes(root_id.seed))
                          .bytes("root_public_key", SigningKey::from_seed(root_id.seed).public_key().bytes)
                          .bytes("body", vec(whole->body()))
                          .bytes("whole", w.whole()));
  for (const char* subject : {"alice", "bob", "carol"}) {
    Player& p = w.player(subject);
    Record r("member");
    with_member(r, p);
    with_snapshot(r, "_before", w.before_batch2(p));
    if (!p.leave) {
      r.text("result", "applied");
      with_snapshot(r, "_after", p.snapshots.back()).bytes("net_key", p.snapshots.back().net_key);
    } else {
      // The member that left: the Whole must give it nothing. Its old leaf position went
      // to a joiner, so the entry under that position is under a key it does not hold.
      Status s = p.keys->apply(w.whole());
      if (s) {
        std::fprintf(stderr, "netkey-vectors: the departed member could apply the Whole\n");
        std::exit(1);
      }
      r.text("result", "refused").text("error", std::string(errc_name(s.code())));
    }
    f.records.push_back(std::move(r));
  }
  return f;
}

File slice_file(Scenario& s) {
  File f{"rekey_slice.json", {}};
  for (const char* name : {"alice", "bob"}) {
    const Player& p = s.player(name);
    const Bytes& msg = p.rekeys.at(1);  // after the Welcome
    const wire::Sealed* sealed = nullptr;
    Bytes plain = open_sealed(p, msg, &sealed);
    Record r("slice");
    with_sealed_header(r, p, s.before_batch2(p), sealed)
        .bytes("plaintext", plain)
        .bytes("slice", msg);
    with_snapshot(r, "_after", p.snapshots.back()).bytes("net_key", p.snapshots.back().net_key);
    f.records.push_back(std::move(r));
  }
  return f;
}

// Packets of each type under the net key of epoch 2, for one AEAD suite.
File traffic_file(Scenario& w, AeadSuite suite, const std::string& name) {
  File f{name, {}};
  const Bytes& net = w.net_key_epoch2();
  const SymmetricKey net_key = SymmetricKey::from_bytes(net);
  const auto& root_id = w.identities().get("root", Role::kRoot, 9);
  const SigningKey root_key = SigningKey::from_seed(root_id.seed);
  struct Case {
    PacketType type;
    SenderId sender;
    uint32_t seq;
    std::string payload;
  };
  const SenderId alice = static_cast<SenderId>(w.player("alice").member_id);
  const Case cases[] = {{PacketType::kMemberData, alice, 2, "player input: move 3 -1, fire"},
                        {PacketType::kMemberData, alice, 3, ""},
                        {PacketType::kRootBroadcast, kRootSender, 0, "server state, tick 42"},
                        {PacketType::kRootSignedBroadcast, kRootSender, 1, "server state, tick 43, signed"}};
  for (const Case& c : cases) {
    TrafficConfig tc;
    tc.group_id = w.group_id();
    tc.suite = suite;
    auto sender = TrafficSender::create(tc, c.sender);
    if (!sender) {
      std::fprintf(stderr, "netkey-vectors: %s\n", sender.status().message().c_str());
      std::exit(1);
    }
    sender->set_epoch(2, net_key);
    const Bytes payload(c.payload.begin(), c.payload.end());
    Bytes packet(payload.size() + kTrafficOverhead + kTrafficSignatureSize);
    Result<size_t> n = Status(Errc::kInvalidArgument, "no packet");
    for (uint32_t i = 0; i <= c.seq; ++i) {  // sequences 0 .. seq-1 are spent first
      n = c.type == PacketType::kRootSignedBroadcast ? sender->seal_signed(payload, packet, root_key)
                                                     : sender->seal(payload, packet);
    }
    packet.resize(*n);
    const auto aead = Aead::create(suite).value();
    const Nonce nonce = Nonce::from_counter(aead.nonce_size(), 0x66617274, c.seq);
    Record r("traffic");
    r.num("suite", static_cast<uint64_t>(suite))
        .num("group_id", w.group_id())
        .num("epoch", 2)
        .bytes("net_key", net)
        .num("type", static_cast<uint64_t>(c.type))
        .num("sender", c.sender)
        .num("seq", c.seq)
        .bytes("payload", payload)
        .bytes("sender_key", key_bytes(kdf_derive(net_key, kdf_ctx::kTraffic, c.sender)))
        .bytes("nonce", nonce.bytes());
    if (c.type == PacketType::kRootSignedBroadcast) r.bytes("root_seed", seed_bytes(root_id.seed));
    r.bytes("packet", packet);
    f.records.push_back(std::move(r));
  }
  return f;
}

// Private messages of both directions for alice (her member secret, epoch 2) and a team
// broadcast under a fixed team key (its derivation from the tree is not part of the
// packet), suite 1, the run's group id.
File traffic_classes_file(Scenario& w) {
  File f{"traffic_classes.json", {}};
  const Player& alice = w.player("alice");
  const auto id = static_cast<SenderId>(alice.member_id);
  const SymmetricKey secret = SymmetricKey::from_bytes(alice.member_secret);
  const SymmetricKey base = private_base_key(secret);
  const auto aead = Aead::create(AeadSuite::kChaCha20Poly1305).value();
  TrafficConfig tc;
  tc.group_id = w.group_id();
  struct Case {
    PrivateSide side;
    uint32_t seq;
    std::string payload;
  };
  const Case cases[] = {{PrivateSide::kRoot, 1, "your inventory: 3 potions"},
                        {PrivateSide::kMember, 0, "buy: sword"}};
  for (const Case& c : cases) {
    auto ch = PrivateChannel::create(tc, id, c.side).value();
    ch.set_epoch(2, base, 0);
    const Bytes payload(c.payload.begin(), c.payload.end());
    Bytes packet;
    for (uint32_t i = 0; i <= c.seq; ++i) packet = ch.seal(payload).value();  // sequences before seq are spent
    const PacketType type = c.side == PrivateSide::kRoot ? PacketType::kPrivateToMember : PacketType::kPrivateToRoot;
    Record r("private");
    r.num("suite", 1)
        .num("group_id", w.group_id())
        .num("epoch", 2)
        .num("type", static_cast<uint64_t>(type))
        .num("member", id)
        .num("seq", c.seq)
        .bytes("member_secret", alice.member_secret)
        .bytes("private_base", key_bytes(base))
        .bytes("key", key_bytes(private_epoch_key(base, 2, type)))
        .bytes("nonce", Nonce::from_counter(aead.nonce_size(), 0x66617274, c.seq).bytes())
        .bytes("payload", payload)
        .bytes("packet", packet);
    f.records.push_back(std::move(r));
  }
  DeterministicRng rng(12);
  const SymmetricKey team_key = rng.symmetric_key();
  auto ts = TeamSender::create(tc).value();
  ts.set_epoch(2);
  ts.set_team_key(3, team_key);
  const std::string text = "team 3: regroup at B";
  const Bytes payload(text.begin(), text.end());
  Bytes packet(payload.size() + kTrafficOverhead);
  (void)ts.seal(3, payload, packet).value();  // sequence 0
  packet.resize(ts.seal(3, payload, packet).value());  // sequence 1
  Record r("team");
  r.num("suite", 1)
      .num("group_id", w.group_id())
      .num("epoch", 2)
      .num("type", static_cast<uint64_t>(PacketType::kTeamBroadcast))
      .num("team", 3)
      .num("seq", 1)
      .bytes("team_key", key_bytes(team_key))
      .bytes("nonce", Nonce::from_counter(aead.nonce_size(), 0x66617274, 1).bytes())
      .bytes("payload", payload)
      .bytes("packet", packet);
  f.records.push_back(std::move(r));
  return f;
}

std::vector<File> generate() {
  Scenario w(ScenarioOptions{RootConfig::RekeyEncoding::kWhole, false});
  w.run();
  AuthenticatedCapture resync_request;
  const Bytes resync = w.request_resync(w.player("alice"), 1, &resync_request);
  constexpr char kRemoved[] = "dave";
  const AuthenticatedCapture refusal = w.remove(w.player(kRemoved));  // last: it commits epoch 3
  Scenario s(ScenarioOptions{RootConfig::RekeyEncoding::kSlices, false});
  s.run();
  Scenario hf(ScenarioOptions{RootConfig::RekeyEncoding::kWhole, true});
  hf.run();
  std::vector<File> files;
  files.push_back(handshake_file(w, resync_request, refusal, kRemoved));
  files.push_back(welcome_file(w, resync));
  files.push_back(whole_file(w, "rekey_whole.json"));
  files.push_back(whole_file(hf, "rekey_hash_forward.json"));
  files.push_back(slice_file(s));
  files.push_back(traffic_file(w, AeadSuite::kChaCha20Poly1305, "traffic.json"));
  files.push_back(traffic_file(w, AeadSuite::kXChaCha20Poly1305, "traffic_xchacha20poly1305.json"));
  files.push_back(traffic_classes_file(w));
  if (aead_suite_available(AeadSuite::kAes256Gcm)) {
    files.push_back(traffic_file(w, AeadSuite::kAes256Gcm, "traffic_aes256gcm.json"));
  } else {
    std::fprintf(stderr, "netkey-vectors: no AES-NI here: traffic_aes256gcm.json is not produced\n");
  }
  return files;
}

constexpr const char* kTool = "netkey-vectors";
constexpr const char* kUsage =
    "usage: netkey-vectors --out DIR     write the protocol test vectors into DIR\n"
    "       netkey-vectors --check DIR   regenerate them and compare with DIR's, byte for byte\n"
    "       netkey-vectors --help | -h | --version\n"
    "exit status: 0 done (identical), 1 a file differs or cannot be written, 2 usage error\n";

[[noreturn]] void usage(const std::string& msg) { cli::usage_error(kTool, msg); }

struct Mode {
  std::string mode, dir;
};

// Exactly one of --out DIR and --check DIR.
Mode parse(int argc, char** argv) {
  Mode m;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    cli::handle_standard(a, kTool, kUsage);
    if (a == "--out" || a == "--check") {
      if (!m.mode.empty()) usage("give one of --out DIR and --check DIR");
      if (i + 1 >= argc) usage("missing value for " + a);
      m.mode = a;
      m.dir = argv[++i];
    } else if (!a.empty() && a[0] == '-') {
      usage("unknown flag " + a);
    } else {
      usage("unexpected argument '" + a + "'");
    }
  }
  if (m.mode.empty()) usage("give --out DIR or --check DIR");
  return m;
}

}  // namespace
}  // namespace netkey::vectors

int main(int argc, char** argv) {
  using namespace netkey::vectors;
  const auto [mode, dir] = parse(argc, argv);
  int differ = 0;
  for (const File& f : generate()) {
    const std::string path = dir + "/" + f.name;
    const std::string text = f.json();
    if (mode == "--out") {
      std::ofstream out(path, std::ios::binary);
      out << text;
      if (!out) {
        std::fprintf(stderr, "netkey-vectors: cannot write %s\n", path.c_str());
        return 1;
      }
      std::printf("wrote %s (%zu records)\n", path.c_str(), f.records.size());
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in || ss.str() != text) {
      std::fprintf(stderr, "netkey-vectors: %s differs from what the runtime produces now; "
                           "regenerate with netkey-vectors --out and review the change\n", path.c_str());
      ++differ;
    } else {
      std::printf("%s: identical (%zu records)\n", f.name.c_str(), f.records.size());
    }
  }
  return differ ? 1 : 0;
}
