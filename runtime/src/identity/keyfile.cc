#include "netkey/keyfile.h"

#include <map>
#include <vector>

#include "netkey/kdf.h"
#include "src/crypto/sodium.h"

namespace netkey {
namespace {

constexpr std::string_view kSecretHeader = "netkey-secret-key-v1";
constexpr std::string_view kCaPublicHeader = "netkey-ca-public-v1";

// Splits "header\nkey: value\n..." into the header and a key->value map.
Result<std::map<std::string, std::string>> parse_lines(std::string_view text,
                                                       std::string_view header) {
  std::map<std::string, std::string> out;
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
        return Status(Errc::kMalformed,
                      "not a " + std::string(header) + " file (first line is wrong)");
      }
      first = false;
      continue;
    }
    if (line.empty()) continue;
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos) {
      return Status(Errc::kMalformed, "line without 'name: value' in " + std::string(header));
    }
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  if (first) return Status(Errc::kMalformed, "file is empty");
  return out;
}

std::string check_of(const SigningSeed& seed) {
  auto h = hash256({seed.bytes()});
  return to_hex(std::span<const uint8_t>(h.data(), 4));
}

}  // namespace

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

Result<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status(Errc::kMalformed, "hex string has odd length");
  std::vector<uint8_t> out(hex.size() / 2);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status(Errc::kMalformed, "non-hex digit");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string encode_secret_key_file(std::string_view kind, std::string_view subject,
                                   const SigningSeed& seed) {
  std::string out(kSecretHeader);
  out += "\nkind: ";
  out += kind;
  out += "\nsubject: ";
  out += subject;
  out += "\nseed: ";
  out += to_hex(seed.bytes());
  out += "\ncheck: ";
  out += check_of(seed);
  out += "\n";
  return out;
}

Result<SecretKeyFile> parse_secret_key_file(std::string_view text) {
  auto lines = parse_lines(text, kSecretHeader);
  if (!lines) return lines.status();
  auto& m = *lines;
  for (const char* k : {"kind", "subject", "seed", "check"}) {
    if (!m.count(k)) return Status(Errc::kMalformed, std::string("secret key file lacks '") + k + "'");
  }
  SecretKeyFile f;
  f.kind = m["kind"];
  f.subject = m["subject"];
  if (f.kind != "ca" && f.kind != "identity") {
    return Status(Errc::kMalformed, "secret key file has an unknown kind");
  }
  auto seed = from_hex(m["seed"]);
  sodium_memzero(m["seed"].data(), m["seed"].size());
  if (!seed || seed->size() != 32) {
    return Status(Errc::kMalformed, "secret key file: the seed is not 64 hex digits");
  }
  f.seed = SigningSeed::from_bytes(*seed);
  sodium_memzero(seed->data(), seed->size());
  if (check_of(f.seed) != m["check"]) {
    return Status(Errc::kMalformed, "secret key file is corrupt (checksum mismatch)");
  }
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
  auto lines = parse_lines(text, kCaPublicHeader);
  if (!lines) return lines.status();
  auto& m = *lines;
  for (const char* k : {"subject", "public-key", "key-id"}) {
    if (!m.count(k)) return Status(Errc::kMalformed, std::string("CA public file lacks '") + k + "'");
  }
  auto pk = from_hex(m["public-key"]);
  if (!pk || pk->size() != 32) {
    return Status(Errc::kMalformed, "CA public file: public-key is not 64 hex digits");
  }
  CaPublicFile f;
  f.subject = m["subject"];
  std::copy(pk->begin(), pk->end(), f.public_key.bytes.begin());
  if (to_hex(key_id_of(f.public_key).bytes) != m["key-id"]) {
    return Status(Errc::kMalformed, "CA public file is corrupt (key-id does not match public-key)");
  }
  return f;
}

}  // namespace netkey
