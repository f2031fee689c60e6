#include "rpc/grpc_status.h"

#include <array>

namespace ambit::rpc {
namespace {

constexpr std::array<std::string_view, 17> kNames = {
    "OK",        "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",            "ABORTED",           "OUT_OF_RANGE",     "UNIMPLEMENTED",
    "INTERNAL",  "UNAVAILABLE",       "DATA_LOSS",         "UNAUTHENTICATED"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string GrpcCodeName(int code) {
  if (code >= 0 && code < static_cast<int>(kNames.size())) return std::string(kNames[code]);
  return "CODE_" + std::to_string(code);
}

ErrorCode ToErrorCode(int grpc_code) {
  switch (static_cast<GrpcCode>(grpc_code)) {
    case GrpcCode::kUnauthenticated: return ErrorCode::kUnauthenticated;
    case GrpcCode::kPermissionDenied: return ErrorCode::kPermissionDenied;
    case GrpcCode::kInvalidArgument:
    case GrpcCode::kFailedPrecondition:
    case GrpcCode::kOutOfRange: return ErrorCode::kInvalidArgument;
    case GrpcCode::kNotFound: return ErrorCode::kNotFound;
    case GrpcCode::kAlreadyExists: return ErrorCode::kAlreadyExists;
    case GrpcCode::kUnavailable:
    case GrpcCode::kCancelled:
    case GrpcCode::kAborted:
    case GrpcCode::kResourceExhausted: return ErrorCode::kUnavailable;
    case GrpcCode::kDeadlineExceeded: return ErrorCode::kTimeout;
    default: return ErrorCode::kInternal;
  }
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

int ParseGrpcStatus(std::string_view text) {
  if (text.empty() || text.size() > 2) return -1;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

Status StatusFromGrpc(int grpc_code, std::string_view encoded_message) {
  if (grpc_code == 0) return Ok();
  std::string message = GrpcCodeName(grpc_code);
  std::string detail = PercentDecode(encoded_message);
  if (!detail.empty()) message += ": " + detail;
  return Error(ToErrorCode(grpc_code), std::move(message));
}

}  // namespace ambit::rpc
