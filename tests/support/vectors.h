// Test support: loads tests/vectors/*.json, which are arrays of flat objects whose
// values are strings (hex or text), through nlohmann-json. Depends on nothing but the
// standard library, nlohmann-json and libsodium (the conformance test uses it without the
// runtime).
#ifndef NETKEY_TESTS_SUPPORT_VECTORS_H_
#define NETKEY_TESTS_SUPPORT_VECTORS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netkey::testing {

using Vector = std::map<std::string, std::string>;

// Aborts the test binary with a message when the file is missing or malformed.
std::vector<Vector> load_vectors(const std::string& file_name);
std::vector<uint8_t> unhex(const std::string& hex);
std::string hex(const std::vector<uint8_t>& bytes);

}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SUPPORT_VECTORS_H_
