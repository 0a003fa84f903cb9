#include "netkey/status.h"

#include <cstdio>
#include <cstdlib>

namespace netkey {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kIo: return "io";
    case Errc::kMalformed: return "malformed";
    case Errc::kTooLarge: return "too_large";
    case Errc::kBadSignature: return "bad_signature";
    case Errc::kBadTag: return "bad_tag";
    case Errc::kUnknownIssuer: return "unknown_issuer";
    case Errc::kExpired: return "expired";
    case Errc::kNotYetValid: return "not_yet_valid";
    case Errc::kWrongRole: return "wrong_role";
    case Errc::kWrongGroup: return "wrong_group";
    case Errc::kStaleEpoch: return "stale_epoch";
    case Errc::kNeedsResync: return "needs_resync";
    case Errc::kUnknownKey: return "unknown_key";
    case Errc::kWeakKey: return "weak_key";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(errc_name(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

void misuse(const char* what, const char* file, int line) {
  std::fprintf(stderr, "netkey: misuse: %s (%s:%d)\n", what, file, line);
  std::abort();
}

}  // namespace netkey
