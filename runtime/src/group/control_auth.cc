#include "src/group/control_auth.h"

#include <cstring>

#include "netkey/aead.h"
#include "netkey/kdf.h"

namespace netkey::detail {
namespace {

constexpr char kAdLabel[] = "netkey-ctl-v1";
constexpr size_t kAdSize = sizeof(kAdLabel) - 1 + 8 + 4 + 1 + 8;

std::array<uint8_t, kAdSize> make_ad(uint64_t group, MemberId member, uint8_t direction, uint64_t seq) {
  std::array<uint8_t, kAdSize> ad{};
  size_t at = sizeof(kAdLabel) - 1;
  std::memcpy(ad.data(), kAdLabel, at);
  for (int i = 0; i < 8; ++i) ad[at++] = static_cast<uint8_t>(group >> (8 * i));
  for (int i = 0; i < 4; ++i) ad[at++] = static_cast<uint8_t>(member >> (8 * i));
  ad[at++] = direction;
  for (int i = 0; i < 8; ++i) ad[at++] = static_cast<uint8_t>(seq >> (8 * i));
  return ad;
}

const Aead& aead() {
  static const Aead a = Aead::create(AeadSuite::kChaCha20Poly1305).value();
  return a;
}

}  // namespace

ControlChannel::ControlChannel(uint64_t group_id, MemberId member, const SymmetricKey& member_secret,
                               Direction outgoing)
    : key_(kdf_derive(member_secret, kdf_ctx::kControl, 0)), group_id_(group_id), member_(member), out_(outgoing) {}

Bytes ControlChannel::seal(std::span<const uint8_t> inner) {
  const uint64_t seq = ++sent_;  // starts at 1, only grows: the nonce never repeats
  auto ad = make_ad(group_id_, member_, out_, seq);
  std::vector<uint8_t> ct(inner.size() + kAeadTagSize);
  aead().seal(key_, Nonce::from_counter(12, out_, seq), ad, inner, ct);
  return encode_authenticated(member_, out_, seq, ct);
}

Result<ParsedControl> ControlChannel::open(const wire::Authenticated& m) {
  const uint8_t in = out_ == kToMember ? kToRoot : kToMember;
  if (m.member_id() != member_ || m.direction() != in) {
    return Status(Errc::kWrongGroup, "authenticated control for another member or direction");
  }
  if (m.ciphertext() == nullptr || m.ciphertext()->size() < kAeadTagSize) {
    return Status(Errc::kMalformed, "authenticated control without a ciphertext");
  }
  if (m.seq() <= received_) return Status(Errc::kStaleEpoch, "authenticated control replayed or reordered");
  auto ad = make_ad(group_id_, member_, in, m.seq());
  std::vector<uint8_t> pt(m.ciphertext()->size() - kAeadTagSize);
  NETKEY_RETURN_IF_ERROR(
      aead().open(key_, Nonce::from_counter(12, in, m.seq()), ad, {m.ciphertext()->data(), m.ciphertext()->size()}, pt));
  auto inner = parse_control(pt);
  if (!inner) return inner.status();
  if (inner->msg->body_type() == wire::ControlBody::Authenticated) {
    return Status(Errc::kMalformed, "authenticated control nested in itself");
  }
  received_ = m.seq();
  return inner;
}

}  // namespace netkey::detail
