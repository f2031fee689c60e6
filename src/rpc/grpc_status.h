// gRPC status: the codes a server puts in `grpc-status`, their mapping to
// ambit ErrorCode, and the percent-encoding of `grpc-message` (gRPC over
// HTTP/2 protocol spec). Pure functions; no I/O, no nghttp2.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::rpc {

// The gRPC status codes (values fixed by the protocol).
enum class GrpcCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "UNAUTHENTICATED", ...; "CODE_<n>" for a value outside the table.
std::string GrpcCodeName(int code);

// The ErrorCode a caller sees for a non-OK grpc-status.
ErrorCode ToErrorCode(int grpc_code);

// Decodes %XX escapes in a grpc-message value. A malformed escape (not two
// hex digits) is kept literally, as the spec asks.
std::string PercentDecode(std::string_view text);

// Parses a grpc-status value (decimal, 0..99); -1 if malformed.
int ParseGrpcStatus(std::string_view text);

// The Status of a finished call: Ok() for grpc-status 0, else an Error with
// ToErrorCode(code) and "<NAME>: <decoded message>" (e.g.
// "UNAUTHENTICATED: bad token").
Status StatusFromGrpc(int grpc_code, std::string_view encoded_message);

}  // namespace ambit::rpc
