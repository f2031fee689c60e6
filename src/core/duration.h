// Whole-second durations given by operators on command lines and in cluster
// settings, written the Go way Istio's own flags use: "20s", "30m", "24h",
// "1h30m" (integer components, units h, m, s, each at most once, in that order).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit {

// Parses |text|. kInvalidArgument (naming the text) for anything else,
// including an empty string, fractions, other units and overflow.
Result<std::chrono::seconds> ParseDurationSeconds(std::string_view text);

// "1h30m", "20s", "24h" ("0s" for zero): the shortest form ParseDurationSeconds reads back.
std::string FormatDurationSeconds(std::chrono::seconds value);

// |t| in UTC as RFC 3339 at whole seconds, e.g. "2026-12-07T16:20:00Z"
// (certificate validity in dumps, CLI tables and logs).
std::string FormatUtcTimestamp(std::chrono::system_clock::time_point t);

// Workload certificate lifetime (Istio's DEFAULT_WORKLOAD_CERT_TTL / ztunnel's
// SECRET_TTL): default 24 h; at most Istio's MAX_WORKLOAD_CERT_TTL (90 days);
// at least kMinWorkloadCertTtl, so that renewal at half-life (every 5 s at the
// floor) stays well above the CA round trip and the renewal backoff.
inline constexpr std::chrono::seconds kDefaultWorkloadCertTtl{24 * 3600};
inline constexpr std::chrono::seconds kMinWorkloadCertTtl{10};
inline constexpr std::chrono::seconds kMaxWorkloadCertTtl{90 * 24 * 3600};

// ParseDurationSeconds plus the bounds above; errors name |what| (e.g. the flag).
Result<std::chrono::seconds> ParseWorkloadCertTtl(std::string_view text, std::string_view what);
// Ok when kMinWorkloadCertTtl <= ttl <= kMaxWorkloadCertTtl; errors name |what|.
Status CheckWorkloadCertTtl(std::chrono::seconds ttl, std::string_view what);

}  // namespace ambit
