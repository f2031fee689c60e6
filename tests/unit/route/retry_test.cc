// Envoy's retry conditions and back-off (route/retry.h).
#include "route/retry.h"

#include <gtest/gtest.h>

#include <random>

namespace ambit::route {
namespace {

AttemptEnd Response(int status) {
  AttemptEnd e;
  e.kind = AttemptEnd::Kind::kResponse;
  e.status = status;
  return e;
}

AttemptEnd Failure(AttemptEnd::Kind kind, bool head_sent = false) {
  AttemptEnd e;
  e.kind = kind;
  e.request_head_sent = head_sent;
  return e;
}

AttemptEnd Grpc(int code) {
  AttemptEnd e = Response(200);
  e.grpc_status = code;
  return e;
}

bool Retried(std::vector<std::string> on, const AttemptEnd& end,
             std::vector<std::uint16_t> codes = {}) {
  RetryPolicy p;
  p.attempts = 1;
  p.retry_on = std::move(on);
  p.codes = std::move(codes);
  return IsRetriable(RetryOnMask(p), p.codes, end);
}

using K = AttemptEnd::Kind;

TEST(RetryTest, StatusConditions) {
  EXPECT_TRUE(Retried({"5xx"}, Response(500)));
  EXPECT_TRUE(Retried({"5xx"}, Response(599)));
  EXPECT_FALSE(Retried({"5xx"}, Response(404)));
  EXPECT_FALSE(Retried({"5xx"}, Response(200)));
  for (int s : {502, 503, 504}) EXPECT_TRUE(Retried({"gateway-error"}, Response(s))) << s;
  EXPECT_FALSE(Retried({"gateway-error"}, Response(500)));
  EXPECT_TRUE(Retried({"retriable-4xx"}, Response(409)));
  EXPECT_FALSE(Retried({"retriable-4xx"}, Response(429)));
  EXPECT_TRUE(Retried({"retriable-status-codes"}, Response(429), {429, 503}));
  EXPECT_FALSE(Retried({"retriable-status-codes"}, Response(500), {429, 503}));
  // Codes without the condition retry nothing (Envoy needs both).
  EXPECT_FALSE(Retried({"5xx"}, Response(429), {429}));
  AttemptEnd limited = Response(429);
  limited.rate_limited = true;
  EXPECT_TRUE(Retried({"envoy-ratelimited"}, limited));
  EXPECT_FALSE(Retried({"envoy-ratelimited"}, Response(429)));
}

TEST(RetryTest, FailuresBeforeTheAnswer) {
  EXPECT_TRUE(Retried({"connect-failure"}, Failure(K::kConnectFailure)));
  EXPECT_FALSE(Retried({"connect-failure"}, Failure(K::kReset, true)));
  EXPECT_FALSE(Retried({"connect-failure"}, Failure(K::kRefusedStream)));
  EXPECT_TRUE(Retried({"refused-stream"}, Failure(K::kRefusedStream)));
  EXPECT_FALSE(Retried({"refused-stream"}, Failure(K::kConnectFailure)));
  for (const char* any : {"5xx", "gateway-error", "reset"}) {
    EXPECT_TRUE(Retried({any}, Failure(K::kConnectFailure))) << any;
    EXPECT_TRUE(Retried({any}, Failure(K::kReset, true))) << any;
    EXPECT_TRUE(Retried({any}, Failure(K::kPerTryTimeout))) << any;
  }
  EXPECT_TRUE(Retried({"reset-before-request"}, Failure(K::kReset, false)));
  EXPECT_FALSE(Retried({"reset-before-request"}, Failure(K::kReset, true)));
  // A per-try timeout is retried only by 5xx, gateway-error and reset.
  EXPECT_FALSE(Retried({"connect-failure", "refused-stream", "retriable-status-codes"},
                       Failure(K::kPerTryTimeout), {503}));
}

TEST(RetryTest, GrpcStatusInTheHead) {
  EXPECT_TRUE(Retried({"cancelled"}, Grpc(1)));
  EXPECT_TRUE(Retried({"deadline-exceeded"}, Grpc(4)));
  EXPECT_TRUE(Retried({"resource-exhausted"}, Grpc(8)));
  EXPECT_TRUE(Retried({"internal"}, Grpc(13)));
  EXPECT_TRUE(Retried({"unavailable"}, Grpc(14)));
  EXPECT_FALSE(Retried({"unavailable"}, Grpc(1)));
  EXPECT_FALSE(Retried({"unavailable"}, Grpc(0)));
  EXPECT_FALSE(Retried({"unavailable"}, Response(200)));
}

TEST(RetryTest, IstioDefaultPolicy) {
  const RetryPolicy d = IstioDefaultRetry();
  EXPECT_EQ(d.attempts, 2u);
  const std::uint32_t mask = RetryOnMask(d);
  EXPECT_TRUE(IsRetriable(mask, d.codes, Response(503)));
  EXPECT_FALSE(IsRetriable(mask, d.codes, Response(500)));
  EXPECT_FALSE(IsRetriable(mask, d.codes, Response(502)));
  EXPECT_TRUE(IsRetriable(mask, d.codes, Failure(K::kConnectFailure)));
  EXPECT_TRUE(IsRetriable(mask, d.codes, Failure(K::kRefusedStream)));
  EXPECT_FALSE(IsRetriable(mask, d.codes, Failure(K::kReset, true)));
  EXPECT_FALSE(IsRetriable(mask, d.codes, Failure(K::kPerTryTimeout)));
  EXPECT_TRUE(IsRetriable(mask, d.codes, Grpc(14)));
  EXPECT_TRUE(IsRetriable(mask, d.codes, Grpc(1)));
  EXPECT_FALSE(IsRetriable(mask, d.codes, Grpc(13)));
}

TEST(RetryTest, ConditionNames) {
  EXPECT_TRUE(RetryOnBit("5xx").has_value());
  EXPECT_FALSE(RetryOnBit("retriable-headers").has_value());
  EXPECT_TRUE(IsEnvoyRetryOn("retriable-headers"));
  EXPECT_TRUE(IsEnvoyRetryOn("http3-post-connect-failure"));
  EXPECT_FALSE(IsEnvoyRetryOn("teapot"));
  RetryPolicy p;
  p.retry_on = {"teapot", "reset", "retriable-headers"};
  EXPECT_EQ(RetryOnMask(p), kRetryOnReset);
}

TEST(RetryTest, BackoffIsJitteredWithinEnvoysBounds) {
  using std::chrono::milliseconds;
  std::mt19937_64 rng(7);
  // Retry n waits in [0, min((2^n - 1) * base, 10 * base)).
  for (std::uint32_t n = 1; n <= 12; ++n) {
    const std::int64_t bound =
        std::min<std::int64_t>((std::int64_t{1} << std::min(n, 20u)) - 1, 10) * 25;
    std::int64_t seen_max = 0;
    for (int i = 0; i < 2000; ++i) {
      const milliseconds d = RetryBackoff(std::nullopt, n, rng());
      ASSERT_GE(d.count(), 0);
      ASSERT_LT(d.count(), bound) << "retry " << n;
      seen_max = std::max(seen_max, d.count());
    }
    EXPECT_GT(seen_max, bound * 8 / 10) << "retry " << n << ": jitter spans the range";
  }
  EXPECT_LT(RetryBackoff(milliseconds(100), 1, 99).count(), 100);
  EXPECT_EQ(RetryBackoff(milliseconds(100), 1, 99), milliseconds(99));
  EXPECT_EQ(RetryBackoff(milliseconds(100), 2, 250), milliseconds(250));
  EXPECT_EQ(RetryBackoff(milliseconds(100), 30, 999), milliseconds(999));  // cap 1000 ms
  EXPECT_EQ(RetryBackoff(milliseconds(100), 30, 1000), milliseconds(0));
  EXPECT_EQ(RetryBackoff(milliseconds(0), 1, 30), milliseconds(5));  // 0: the default 25 ms
}

}  // namespace
}  // namespace ambit::route
