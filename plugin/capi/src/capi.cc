// The C ABI over netkey::enet. Every entry point catches everything: no exception
// crosses into C.
#include "netkey.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "netkey/enet.h"
#include "netkey/keyfile.h"
#include "src/util/clock.h"

using namespace netkey;

// A handle can be destroyed from inside its own callback. While netkey_*_poll runs,
// `polling` is set and a destroy only sets `destroy_requested`: the poll fires no
// further callback, then frees the handle as its very last step (guarded_poll).
struct netkey_server {
  std::unique_ptr<enet::ServerHost> host;
  netkey_server_callbacks cb{};
  netkey_message_ex_fn message_ex = nullptr;  // ABI 2: fires instead of cb.message when set
  uint32_t max_payload = 0;
  uint8_t teams = 0;  // the charter's tree_teams
  std::unordered_set<MemberId> members;  // from the joined and left events
  bool polling = false;
  bool destroy_requested = false;
};

struct netkey_client {
  std::unique_ptr<enet::ClientHost> host;
  netkey_client_callbacks cb{};
  netkey_message_ex_fn message_ex = nullptr;  // ABI 2: fires instead of cb.message when set
  uint32_t max_payload = 0;
  bool said_left = false;
  bool polling = false;
  bool destroy_requested = false;
};

