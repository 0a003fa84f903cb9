#include "netkey/keyfile.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "netkey/kdf.h"
#include "src/crypto/sodium.h"
#include "src/util/hex.h"

namespace netkey {
namespace {

constexpr std::string_view kSecretHeader = "netkey-secret-key-v1";
constexpr std::string_view kCaPublicHeader = "netkey-ca-public-v1";

// One "name: value" line, as views into the caller's text: parsing copies nothing, so a
// secret value never leaves the caller's buffer (which the caller wipes).
struct Field {
  std::string_view name;
  std::string_view value;
};

// Splits "header\nname: value\n..." into its fields. Error messages name the file kind
// and the field, never a value.
Result<std::vector<Field>> split_fields(std::string_view text, std::string_view header) {
  std::vector<Field> out;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      if (line != header) {
        return Status(Errc::kMalformed, "not a " + std::string(header) + " file (first line is wrong)");
      }
      first = false;
      continue;
    }
    if (line.empty()) continue;
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos) {
      return Status(Errc::kMalformed, "line without 'name: value' in " + std::string(header));
    }
    out.push_back({line.substr(0, colon), line.substr(colon + 2)});
  }
  if (first) return Status(Errc::kMalformed, "file is empty");
  return out;
}

// The value of `name`; kMalformed when it is missing or given twice (which one would
// count is ambiguous). Messages quote our own field names, never the file's text.
Result<std::string_view> field(const std::vector<Field>& fields, std::string_view name, std::string_view what) {
  const Field* found = nullptr;
  for (const Field& f : fields) {
    if (f.name != name) continue;
    if (found) return Status(Errc::kMalformed, std::string(what) + " gives '" + std::string(name) + "' twice");
    found = &f;
  }
  if (!found) return Status(Errc::kMalformed, std::string(what) + " lacks '" + std::string(name) + "'");
  return found->value;
}

// The check: the first 4 bytes of BLAKE2b-256(seed).
constexpr size_t kCheckSize = 4;

std::array<uint8_t, kCheckSize> check_of(const SigningSeed& seed) {
  auto h = hash256({seed.bytes()});
  std::array<uint8_t, kCheckSize> out;
  std::copy_n(h.begin(), kCheckSize, out.begin());
  sodium_memzero(h.data(), h.size());
  return out;
}

}  // namespace

std::string to_hex(std::span<const uint8_t> bytes) { return detail::to_hex(bytes); }

Result<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status(Errc::kMalformed, "hex string has odd length");
  std::vector<uint8_t> out;
  if (!detail::from_hex(hex, &out)) return Status(Errc::kMalformed, "non-hex digit");
  return out;
}

std::string encode_secret_key_file(std::string_view kind, std::string_view subject,
                                   const SigningSeed& seed) {
  constexpr std::string_view kKind = "\nkind: ", kSubject = "\nsubject: ", kSeed = "\nseed: ", kCheck = "\ncheck: ";
  std::string out;
  // Reserved once: a reallocation would leave a copy of the seed in freed memory.
  out.reserve(kSecretHeader.size() + kKind.size() + kind.size() + kSubject.size() + subject.size() + kSeed.size() +
              2 * SigningSeed::kSize + kCheck.size() + 2 * kCheckSize + 1);
  out += kSecretHeader;
  out += kKind;
  out += kind;
  out += kSubject;
  out += subject;
  out += kSeed;
  char hex[2 * SigningSeed::kSize + 1];
  sodium_bin2hex(hex, sizeof hex, seed.data(), SigningSeed::kSize);
  out.append(hex, 2 * SigningSeed::kSize);
  sodium_memzero(hex, sizeof hex);
  out += kCheck;
  out += to_hex(check_of(seed));
  out += "\n";
  return out;
}

Result<SecretKeyFile> parse_secret_key_file(std::string_view text) {
  constexpr std::string_view kWhat = "secret key file";
  auto fields = split_fields(text, kSecretHeader);
  if (!fields) return fields.status();
  auto kind = field(*fields, "kind", kWhat);
  auto subject = field(*fields, "subject", kWhat);
  auto seed_hex = field(*fields, "seed", kWhat);
  auto check_hex = field(*fields, "check", kWhat);
  for (const auto* r : {&kind, &subject, &seed_hex, &check_hex}) {
    if (!*r) return r->status();
  }
  if (*kind != "ca" && *kind != "identity") return Status(Errc::kMalformed, "secret key file has an unknown kind");
  SecretKeyFile f;
  f.kind = std::string(*kind);
  f.subject = std::string(*subject);
  // Decoded in place into the seed's own storage (wiped by its destructor on every
  // return): no temporary copy of the seed exists. Only lengths go into messages.
  if (seed_hex->size() != 2 * SigningSeed::kSize) {
    return Status(Errc::kMalformed, "secret key file: the seed has " + std::to_string(seed_hex->size()) +
                                        " characters; expected 64 hex digits (32 bytes)");
  }
  if (!detail::hex_into(*seed_hex, f.seed.mutable_bytes())) {
    return Status(Errc::kMalformed, "secret key file: the seed is not 64 hex digits");
  }
  std::array<uint8_t, kCheckSize> check{};
  if (!detail::hex_into(*check_hex, check)) {
    return Status(Errc::kMalformed, "secret key file: the check is not 8 hex digits");
  }
  auto expected = check_of(f.seed);
  const bool ok = sodium_memcmp(expected.data(), check.data(), kCheckSize) == 0;
  sodium_memzero(expected.data(), expected.size());
  if (!ok) return Status(Errc::kMalformed, "secret key file is corrupt (checksum mismatch)");
  return f;
}

std::string encode_ca_public_file(std::string_view subject, const Ed25519PublicKey& key) {
  std::string out(kCaPublicHeader);
  out += "\nsubject: ";
  out += subject;
  out += "\npublic-key: ";
  out += to_hex(key.bytes);
  out += "\nkey-id: ";
  out += to_hex(key_id_of(key).bytes);
  out += "\n";
  return out;
}

Result<CaPublicFile> parse_ca_public_file(std::string_view text) {
  constexpr std::string_view kWhat = "CA public file";
  auto fields = split_fields(text, kCaPublicHeader);
  if (!fields) return fields.status();
  auto subject = field(*fields, "subject", kWhat);
  auto public_key = field(*fields, "public-key", kWhat);
  auto key_id = field(*fields, "key-id", kWhat);
  for (const auto* r : {&subject, &public_key, &key_id}) {
    if (!*r) return r->status();
  }
  CaPublicFile f;
  if (!detail::hex_into(*public_key, f.public_key.bytes)) {
    return Status(Errc::kMalformed, "CA public file: public-key is not 64 hex digits");
  }
  f.subject = std::string(*subject);
  if (to_hex(key_id_of(f.public_key).bytes) != *key_id) {
    return Status(Errc::kMalformed, "CA public file is corrupt (key-id does not match public-key)");
  }
  return f;
}

}  // namespace netkey
