#include "route/retry.h"

#include <algorithm>
#include <array>
#include <utility>

namespace ambit::route {
namespace {

constexpr std::array<std::pair<std::string_view, std::uint32_t>, 14> kEnforced = {{
    {"5xx", kRetryOn5xx},
    {"gateway-error", kRetryOnGatewayError},
    {"reset", kRetryOnReset},
    {"reset-before-request", kRetryOnResetBeforeRequest},
    {"connect-failure", kRetryOnConnectFailure},
    {"refused-stream", kRetryOnRefusedStream},
    {"retriable-4xx", kRetryOnRetriable4xx},
    {"retriable-status-codes", kRetryOnRetriableStatusCodes},
    {"envoy-ratelimited", kRetryOnEnvoyRateLimited},
    {"cancelled", kRetryOnGrpcCancelled},
    {"deadline-exceeded", kRetryOnGrpcDeadlineExceeded},
    {"internal", kRetryOnGrpcInternal},
    {"resource-exhausted", kRetryOnGrpcResourceExhausted},
    {"unavailable", kRetryOnGrpcUnavailable},
}};

constexpr std::array<std::string_view, 2> kNotEnforced = {"retriable-headers",
                                                          "http3-post-connect-failure"};

}  // namespace

std::optional<std::uint32_t> RetryOnBit(std::string_view condition) {
  for (const auto& [name, bit] : kEnforced) {
    if (name == condition) return bit;
  }
  return std::nullopt;
}

bool IsEnvoyRetryOn(std::string_view condition) {
  return RetryOnBit(condition).has_value() ||
         std::find(kNotEnforced.begin(), kNotEnforced.end(), condition) != kNotEnforced.end();
}

std::uint32_t RetryOnMask(const RetryPolicy& policy) {
  std::uint32_t mask = 0;
  for (const std::string& c : policy.retry_on) mask |= RetryOnBit(c).value_or(0);
  return mask;
}

RetryPolicy IstioDefaultRetry() {
  RetryPolicy r;
  r.attempts = 2;
  r.retry_on = {"connect-failure", "refused-stream", "unavailable", "cancelled",
                "retriable-status-codes"};
  r.codes = {503};
  return r;
}

bool IsRetriable(std::uint32_t mask, const std::vector<std::uint16_t>& codes,
                 const AttemptEnd& end) {
  constexpr std::uint32_t kAnyFailure = kRetryOn5xx | kRetryOnGatewayError | kRetryOnReset;
  switch (end.kind) {
    case AttemptEnd::Kind::kConnectFailure:
      return (mask & (kAnyFailure | kRetryOnConnectFailure | kRetryOnResetBeforeRequest)) != 0;
    case AttemptEnd::Kind::kRefusedStream:
      return (mask & (kAnyFailure | kRetryOnRefusedStream | kRetryOnResetBeforeRequest)) != 0;
    case AttemptEnd::Kind::kReset:
      if ((mask & kAnyFailure) != 0) return true;
      return (mask & kRetryOnResetBeforeRequest) != 0 && !end.request_head_sent;
    case AttemptEnd::Kind::kPerTryTimeout:
      return (mask & kAnyFailure) != 0;
    case AttemptEnd::Kind::kResponse:
      break;
  }
  const int s = end.status;
  if ((mask & kRetryOn5xx) != 0 && s >= 500 && s <= 599) return true;
  if ((mask & kRetryOnGatewayError) != 0 && (s == 502 || s == 503 || s == 504)) return true;
  if ((mask & kRetryOnRetriable4xx) != 0 && s == 409) return true;
  if ((mask & kRetryOnRetriableStatusCodes) != 0 &&
      std::find(codes.begin(), codes.end(), static_cast<std::uint16_t>(s)) != codes.end()) {
    return true;
  }
  if ((mask & kRetryOnEnvoyRateLimited) != 0 && end.rate_limited) return true;
  if (end.grpc_status.has_value()) {
    switch (*end.grpc_status) {
      case 1:
        return (mask & kRetryOnGrpcCancelled) != 0;
      case 4:
        return (mask & kRetryOnGrpcDeadlineExceeded) != 0;
      case 8:
        return (mask & kRetryOnGrpcResourceExhausted) != 0;
      case 13:
        return (mask & kRetryOnGrpcInternal) != 0;
      case 14:
        return (mask & kRetryOnGrpcUnavailable) != 0;
      default:
        break;
    }
  }
  return false;
}

std::chrono::milliseconds RetryBackoff(std::optional<std::chrono::milliseconds> base,
                                       std::uint32_t retry, std::uint64_t random) {
  const std::uint64_t b = static_cast<std::uint64_t>(
      (base.has_value() && base->count() > 0 ? *base : kDefaultRetryBackoff).count());
  const std::uint64_t max = 10 * b;
  // (2^retry - 1) * base, without overflowing for large |retry|.
  std::uint64_t bound = max;
  if (retry >= 1 && retry < 8) bound = std::min(max, ((std::uint64_t{1} << retry) - 1) * b);
  if (bound == 0) bound = 1;
  return std::chrono::milliseconds(static_cast<std::int64_t>(random % bound));
}

}  // namespace ambit::route