namespace {

int code_of(Errc e) {
  switch (e) {
    case Errc::kOk: return NETKEY_OK;
    case Errc::kInvalidArgument: return NETKEY_ERR_INVALID_ARGUMENT;
    case Errc::kIo: return NETKEY_ERR_IO;
    case Errc::kMalformed:
    case Errc::kTooLarge: return NETKEY_ERR_MALFORMED;
    case Errc::kUnsupported: return NETKEY_ERR_UNSUPPORTED;
    default: return NETKEY_ERR_REFUSED;
  }
}

int read_all(const char* path, std::vector<uint8_t>& out) {
  if (path == nullptr) return NETKEY_ERR_INVALID_ARGUMENT;
  std::ifstream f(path, std::ios::binary);
  if (!f) return NETKEY_ERR_IO;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (out.size() > (1u << 20)) return NETKEY_ERR_MALFORMED;
  return NETKEY_OK;
}

// A secret key file's text, in fixed storage (no reallocation leaves a copy behind),
// wiped with sodium_memzero on destruction.
struct SecretText {
  static constexpr size_t kCapacity = 4096;  // a key file is ~150 bytes plus its subject
  std::array<char, kCapacity> bytes;
  size_t size = 0;
  ~SecretText() { sodium_memzero(bytes.data(), bytes.size()); }
  std::string_view view() const { return {bytes.data(), size}; }
};

// Reads a secret key file unbuffered, so no copy of it stays in a stdio buffer: the
// bytes go from the kernel straight into `out`.
int read_secret(const char* path, SecretText& out) {
  if (path == nullptr) return NETKEY_ERR_INVALID_ARGUMENT;
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return NETKEY_ERR_IO;
  std::setvbuf(f, nullptr, _IONBF, 0);
  out.size = std::fread(out.bytes.data(), 1, out.bytes.size(), f);
  bool failed = std::ferror(f) != 0;
  char more = 0;
  const bool too_large = !failed && out.size == out.bytes.size() && std::fread(&more, 1, 1, f) == 1;
  sodium_memzero(&more, sizeof more);
  failed = failed || std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return NETKEY_ERR_IO;
  return too_large ? NETKEY_ERR_MALFORMED : NETKEY_OK;
}

struct Identity {
  std::vector<uint8_t> charter, certificate;
  Ed25519PublicKey ca;
  SigningSeed seed;
};

int load(const char* charter, const char* ca_pub, const char* cert, const char* key, Identity& id) {
  std::vector<uint8_t> ca_text;
  SecretText key_text;
  int rc;
  if ((rc = read_all(charter, id.charter)) || (rc = read_all(ca_pub, ca_text)) || (rc = read_all(cert, id.certificate)) ||
      (rc = read_secret(key, key_text))) {
    return rc;
  }
  auto ca = parse_ca_public_file(std::string_view(reinterpret_cast<const char*>(ca_text.data()), ca_text.size()));
  // Parsed in place: the seed goes from key_text (wiped on return) into the SigningSeed.
  auto sk = parse_secret_key_file(key_text.view());
  if (!ca || !sk) return NETKEY_ERR_MALFORMED;
  id.ca = ca->public_key;
  id.seed = std::move(sk->seed);
  return NETKEY_OK;
}

// Runs body(*h) as one poll of h: a destroy called from a callback meanwhile is carried
// out here, after body has returned, and the poll reports NETKEY_OK. A poll of h from
// inside h's own callback is refused (it would fire callbacks inside callbacks).
template <typename Handle, typename Body>
int guarded_poll(Handle* h, Body body) {
  if (h == nullptr || h->polling) return NETKEY_ERR_INVALID_ARGUMENT;
  h->polling = true;
  int rc;
  try {
    rc = body(*h);
  } catch (...) {
    rc = NETKEY_ERR_INTERNAL;
  }
  h->polling = false;
  if (h->destroy_requested) {
    delete h;
    return NETKEY_OK;
  }
  return rc;
}

// Destroys h now, or, when called from inside h's own poll, when that poll returns.
template <typename Handle>
void guarded_destroy(Handle* h) {
  if (h == nullptr) return;
  if (h->polling) {
    h->destroy_requested = true;
    return;
  }
  delete h;
}

// A handle other calls may use: not NULL, and not destroyed from inside its callback.
template <typename Handle>
bool usable(const Handle* h) {
  return h != nullptr && !h->destroy_requested;
}

int32_t team_or_none(std::optional<TeamId> t) { return t ? static_cast<int32_t>(*t) : NETKEY_NO_TEAM; }

// A member's message at the server: message_ex with its kind, the sender's team and the
// delivery when the caller set it, else the ABI 1 callback.
void server_message(const netkey_server& s, const RootEvent& e) {
  if (s.message_ex) {
    const int32_t kind = e.type == PacketType::kPrivateToRoot ? NETKEY_MESSAGE_PRIVATE : NETKEY_MESSAGE_MEMBER;
    s.message_ex(s.cb.user, e.member, kind, team_or_none(s.host->root().team_of(e.member)),
                 static_cast<int32_t>(e.delivery), e.payload.data(), e.payload.size());
  } else if (s.cb.message) {
    s.cb.message(s.cb.user, e.member, e.payload.data(), e.payload.size());
  }
}

int server_poll(netkey_server& s, uint32_t timeout_ms) {
  Status st = s.host->service(timeout_ms);
  const auto& cb = s.cb;
  while (!s.destroy_requested) {
    auto e = s.host->poll_event();
    if (!e) break;
    switch (e->kind) {
      case RootEvent::Kind::kJoined:
        s.members.insert(e->member);
        if (cb.joined) cb.joined(cb.user, e->member, e->subject.c_str(), e->epoch);
        break;
      case RootEvent::Kind::kLeft:
        s.members.erase(e->member);
        if (cb.left) cb.left(cb.user, e->member, e->subject.c_str(), e->epoch);
        break;
      case RootEvent::Kind::kRekeyed:
        if (cb.rekeyed) cb.rekeyed(cb.user, e->epoch);
        break;
      case RootEvent::Kind::kMessage: server_message(s, *e); break;
      case RootEvent::Kind::kTeamChanged: break;  // netkey_server_member_team reads it
      case RootEvent::Kind::kRefused:
        if (cb.refused) cb.refused(cb.user, static_cast<int>(e->reason), e->subject.c_str());
        break;
    }
  }
  return st ? NETKEY_OK : code_of(st.code());
}

void say_left(netkey_client& c) {
  if (c.said_left) return;
  c.said_left = true;
  if (c.cb.left) c.cb.left(c.cb.user);
}

// A message at a client: its kind from the packet type; the server's team and private
// messages have sender 0 (a team broadcast's sender field is the team, reported as
// `team`).
void client_message(const netkey_client& c, const ParticipantEvent& e) {
  int32_t kind = NETKEY_MESSAGE_BROADCAST, team = NETKEY_NO_TEAM;
  uint32_t sender = e.sender;
  switch (e.type) {
    case PacketType::kMemberData: kind = NETKEY_MESSAGE_MEMBER; break;
    case PacketType::kTeamBroadcast:
      kind = NETKEY_MESSAGE_TEAM;
      team = e.sender;
      sender = 0;
      break;
    case PacketType::kPrivateToMember:
      kind = NETKEY_MESSAGE_PRIVATE;
      sender = 0;
      break;
    default: sender = 0; break;  // the Root's broadcasts
  }
  if (c.message_ex) {
    c.message_ex(c.cb.user, sender, kind, team, static_cast<int32_t>(e.delivery), e.payload.data(), e.payload.size());
  } else if (c.cb.message) {
    c.cb.message(c.cb.user, sender, e.payload.data(), e.payload.size());
  }
}

int client_poll(netkey_client& c, uint32_t timeout_ms) {
  Status st = c.host->service(timeout_ms);
  const auto& cb = c.cb;
  while (!c.destroy_requested) {
    auto e = c.host->poll_event();
    if (!e) break;
    switch (e->kind) {
      case ParticipantEvent::Kind::kWelcomed:
        if (cb.joined) cb.joined(cb.user, c.host->participant().member_id(), e->epoch);
        break;
      case ParticipantEvent::Kind::kRekeyed:
        if (cb.rekeyed) cb.rekeyed(cb.user, e->epoch);
        break;
      case ParticipantEvent::Kind::kMessage: client_message(c, *e); break;
      case ParticipantEvent::Kind::kTeamChanged: break;  // netkey_client_team reads it
      case ParticipantEvent::Kind::kRefused:
        if (cb.refused) cb.refused(cb.user, static_cast<int>(e->reason));
        break;
      case ParticipantEvent::Kind::kDisconnected: say_left(c); break;
      case ParticipantEvent::Kind::kResyncRequested: break;
    }
  }
  if (c.destroy_requested) return NETKEY_OK;
  const auto state = c.host->participant().state();
  if (state == Participant::State::kLeft || state == Participant::State::kRemoved) say_left(c);
  return st ? NETKEY_OK : code_of(st.code());
}

// ---- versioned configs (netkey.h, "Versioned config structs")

// The end offset of a config field: the struct_size that covers it.
#define NETKEY_FIELD_END(T, f) (offsetof(T, f) + sizeof(T::f))

// The end offsets of the fields after the core of each config, in layout order. A new
// field is appended to the struct and to this list.
constexpr std::array<size_t, 10> kServerFieldEnds = {
    NETKEY_FIELD_END(netkey_server_config, rekey_encoding),
    NETKEY_FIELD_END(netkey_server_config, auto_whole_max_bytes),
    NETKEY_FIELD_END(netkey_server_config, relay_member_traffic),
    NETKEY_FIELD_END(netkey_server_config, handshake_timeout_ms),
    NETKEY_FIELD_END(netkey_server_config, cookie_lifetime_ms),
    NETKEY_FIELD_END(netkey_server_config, peer_timeout_min_ms),
    NETKEY_FIELD_END(netkey_server_config, peer_timeout_max_ms),
    NETKEY_FIELD_END(netkey_server_config, peer_timeout_limit),
    NETKEY_FIELD_END(netkey_server_config, max_payload),
    NETKEY_FIELD_END(netkey_server_config, message_ex),
};
constexpr std::array<size_t, 6> kClientFieldEnds = {
    NETKEY_FIELD_END(netkey_client_config, handshake_timeout_ms),
    NETKEY_FIELD_END(netkey_client_config, peer_timeout_min_ms),
    NETKEY_FIELD_END(netkey_client_config, peer_timeout_max_ms),
    NETKEY_FIELD_END(netkey_client_config, peer_timeout_limit),
    NETKEY_FIELD_END(netkey_client_config, max_payload),
    NETKEY_FIELD_END(netkey_client_config, message_ex),
};
static_assert(kServerFieldEnds.back() <= sizeof(netkey_server_config) &&
              sizeof(netkey_server_config) - kServerFieldEnds.back() < alignof(netkey_server_config));
static_assert(kClientFieldEnds.back() <= sizeof(netkey_client_config) &&
              sizeof(netkey_client_config) - kClientFieldEnds.back() < alignof(netkey_client_config));

// The bytes of a caller's config that whole fields cover, for a struct_size >= min: the
// core, plus every later field that ends within struct_size (never part of a field).
template <size_t N>
size_t covered_bytes(uint32_t struct_size, size_t min, const std::array<size_t, N>& ends) {
  size_t n = min;
  for (size_t end : ends) {
    if (end <= struct_size) n = end;
  }
  return n;
}

uint32_t ms_of(uint64_t ns) { return static_cast<uint32_t>(ns / 1'000'000); }

void server_defaults(netkey_server_config& c) {
  const RootConfig root;
  const enet::ServerOptions so;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.bind_host = "127.0.0.1";
  c.rekey_encoding = static_cast<int32_t>(root.rekey_encoding);
  c.auto_whole_max_bytes = static_cast<uint32_t>(root.auto_whole_max_bytes);
  c.relay_member_traffic = root.relay_member_traffic ? 1 : 0;
  c.handshake_timeout_ms = ms_of(root.handshake_timeout_ns);
  c.cookie_lifetime_ms = ms_of(root.cookie_lifetime_ns);
  c.peer_timeout_min_ms = so.peer_timeout_min_ms;
  c.peer_timeout_max_ms = so.peer_timeout_max_ms;
  c.peer_timeout_limit = so.peer_timeout_limit;
  c.max_payload = static_cast<uint32_t>(root.traffic.max_payload);
}
static_assert(static_cast<int>(RootConfig::RekeyEncoding::kAuto) == NETKEY_REKEY_AUTO &&
              static_cast<int>(RootConfig::RekeyEncoding::kSlices) == NETKEY_REKEY_SLICES &&
              static_cast<int>(RootConfig::RekeyEncoding::kWhole) == NETKEY_REKEY_WHOLE);

void client_defaults(netkey_client_config& c) {
  const ParticipantConfig pc;
  const enet::ClientOptions co;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.server_host = "127.0.0.1";
  c.handshake_timeout_ms = ms_of(pc.handshake_timeout_ns);
  c.peer_timeout_min_ms = co.peer_timeout_min_ms;
  c.peer_timeout_max_ms = co.peer_timeout_max_ms;
  c.peer_timeout_limit = co.peer_timeout_limit;
  c.max_payload = static_cast<uint32_t>(pc.traffic.max_payload);
}

// config_init_sized: the defaults into the whole fields struct_size covers; bytes of a
// newer header's fields (past our struct) are zeroed, as this library ignores them.
template <typename Config, size_t N>
int init_sized(Config* out, uint32_t struct_size, size_t min, const std::array<size_t, N>& ends,
               void (*defaults)(Config&)) {
  if (out == nullptr) return NETKEY_ERR_INVALID_ARGUMENT;
  if (struct_size < min) return NETKEY_ERR_STRUCT_SIZE;
  Config d;
  defaults(d);
  const size_t n = covered_bytes(struct_size, min, ends);
  std::memcpy(static_cast<void*>(out), &d, n);
  if (struct_size > sizeof(Config)) {
    std::memset(reinterpret_cast<unsigned char*>(out) + sizeof(Config), 0, struct_size - sizeof(Config));
  }
  out->struct_size = struct_size;
  return NETKEY_OK;
}

// A caller's config as this library's struct: the fields its struct_size covers, the
// defaults for the rest. NETKEY_ERR_STRUCT_SIZE below min (0 included).
template <typename Config, size_t N>
int read_config(const Config* in, Config& out, size_t min, const std::array<size_t, N>& ends,
                void (*defaults)(Config&)) {
  if (in == nullptr) return NETKEY_ERR_INVALID_ARGUMENT;
  uint32_t struct_size;
  std::memcpy(&struct_size, in, sizeof struct_size);  // the only field every size covers
  if (struct_size < min) return NETKEY_ERR_STRUCT_SIZE;
  defaults(out);
  std::memcpy(static_cast<void*>(&out), in, covered_bytes(struct_size, min, ends));
  return NETKEY_OK;
}

bool peer_timeouts_valid(uint32_t min_ms, uint32_t max_ms, uint32_t limit) {
  return min_ms > 0 && max_ms >= min_ms && limit > 0;
}

bool payload_valid(uint32_t max_payload) { return max_payload > 0 && max_payload <= NETKEY_MAX_PAYLOAD_LIMIT; }

int check_server_settings(const netkey_server_config& c) {
  const bool ok = c.rekey_encoding >= NETKEY_REKEY_AUTO && c.rekey_encoding <= NETKEY_REKEY_WHOLE &&
                  c.handshake_timeout_ms > 0 && c.cookie_lifetime_ms > 0 &&
                  peer_timeouts_valid(c.peer_timeout_min_ms, c.peer_timeout_max_ms, c.peer_timeout_limit) &&
                  payload_valid(c.max_payload);
  return ok ? NETKEY_OK : NETKEY_ERR_INVALID_ARGUMENT;
}

int check_client_settings(const netkey_client_config& c) {
  const bool ok = c.handshake_timeout_ms > 0 &&
                  peer_timeouts_valid(c.peer_timeout_min_ms, c.peer_timeout_max_ms, c.peer_timeout_limit) &&
                  payload_valid(c.max_payload);
  return ok ? NETKEY_OK : NETKEY_ERR_INVALID_ARGUMENT;
}

// A netkey_delivery from the C caller, range-checked.
std::optional<Delivery> delivery_of(int32_t d) {
  switch (d) {
    case NETKEY_DELIVERY_RELIABLE_ORDERED: return Delivery::kReliableOrdered;
    case NETKEY_DELIVERY_UNRELIABLE_SEQUENCED: return Delivery::kUnreliableSequenced;
    case NETKEY_DELIVERY_UNRELIABLE: return Delivery::kUnreliable;
    default: return std::nullopt;
  }
}
static_assert(static_cast<int>(Delivery::kReliableOrdered) == NETKEY_DELIVERY_RELIABLE_ORDERED &&
              static_cast<int>(Delivery::kUnreliableSequenced) == NETKEY_DELIVERY_UNRELIABLE_SEQUENCED &&
              static_cast<int>(Delivery::kUnreliable) == NETKEY_DELIVERY_UNRELIABLE);

// The checks every ABI 2 send shares, before the runtime is asked: a usable handle, a
// buffer for a nonzero size, a known delivery (into *d), and the payload limit.
template <typename Handle>
int check_send(const Handle* h, const uint8_t* data, size_t size, int32_t delivery, Delivery* d) {
  if (!usable(h) || (data == nullptr && size != 0)) return NETKEY_ERR_INVALID_ARGUMENT;
  auto parsed = delivery_of(delivery);
  if (!parsed) return NETKEY_ERR_INVALID_ARGUMENT;
  *d = *parsed;
  if (size > h->max_payload) return NETKEY_ERR_TOO_LARGE;
  return NETKEY_OK;
}

int status_code(const Status& st) { return st ? NETKEY_OK : code_of(st.code()); }

uint64_t unix_zero() { return detail::unix_zero_for(static_cast<uint64_t>(std::time(nullptr)), enet::monotonic_ns()); }

// create's first steps, either side: the caller's config as ours (read_config), its
// settings checked, then the identity files loaded into group (a RootConfig or a
// ParticipantConfig) with the wall clock at steady zero.
template <typename Config, size_t N, typename GroupConfig>
int read_identity(const Config* in, Config& c, size_t min, const std::array<size_t, N>& ends,
                  void (*defaults)(Config&), int (*check)(const Config&), GroupConfig& group) {
  if (int rc = read_config(in, c, min, ends, defaults)) return rc;
  if (int rc = check(c)) return rc;
  Identity id;
  if (int rc = load(c.charter_path, c.ca_public_path, c.certificate_path, c.key_path, id)) return rc;
  group.charter = std::move(id.charter);
  group.ca_public_key = id.ca;
  group.certificate = std::move(id.certificate);
  group.signing_seed = std::move(id.seed);
  group.unix_time_at_zero = unix_zero();
  return NETKEY_OK;
}

// The peer timeouts of a checked config into enet's ServerOptions or ClientOptions.
template <typename Config, typename Options>
void copy_peer_timeouts(const Config& c, Options& o) {
  o.peer_timeout_min_ms = c.peer_timeout_min_ms;
  o.peer_timeout_max_ms = c.peer_timeout_max_ms;
  o.peer_timeout_limit = c.peer_timeout_limit;
}

}  // namespace

