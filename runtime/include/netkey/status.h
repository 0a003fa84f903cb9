// netkey/status.h: Status and Result<T>, the error type of every fallible call.
//
// Three kinds of failure, three treatments (docs/ and ../shared/DESIGN.md):
//   - programmer misuse aborts with a message (NETKEY_CHECK);
//   - hostile network input is dropped, counted and reported as a typed Errc;
//   - environment failures return a Status whose message says what to do.
// A Status never carries secret material in its message.
#ifndef NETKEY_STATUS_H_
#define NETKEY_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netkey {

enum class Errc : uint8_t {
  kOk = 0,
  kInvalidArgument,   // a caller-supplied value is out of range; fix the call
  kUnsupported,       // the machine or build lacks a feature (e.g. AES-NI for AES-256-GCM)
  kIo,                // a file or OS call failed; the message names the path
  kMalformed,         // bytes failed size or FlatBuffers verification
  kTooLarge,          // bytes exceed the size cap for their message type
  kBadSignature,      // an Ed25519 signature did not verify
  kBadTag,            // an AEAD tag did not verify (wrong key, or tampered bytes)
  kUnknownIssuer,     // a certificate names an issuer we do not trust
  kExpired,           // now > not_after
  kNotYetValid,       // now < not_before
  kWrongRole,         // a certificate's role is not the one required
  kWrongGroup,        // a message belongs to another group
  kStaleEpoch,        // a message is for an epoch we already hold (replay or duplicate)
  kNeedsResync,       // a message skips epochs: ask the Root for a Resync
  kUnknownKey,        // a message is wrapped under a key we do not hold
  kWeakKey,           // X25519 produced the all-zero output (small-order point)
};

// A short, stable, lower-case name for an Errc ("bad_signature").
std::string_view errc_name(Errc code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == Errc::kOk; }
  explicit operator bool() const { return is_ok(); }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<errc_name>: <message>", or "ok".
  std::string to_string() const;

 private:
  Errc code_ = Errc::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Works with move-only T (keys).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.is_ok()) status_ = Status(Errc::kInvalidArgument, "Result built from OK status");
  }
  Result(Errc code, std::string message) : status_(code, std::move(message)) {}

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  Errc code() const { return status_.code(); }

  // Accessors abort (misuse) when the Result holds an error.
  T& value() & { check(); return *value_; }
  const T& value() const& { check(); return *value_; }
  T&& value() && { check(); return std::move(*value_); }
  T* operator->() { check(); return &*value_; }
  const T* operator->() const { check(); return &*value_; }
  T& operator*() & { check(); return *value_; }
  const T& operator*() const& { check(); return *value_; }

 private:
  void check() const;
  std::optional<T> value_;
  Status status_;
};

[[noreturn]] void misuse(const char* what, const char* file, int line);

template <typename T>
void Result<T>::check() const {
  if (!value_) misuse("Result::value() called on an error Result", __FILE__, __LINE__);
}

}  // namespace netkey

// Programmer misuse: abort with a clear message. Never used for network input.
#define NETKEY_CHECK(cond)                                  \
  do {                                                      \
    if (!(cond)) ::netkey::misuse(#cond, __FILE__, __LINE__); \
  } while (0)

// Propagate a non-OK Status from an expression.
#define NETKEY_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::netkey::Status netkey_status_ = (expr);   \
    if (!netkey_status_.is_ok()) return netkey_status_; \
  } while (0)

#endif  // NETKEY_STATUS_H_
