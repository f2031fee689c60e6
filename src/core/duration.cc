#include "core/duration.h"

#include <cstdint>
#include <ctime>
#include <limits>

namespace ambit {
namespace {

Error Bad(std::string_view text) {
  return Error(ErrorCode::kInvalidArgument,
               "expected a duration like 20s, 30m, 24h or 1h30m, got '" + std::string(text) + "'");
}

}  // namespace

Result<std::chrono::seconds> ParseDurationSeconds(std::string_view text) {
  if (text.empty()) return Bad(text);
  static constexpr struct {
    char unit;
    int64_t seconds;
  } kUnits[] = {{'h', 3600}, {'m', 60}, {'s', 1}};
  int64_t total = 0;
  size_t next_unit = 0;  // units must come in the order h, m, s, each once
  size_t i = 0;
  while (i < text.size()) {
    int64_t value = 0;
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) return Bad(text);
      value = value * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start || i == text.size()) return Bad(text);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].unit != text[i]) ++u;
    if (u == std::size(kUnits)) return Bad(text);
    ++i;
    next_unit = u + 1;
    if (value > (std::numeric_limits<int64_t>::max() - total) / kUnits[u].seconds) return Bad(text);
    total += value * kUnits[u].seconds;
  }
  return std::chrono::seconds(total);
}

std::string FormatDurationSeconds(std::chrono::seconds value) {
  int64_t s = value.count();
  if (s == 0) return "0s";
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
  if (s % 60 != 0) out += std::to_string(s % 60) + "s";
  return out;
}

Status CheckWorkloadCertTtl(std::chrono::seconds ttl, std::string_view what) {
  if (ttl < kMinWorkloadCertTtl || ttl > kMaxWorkloadCertTtl) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(what) + ": a workload certificate lifetime must be between " +
                     FormatDurationSeconds(kMinWorkloadCertTtl) + " and " +
                     FormatDurationSeconds(kMaxWorkloadCertTtl) + ", got " +
                     FormatDurationSeconds(ttl));
  }
  return Ok();
}

Result<std::chrono::seconds> ParseWorkloadCertTtl(std::string_view text, std::string_view what) {
  Result<std::chrono::seconds> ttl = ParseDurationSeconds(text);
  if (!ttl.ok()) return std::move(ttl).error().WithContext(std::string(what));
  AMBIT_RETURN_IF_ERROR(CheckWorkloadCertTtl(*ttl, what));
  return ttl;
}

std::string FormatUtcTimestamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace ambit