extern "C" {

const char* netkey_strerror(int code) {
  switch (code) {
    case NETKEY_OK: return "ok";
    case NETKEY_ERR_INVALID_ARGUMENT: return "invalid argument: a NULL handle or pointer, a missing path, a setting out of range, a size over "
             "max_payload, or a handle destroyed from its own callback";
    case NETKEY_ERR_IO: return "I/O error: a file could not be read, or the UDP socket could not be bound";
    case NETKEY_ERR_MALFORMED: return "malformed: a file is not a netkey certificate, key, CA or charter";
    case NETKEY_ERR_REFUSED: return "refused: the charter, certificate or CA did not verify (expired, wrong role, other CA, or not the elected server)";
    case NETKEY_ERR_NOT_READY: return "not ready: not in the group yet, or no members yet";
    case NETKEY_ERR_UNSUPPORTED: return "unsupported on this machine (e.g. AES-256-GCM without AES-NI): use chacha20poly1305";
    case NETKEY_ERR_INTERNAL: return "internal error (a bug): please report it";
    case NETKEY_ERR_STRUCT_SIZE:
      return "bad struct_size: a config's struct_size is 0 or below the smallest this library accepts; "
             "fill the config with netkey_*_config_init (which sets it to sizeof the struct)";
    case NETKEY_ERR_NO_SUCH_TEAM:
      return "no such team: the team index is not below the charter's tree_teams, or the charter declares no teams";
    case NETKEY_ERR_NOT_A_MEMBER:
      return "not a member: that member id is not in the group (never joined, left or removed, or not welcomed yet)";
    case NETKEY_ERR_TOO_LARGE: return "too large: the payload exceeds the config's max_payload";
    default: return "unknown netkey error code";
  }
}

const char* netkey_version(void) { return NETKEY_VERSION_STRING; }
uint32_t netkey_abi_version(void) { return NETKEY_ABI_VERSION; }

int netkey_server_config_init_sized(netkey_server_config* c, uint32_t struct_size) {
  return init_sized(c, struct_size, NETKEY_SERVER_CONFIG_MIN_SIZE, kServerFieldEnds, server_defaults);
}

int netkey_server_create(const netkey_server_config* config, netkey_server** out) try {
  if (out == nullptr) return NETKEY_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  netkey_server_config c;
  RootConfig rc;
  if (int err = read_identity(config, c, NETKEY_SERVER_CONFIG_MIN_SIZE, kServerFieldEnds, server_defaults,
                              check_server_settings, rc)) {
    return err;
  }
  rc.rekey_encoding = static_cast<RootConfig::RekeyEncoding>(c.rekey_encoding);
  rc.auto_whole_max_bytes = c.auto_whole_max_bytes;
  rc.relay_member_traffic = c.relay_member_traffic != 0;
  rc.handshake_timeout_ns = uint64_t{c.handshake_timeout_ms} * 1'000'000;
  rc.cookie_lifetime_ns = uint64_t{c.cookie_lifetime_ms} * 1'000'000;
  rc.traffic.max_payload = c.max_payload;
  enet::ServerOptions so;
  so.bind_host = c.bind_host ? c.bind_host : "127.0.0.1";
  so.port = c.port;
  copy_peer_timeouts(c, so);
  auto host = enet::ServerHost::create(std::move(rc), std::make_unique<SystemRng>(), so);
  if (!host) return code_of(host.code());
  auto* s = new netkey_server;
  s->host = std::move(host).value();
  s->cb = c.callbacks;
  s->message_ex = c.message_ex;
  s->max_payload = c.max_payload;
  s->teams = s->host->root().team_count();
  *out = s;
  return NETKEY_OK;
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_server_poll(netkey_server* s, uint32_t timeout_ms) {
  return guarded_poll(s, [timeout_ms](netkey_server& h) { return server_poll(h, timeout_ms); });
}

int netkey_server_broadcast(netkey_server* s, const uint8_t* data, size_t size) try {
  if (!usable(s) || (data == nullptr && size != 0)) return NETKEY_ERR_INVALID_ARGUMENT;
  if (!s->host->root().has_net_key()) return NETKEY_ERR_NOT_READY;
  Status st = s->host->broadcast({data, size});
  return st ? NETKEY_OK : code_of(st.code());
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_server_broadcast_ex(netkey_server* s, const uint8_t* data, size_t size, int32_t delivery) try {
  Delivery d;
  if (int rc = check_send(s, data, size, delivery, &d)) return rc;
  if (!s->host->root().has_net_key()) return NETKEY_ERR_NOT_READY;
  return status_code(s->host->broadcast({data, size}, d));
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_server_broadcast_team(netkey_server* s, uint32_t team, const uint8_t* data, size_t size,
                                 int32_t delivery) try {
  Delivery d;
  if (int rc = check_send(s, data, size, delivery, &d)) return rc;
  if (team >= s->teams) return NETKEY_ERR_NO_SUCH_TEAM;
  if (!s->host->root().has_net_key() || s->host->root().team_size(static_cast<TeamId>(team)) == 0) {
    return NETKEY_ERR_NOT_READY;
  }
  return status_code(s->host->broadcast_to_team(static_cast<TeamId>(team), {data, size}, d));
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_server_send_private(netkey_server* s, uint32_t member, const uint8_t* data, size_t size,
                               int32_t delivery) try {
  Delivery d;
  if (int rc = check_send(s, data, size, delivery, &d)) return rc;
  if (s->members.count(member) == 0) return NETKEY_ERR_NOT_A_MEMBER;
  Status st = s->host->send_private(member, {data, size}, d);
  // Size and delivery were checked above: the Root's remaining kInvalidArgument is a
  // member it no longer has (removed in this poll's last batch).
  if (st.code() == Errc::kInvalidArgument) return NETKEY_ERR_NOT_A_MEMBER;
  return status_code(st);
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_server_assign_team(netkey_server* s, const char* subject, uint32_t team) try {
  if (!usable(s) || subject == nullptr || subject[0] == '\0') return NETKEY_ERR_INVALID_ARGUMENT;
  if (team >= s->teams) return NETKEY_ERR_NO_SUCH_TEAM;
  return status_code(s->host->assign_team(subject, static_cast<TeamId>(team)));
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int32_t netkey_server_member_team(const netkey_server* s, uint32_t member) {
  return usable(s) ? team_or_none(s->host->root().team_of(member)) : NETKEY_NO_TEAM;
}

uint16_t netkey_server_port(const netkey_server* s) { return usable(s) ? s->host->port() : 0; }
uint64_t netkey_server_epoch(const netkey_server* s) { return usable(s) ? s->host->root().epoch() : 0; }
size_t netkey_server_member_count(const netkey_server* s) { return usable(s) ? s->host->root().member_count() : 0; }
void netkey_server_destroy(netkey_server* s) { guarded_destroy(s); }

int netkey_client_config_init_sized(netkey_client_config* c, uint32_t struct_size) {
  return init_sized(c, struct_size, NETKEY_CLIENT_CONFIG_MIN_SIZE, kClientFieldEnds, client_defaults);
}

int netkey_client_create(const netkey_client_config* config, netkey_client** out) try {
  if (out == nullptr) return NETKEY_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  netkey_client_config c;
  ParticipantConfig pc;
  if (int err = read_identity(config, c, NETKEY_CLIENT_CONFIG_MIN_SIZE, kClientFieldEnds, client_defaults,
                              check_client_settings, pc)) {
    return err;
  }
  pc.handshake_timeout_ns = uint64_t{c.handshake_timeout_ms} * 1'000'000;
  pc.traffic.max_payload = c.max_payload;
  enet::ClientOptions co;
  co.server_host = c.server_host ? c.server_host : "127.0.0.1";
  co.server_port = c.server_port;
  copy_peer_timeouts(c, co);
  auto host = enet::ClientHost::create(std::move(pc), std::make_unique<SystemRng>(), co);
  if (!host) return code_of(host.code());
  auto* cl = new netkey_client;
  cl->host = std::move(host).value();
  cl->cb = c.callbacks;
  cl->message_ex = c.message_ex;
  cl->max_payload = c.max_payload;
  *out = cl;
  return NETKEY_OK;
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_client_poll(netkey_client* c, uint32_t timeout_ms) {
  return guarded_poll(c, [timeout_ms](netkey_client& h) { return client_poll(h, timeout_ms); });
}

int netkey_client_send(netkey_client* c, const uint8_t* data, size_t size) try {
  if (!usable(c) || (data == nullptr && size != 0)) return NETKEY_ERR_INVALID_ARGUMENT;
  if (!c->host->participant().has_net_key()) return NETKEY_ERR_NOT_READY;
  Status st = c->host->send({data, size});
  return st ? NETKEY_OK : code_of(st.code());
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_client_send_ex(netkey_client* c, const uint8_t* data, size_t size, int32_t delivery) try {
  Delivery d;
  if (int rc = check_send(c, data, size, delivery, &d)) return rc;
  if (!c->host->participant().has_net_key()) return NETKEY_ERR_NOT_READY;
  return status_code(c->host->send({data, size}, d));
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int netkey_client_send_private(netkey_client* c, const uint8_t* data, size_t size, int32_t delivery) try {
  Delivery d;
  if (int rc = check_send(c, data, size, delivery, &d)) return rc;
  if (!c->host->participant().has_net_key()) return NETKEY_ERR_NOT_READY;
  return status_code(c->host->send_private({data, size}, d));
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

int32_t netkey_client_team(const netkey_client* c) {
  return usable(c) ? team_or_none(c->host->team()) : NETKEY_NO_TEAM;
}

int netkey_client_leave(netkey_client* c) try {
  if (!usable(c)) return NETKEY_ERR_INVALID_ARGUMENT;
  c->host->leave();
  return NETKEY_OK;
} catch (...) {
  return NETKEY_ERR_INTERNAL;
}

uint64_t netkey_client_epoch(const netkey_client* c) { return usable(c) ? c->host->participant().epoch() : 0; }
uint32_t netkey_client_member_id(const netkey_client* c) {
  return usable(c) ? c->host->participant().member_id() : 0;
}
void netkey_client_destroy(netkey_client* c) { guarded_destroy(c); }

}  // extern "C"
