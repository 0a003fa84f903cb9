#include "support/vectors.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace netkey::testing {
namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "vectors: %s\n", msg.c_str());
  std::abort();
}

struct Reader {
  const std::string& s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  char peek() {
    ws();
    return i < s.size() ? s[i] : '\0';
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at offset " + std::to_string(i));
    ++i;
  }
  std::string str() {
    expect('"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out.push_back(s[i++]);
    }
    expect('"');
    return out;
  }
};

}  // namespace

std::vector<Vector> load_vectors(const std::string& file_name) {
  std::string path = std::string(NETKEY_VECTORS_DIR) + "/" + file_name;
  std::ifstream in(path);
  if (!in) fail("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  Reader r{text};
  std::vector<Vector> out;
  r.expect('[');
  while (r.peek() == '{') {
    r.expect('{');
    Vector v;
    while (r.peek() == '"') {
      std::string k = r.str();
      r.expect(':');
      v[k] = r.str();
      if (r.peek() == ',') r.expect(',');
    }
    r.expect('}');
    out.push_back(v);
    if (r.peek() == ',') r.expect(',');
  }
  r.expect(']');
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
