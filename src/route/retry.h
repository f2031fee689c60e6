// Envoy's retry semantics for a route's RetryPolicy, as pure functions: which
// retryOn conditions exist, whether one attempt's end is retried, and the
// jittered back-off before a retry. The waypoint decides with these; ambitd
// uses RetryOnBit to report conditions it does not enforce.
//
// Conditions
// (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-retry-on
// and #x-envoy-retry-grpc-on), for an HTTP/1.1 exchange:
//   5xx                     any 5xx answer; a reset, a connect failure or a
//                           per-try timeout before the answer
//   gateway-error           502, 503, 504; a reset, a connect failure or a
//                           per-try timeout before the answer
//   reset                   a reset, a connect failure or a per-try timeout
//                           before the answer
//   reset-before-request    a reset or connect failure before the request
//                           head was sent
//   connect-failure         the connection (or HBONE CONNECT) to the endpoint
//                           failed
//   refused-stream          the endpoint refused the HBONE stream
//                           (RST_STREAM REFUSED_STREAM)
//   retriable-4xx           409
//   retriable-status-codes  a status in the policy's codes
//   envoy-ratelimited       the answer carries x-envoy-ratelimited
//   cancelled, deadline-exceeded, internal, resource-exhausted, unavailable
//                           the answer head carries that grpc-status (1, 4,
//                           13, 8, 14: a trailers-only gRPC answer)
// Not enforced (reported at apply time): retriable-headers (needs header
// matchers the APIs do not carry), http3-post-connect-failure (no HTTP/3).
//
// Pure; thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "route/route.h"

namespace ambit::route {

enum RetryOn : std::uint32_t {
  kRetryOn5xx = 1u << 0,
  kRetryOnGatewayError = 1u << 1,
  kRetryOnReset = 1u << 2,
  kRetryOnResetBeforeRequest = 1u << 3,
  kRetryOnConnectFailure = 1u << 4,
  kRetryOnRefusedStream = 1u << 5,
  kRetryOnRetriable4xx = 1u << 6,
  kRetryOnRetriableStatusCodes = 1u << 7,
  kRetryOnEnvoyRateLimited = 1u << 8,
  kRetryOnGrpcCancelled = 1u << 9,
  kRetryOnGrpcDeadlineExceeded = 1u << 10,
  kRetryOnGrpcInternal = 1u << 11,
  kRetryOnGrpcResourceExhausted = 1u << 12,
  kRetryOnGrpcUnavailable = 1u << 13,
};

// The bit of an enforced condition, or nullopt (unknown, or not enforced).
std::optional<std::uint32_t> RetryOnBit(std::string_view condition);
// True for every condition name Envoy defines, enforced or not.
bool IsEnvoyRetryOn(std::string_view condition);
// The enforced conditions of |policy| (the others are skipped).
std::uint32_t RetryOnMask(const RetryPolicy& policy);

// Istio's retry policy for a route that sets none
// (https://istio.io/latest/docs/concepts/traffic-management/#retries; Istio's
// pilot/pkg/networking/core/route/retry/retry.go): 2 retries on
// connect-failure, refused-stream, unavailable, cancelled and
// retriable-status-codes with 503.
RetryPolicy IstioDefaultRetry();

// How one attempt ended, as far as the retry decision needs it.
struct AttemptEnd {
  enum class Kind {
    kResponse,        // a final response head arrived
    kConnectFailure,  // no connection (or HBONE CONNECT) to the endpoint
    kRefusedStream,   // the endpoint refused the HBONE stream
    kReset,           // the upstream ended or reset before the response head
    kPerTryTimeout,   // the per-try timeout expired before the response head
  };
  Kind kind = Kind::kResponse;
  int status = 0;                  // kResponse
  std::optional<int> grpc_status;  // kResponse: grpc-status in the head
  bool rate_limited = false;       // kResponse: x-envoy-ratelimited present
  bool request_head_sent = false;  // kReset: the request head went upstream
};

// Whether |end| is retriable under |mask| (RetryOnMask) and |codes|. Says
// nothing of attempts left, time left or a replayable body.
bool IsRetriable(std::uint32_t mask, const std::vector<std::uint16_t>& codes,
                 const AttemptEnd& end);

// Envoy's default back-off base interval.
inline constexpr std::chrono::milliseconds kDefaultRetryBackoff{25};

// The wait before retry number |retry| (1 = the first retry): Envoy's
// jittered exponential back-off, uniform in [0, min((2^retry - 1) * base,
// 10 * base)) from |random|; |base| nullopt or zero: 25 ms.
std::chrono::milliseconds RetryBackoff(std::optional<std::chrono::milliseconds> base,
                                       std::uint32_t retry, std::uint64_t random);

}  // namespace ambit::route
