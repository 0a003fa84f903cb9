#include "src/group/messages.h"

#include <sodium.h>

#include <cstring>

#include "netkey/kdf.h"
#include "src/wire/verify.h"

namespace netkey {

std::string_view refusal_reason_name(RefusalReason r) {
  switch (r) {
    case RefusalReason::kNone: return "none";
    case RefusalReason::kNotOnAcl: return "not_on_acl";
    case RefusalReason::kClearanceTooLow: return "clearance_too_low";
    case RefusalReason::kCertificateExpired: return "certificate_expired";
    case RefusalReason::kCertificateInvalid: return "certificate_invalid";
    case RefusalReason::kWrongCa: return "wrong_ca";
    case RefusalReason::kCharterMismatch: return "charter_mismatch";
    case RefusalReason::kGroupFull: return "group_full";
    case RefusalReason::kRateLimited: return "rate_limited";
    case RefusalReason::kBadCookie: return "bad_cookie";
    case RefusalReason::kHandshakeFailed: return "handshake_failed";
    case RefusalReason::kRemoved: return "removed";
    case RefusalReason::kCount: break;
  }
  return "unknown";
}

namespace detail {
namespace {

constexpr wire::VerifyLimits kControlLimits{kMaxControlBytes, 6, 64};

Bytes finish(flatbuffers::FlatBufferBuilder& b, wire::ControlBody type, flatbuffers::Offset<void> body) {
  b.Finish(wire::CreateControl(b, type, body), "NKCP");
  return std::make_shared<const std::vector<uint8_t>>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// Appends by writing into a pre-sized buffer (GCC 12 misreports vector::insert at -O2).
class Writer {
 public:
  explicit Writer(size_t size) : buf_(size) {}
  Writer& bytes(const void* p, size_t n) {
    NETKEY_CHECK(at_ + n <= buf_.size());
    if (n) std::memcpy(buf_.data() + at_, p, n);
    at_ += n;
    return *this;
  }
  Writer& le(uint64_t x, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(x >> (8 * i));
    return bytes(b, static_cast<size_t>(n));
  }
  std::vector<uint8_t> done() {
    NETKEY_CHECK(at_ == buf_.size());
    return std::move(buf_);
  }

 private:
  std::vector<uint8_t> buf_;
  size_t at_ = 0;
};

std::span<const uint8_t> label_span(const char* s) {
  return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)};
}

}  // namespace

Result<ParsedControl> parse_control(std::span<const uint8_t> bytes) {
  ParsedControl p;
  p.storage.assign(bytes.begin(), bytes.end());
  auto m = wire::verify_flatbuffer<wire::Control>(p.storage, "NKCP", kControlLimits, "control message");
  if (!m) return m.status();
  p.msg = *m;
  if (p.msg->body_type() == wire::ControlBody::NONE || p.msg->body() == nullptr) {
    return Status(Errc::kMalformed, "control message without a body");
  }
  return p;
}

Bytes encode_hello(uint64_t session_id) {
  flatbuffers::FlatBufferBuilder b(128);
  const std::vector<uint8_t> zeros(kMinHelloBytes - 40, 0);  // the table itself is ~40 bytes
  auto pad = b.CreateVector(zeros);
  auto out = finish(b, wire::ControlBody::Hello, wire::CreateHello(b, 1, session_id, pad).Union());
  NETKEY_CHECK(out->size() >= kMinHelloBytes);
  return out;
}

Bytes encode_cookie(std::span<const uint8_t> cookie) {
  flatbuffers::FlatBufferBuilder b(128);
  auto c = b.CreateVector(cookie.data(), cookie.size());
  return finish(b, wire::ControlBody::CookieChallenge, wire::CreateCookieChallenge(b, c).Union());
}

Bytes encode_handshake_init(std::span<const uint8_t> cookie, uint64_t session_id,
                            std::span<const uint8_t> charter_hash, std::span<const uint8_t> certificate,
                            const X25519PublicKey& ephemeral, const Ed25519Signature& proof) {
  flatbuffers::FlatBufferBuilder b(640);
  auto c = b.CreateVector(cookie.data(), cookie.size());
  auto h = b.CreateVector(charter_hash.data(), charter_hash.size());
  auto cert = b.CreateVector(certificate.data(), certificate.size());
  auto e = b.CreateVector(ephemeral.bytes.data(), ephemeral.bytes.size());
  auto s = b.CreateVector(proof.bytes.data(), proof.bytes.size());
  return finish(b, wire::ControlBody::HandshakeInit,
                wire::CreateHandshakeInit(b, c, session_id, h, cert, e, s).Union());
}

Bytes encode_handshake_response(uint32_t member_id, std::span<const uint8_t> certificate,
                                const X25519PublicKey& ephemeral, const Ed25519Signature& sig,
                                const BootNonce& boot_nonce) {
  flatbuffers::FlatBufferBuilder b(512);
  auto cert = b.CreateVector(certificate.data(), certificate.size());
  auto e = b.CreateVector(ephemeral.bytes.data(), ephemeral.bytes.size());
  auto s = b.CreateVector(sig.bytes.data(), sig.bytes.size());
  auto n = b.CreateVector(boot_nonce.data(), boot_nonce.size());
  return finish(b, wire::ControlBody::HandshakeResponse,
                wire::CreateHandshakeResponse(b, member_id, cert, e, s, n).Union());
}

Bytes encode_handshake_finish(const Ed25519Signature& sig) {
  flatbuffers::FlatBufferBuilder b(128);
  auto s = b.CreateVector(sig.bytes.data(), sig.bytes.size());
  return finish(b, wire::ControlBody::HandshakeFinish, wire::CreateHandshakeFinish(b, s).Union());
}

Bytes encode_refusal(RefusalReason reason) {
  flatbuffers::FlatBufferBuilder b(64);
  return finish(b, wire::ControlBody::Refusal,
                wire::CreateRefusal(b, static_cast<wire::RefusalReason>(reason)).Union());
}

Bytes encode_leave(uint32_t member_id) {
  flatbuffers::FlatBufferBuilder b(64);
  wire::LeaveRequestBuilder lb(b);
  lb.add_member_id(member_id);
  return finish(b, wire::ControlBody::LeaveRequest, lb.Finish().Union());
}

Bytes encode_resync_request(uint64_t have_epoch) {
  flatbuffers::FlatBufferBuilder b(64);
  return finish(b, wire::ControlBody::ResyncRequest, wire::CreateResyncRequest(b, have_epoch).Union());
}

Bytes encode_acl_update(std::span<const uint8_t> body, const Ed25519Signature& sig,
                        std::span<const uint8_t> certificate) {
  flatbuffers::FlatBufferBuilder b(body.size() + certificate.size() + 128);
  auto bv = b.CreateVector(body.data(), body.size());
  auto s = b.CreateVector(sig.bytes.data(), sig.bytes.size());
  auto c = b.CreateVector(certificate.data(), certificate.size());
  return finish(b, wire::ControlBody::AclUpdate, wire::CreateAclUpdate(b, bv, s, c).Union());
}

Bytes encode_authenticated(uint32_t member_id, uint8_t direction, uint64_t seq,
                           std::span<const uint8_t> ciphertext) {
  flatbuffers::FlatBufferBuilder b(ciphertext.size() + 96);
  auto c = b.CreateVector(ciphertext.data(), ciphertext.size());
  return finish(b, wire::ControlBody::Authenticated,
                wire::CreateAuthenticated(b, member_id, direction, seq, c).Union());
}

std::vector<uint8_t> init_message(std::span<const uint8_t> cookie, uint64_t session_id,
                                  std::span<const uint8_t> charter_hash, const X25519PublicKey& ephemeral) {
  static constexpr char kLabel[] = "netkey-hs-init";  // signed with its NUL
  return Writer(sizeof(kLabel) + cookie.size() + 8 + charter_hash.size() + ephemeral.bytes.size())
      .bytes(kLabel, sizeof(kLabel))
      .bytes(cookie.data(), cookie.size())
      .le(session_id, 8)
      .bytes(charter_hash.data(), charter_hash.size())
      .bytes(ephemeral.bytes.data(), ephemeral.bytes.size())
      .done();
}

Status check_charter_traffic(const TrafficConfig& traffic, const CharterFields& charter, std::string_view who) {
  const std::string w(who);
  if (traffic.group_id != 0) {
    return Status(Errc::kInvalidArgument, w + ".traffic.group_id is set (" + std::to_string(traffic.group_id) +
                                              "): leave it 0, the group id comes from the charter's session id");
  }
  const AeadSuite default_suite = TrafficConfig{}.suite;
  if (traffic.suite != default_suite && traffic.suite != charter.suite) {
    return Status(Errc::kInvalidArgument, w + ".traffic.suite conflicts with the charter's AEAD suite: leave it "
                                              "at its default to take the charter's");
  }
  if (traffic.root_public_key != Ed25519PublicKey{}) {
    return Status(Errc::kInvalidArgument, w + ".traffic.root_public_key is set: leave it zero, the Root's key "
                                              "comes from its certificate (checked against the charter)");
  }
  if (traffic.signed_broadcasts && !charter.signed_broadcasts) {
    return Status(Errc::kInvalidArgument, w + ".traffic.signed_broadcasts is true but the charter says unsigned: "
                                              "leave it false to take the charter's");
  }
  return Status::ok();
}

uint64_t group_id_of(uint64_t session_id, const BootNonce& boot_nonce) {
  std::vector<uint8_t> s = Writer(8).le(session_id, 8).done();
  auto h = hash256({label_span("netkey-group-v1"), s, boot_nonce});
  uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = id << 8 | h[static_cast<size_t>(i)];
  return id;
}

uint32_t connect_tag_of(const SymmetricKey& member_secret) {
  SymmetricKey k = kdf_derive(member_secret, kdf_ctx::kConnectTag, 0);
  const uint32_t tag = static_cast<uint32_t>(k.data()[0]) | static_cast<uint32_t>(k.data()[1]) << 8 |
                       static_cast<uint32_t>(k.data()[2]) << 16 | static_cast<uint32_t>(k.data()[3]) << 24;
  return tag == 0 ? 1 : tag;
}

std::array<uint8_t, 32> transcript_hash(uint64_t session_id, std::span<const uint8_t> charter_hash,
                                        uint32_t member_id, std::span<const uint8_t> member_cert,
                                        const X25519PublicKey& member_eph,
                                        std::span<const uint8_t> root_cert, const X25519PublicKey& root_eph,
                                        const BootNonce& boot_nonce) {
  std::vector<uint8_t> head = Writer(12).le(session_id, 8).le(member_id, 4).done();
  // Certificates are length-prefixed so the concatenation is unambiguous.
  std::vector<uint8_t> mlen = Writer(4).le(member_cert.size(), 4).done();
  std::vector<uint8_t> rlen = Writer(4).le(root_cert.size(), 4).done();
  return hash256({label_span("netkey-hs-v2"), head, charter_hash, mlen, member_cert, member_eph.bytes, rlen,
                  root_cert, root_eph.bytes, boot_nonce});
}

std::vector<uint8_t> transcript_message(const char* label, const std::array<uint8_t, 32>& transcript) {
  const size_t n = std::strlen(label);
  return Writer(n + transcript.size()).bytes(label, n).bytes(transcript.data(), transcript.size()).done();
}

std::vector<uint8_t> acl_message(std::span<const uint8_t> body) {
  static constexpr char kLabel[] = "netkey-acl-v1";  // signed with its NUL
  return Writer(sizeof(kLabel) + body.size()).bytes(kLabel, sizeof(kLabel)).bytes(body.data(), body.size()).done();
}

std::array<uint8_t, kCookieSize> make_cookie(const SymmetricKey& secret, std::string_view address, uint64_t now_ns) {
  const uint64_t ms = now_ns / 1'000'000;
  std::array<uint8_t, kCookieSize> c{};
  for (int i = 0; i < 8; ++i) c[static_cast<size_t>(i)] = static_cast<uint8_t>(ms >> (8 * i));
  crypto_generichash_state st;
  crypto_generichash_init(&st, secret.data(), SymmetricKey::kSize, 32);
  static constexpr char kLabel[] = "netkey-cookie-v1";
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kLabel), sizeof(kLabel) - 1);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(address.data()), address.size());
  crypto_generichash_update(&st, c.data(), 8);
  crypto_generichash_final(&st, c.data() + 8, 32);
  return c;
}

bool check_cookie(const SymmetricKey& secret, std::string_view address, std::span<const uint8_t> cookie,
                  uint64_t now_ns, uint64_t lifetime_ns) {
  if (cookie.size() != kCookieSize) return false;
  uint64_t ms = 0;
  for (int i = 7; i >= 0; --i) ms = ms << 8 | cookie[static_cast<size_t>(i)];
  const uint64_t now_ms = now_ns / 1'000'000;
  if (ms > now_ms || now_ms - ms > lifetime_ns / 1'000'000) return false;
  auto expect = make_cookie(secret, address, ms * 1'000'000);
  return sodium_memcmp(expect.data() + 8, cookie.data() + 8, 32) == 0;
}

}  // namespace detail
}  // namespace netkey
