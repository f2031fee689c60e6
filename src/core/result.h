// Result<T>: a value or an Error, returned across component boundaries.
//
// Contract: functions that can fail because of input, the environment or a
// peer return Result<T> (never throw, never log-and-return). Broken invariants
// abort (see AMBIT_CHECK in check.h). An Error carries a code, a message, and a
// chain of context strings added as it travels up ("loading root.pem: ...").
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ambit {

enum class ErrorCode {
  kInvalidArgument,   // caller-supplied input is malformed
  kNotFound,          // a named thing does not exist
  kAlreadyExists,     // a named thing exists and differs
  kPermissionDenied,  // authenticated, but not allowed
  kUnauthenticated,   // caller identity missing or not trusted
  kIo,                // an OS call failed (errno in the message)
  kCrypto,            // an OpenSSL operation failed
  kProtocol,          // a peer violated a wire protocol
  kUnavailable,       // a dependency is unreachable; retry may help
  kTimeout,           // a deadline passed
  kInternal,          // a bug; should not happen
};

std::string_view ToString(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Adds context, outermost last; rendered outermost first by ToString().
  Error& WithContext(std::string context) & {
    context_.push_back(std::move(context));
    return *this;
  }
  Error&& WithContext(std::string context) && {
    context_.push_back(std::move(context));
    return std::move(*this);
  }

  // "context2: context1: message".
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<std::string> context_;
};

// Builds an Error from errno at the syscall boundary: "<what>: <strerror(errno)>".
Error ErrnoError(std::string_view what, int err);
// Builds an Error from the OpenSSL error queue (and clears it).
Error OpenSslError(std::string_view what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}    // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;
inline Status Ok() { return {}; }

}  // namespace ambit

// Propagates an error from an expression returning Result<...>.
#define AMBIT_RETURN_IF_ERROR(expr)              \
  do {                                           \
    auto _ambit_status = (expr);                 \
    if (!_ambit_status.ok()) return std::move(_ambit_status).error(); \
  } while (0)

#define AMBIT_CONCAT_INNER(a, b) a##b
#define AMBIT_CONCAT(a, b) AMBIT_CONCAT_INNER(a, b)
// AMBIT_ASSIGN_OR_RETURN(auto x, Foo()) binds the value or returns the error.
#define AMBIT_ASSIGN_OR_RETURN(lhs, expr) \
  AMBIT_ASSIGN_OR_RETURN_IMPL(AMBIT_CONCAT(_ambit_result_, __LINE__), lhs, expr)
#define AMBIT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(tmp).value()
