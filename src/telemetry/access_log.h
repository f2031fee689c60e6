// The access log of ztunnel and the waypoint: one line per connection, in
// ztunnel's key=value form
// (https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/):
//
//   access: connection complete src.addr=10.10.1.5:41022 src.workload=sleep
//     src.namespace=shop src.identity=spiffe://cluster.local/ns/shop/sa/sleep
//     dst.addr=10.10.2.7:15008 dst.hbone_addr=10.10.2.7:8080 dst.service=…
//     dst.workload=… dst.namespace=… dst.identity=… direction=outbound
//     bytes_sent=120 bytes_recv=430 duration=12ms
//   access: connection failed … direction=inbound error="connection closed
//     due to policy rejection: …"
//
// (one line each). Fields with no value are written empty (`src.identity=`);
// dst.hbone_addr, via, the byte counts and duration only when known. A value
// with characters other than letters, digits and `_.:/@-[]%` (e.g. an error
// message) is double-quoted, with `"` and `\` escaped.
//
// JSON (SetAccessLogFormat(kJson), the proxies' --log-json): one object per
// line with the same keys, "message" the event and "scope":"access", byte
// counts and duration (duration_ms) as numbers; the log's JSON layout
// (core/structured_log.h) merges it with time, level and program.
//
// Thread-safety: formatting is pure; set the format once before threads start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ambit::telemetry {

enum class AccessLogFormat { kText, kJson };

void SetAccessLogFormat(AccessLogFormat format);
AccessLogFormat CurrentAccessLogFormat();

struct AccessLogEntry {
  std::string_view event;  // "connection complete" | "connection failed"
  std::string_view src_addr, src_workload, src_namespace, src_identity;
  std::string_view dst_addr, dst_hbone_addr, dst_service, dst_workload, dst_namespace, dst_identity;
  std::string_view direction;               // outbound | inbound | waypoint
  std::string_view via;                     // waypoint: hbone | tcp ("" = not written)
  std::optional<std::uint64_t> bytes_sent;  // to the client
  std::optional<std::uint64_t> bytes_recv;  // from the client
  std::optional<std::int64_t> duration_ms;
  std::string_view error;  // "" = none
};

// "access: <event> src.addr=… …" (no newline).
std::string FormatAccessText(const AccessLogEntry& entry);
// {"scope":"access","message":"<event>","src.addr":"…",…} (no newline).
std::string FormatAccessJson(const AccessLogEntry& entry);
// Whether an access line at that level would be written (so a caller can
// skip building one).
bool AccessLogEnabled(bool warn);
// Writes |entry| to the process log in the current format, at warn level if
// |warn| (failures, revocations), else info.
void WriteAccessLog(const AccessLogEntry& entry, bool warn);

}  // namespace ambit::telemetry
