#include "core/result.h"

#include <openssl/err.h>

#include <cstring>

namespace ambit {

std::string_view ToString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kCrypto: return "crypto error";
    case ErrorCode::kProtocol: return "protocol error";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Error::ToString() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  return out;
}

Error ErrnoError(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Error(ErrorCode::kIo, std::move(msg));
}

Error OpenSslError(std::string_view what) {
  std::string msg(what);
  unsigned long e = 0;
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += first ? ": " : "; ";
    msg += buf;
    first = false;
  }
  return Error(ErrorCode::kCrypto, std::move(msg));
}

}  // namespace ambit
