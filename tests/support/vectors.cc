#include "support/vectors.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

namespace netkey::testing {
namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "vectors: %s\n", msg.c_str());
  std::abort();
}

}  // namespace

std::vector<Vector> load_vectors(const std::string& file_name) {
  const std::string path = std::string(NETKEY_VECTORS_DIR) + "/" + file_name;
  std::ifstream in(path);
  if (!in) fail("cannot open " + path);
  const nlohmann::json all = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (all.is_discarded()) fail(path + " is not JSON");
  if (!all.is_array()) fail(path + " is not an array of vectors");
  std::vector<Vector> out;
  for (const nlohmann::json& record : all) {
    if (!record.is_object()) fail(path + ": a vector is not an object");
    Vector v;
    for (const auto& [key, value] : record.items()) {
      if (!value.is_string()) fail(path + ": \"" + key + "\" is not a string");
      v[key] = value.get<std::string>();
    }
    out.push_back(std::move(v));
  }
  if (out.empty()) fail(path + " has no vectors");
  return out;
}

// Hex through libsodium directly: this reader is part of the conformance client, which
// must not include runtime headers (so not src/util/hex.h).
std::vector<uint8_t> unhex(const std::string& h) {
  if (h.size() % 2 != 0) fail("odd-length hex in vector: " + h.substr(0, 16));
  std::vector<uint8_t> out(h.size() / 2);
  if (out.empty()) return out;  // sodium_hex2bin's output pointer must not be null
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), h.data(), h.size(), nullptr, &written, &end) != 0 ||
      written != out.size() || end != h.data() + h.size()) {
    fail("bad hex in vector: " + h.substr(0, 16));
  }
  return out;
}

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string s(2 * bytes.size() + 1, '\0');
  sodium_bin2hex(s.data(), s.size(), bytes.data(), bytes.size());
  s.pop_back();  // the terminating NUL
  return s;
}

}  // namespace netkey::testing
