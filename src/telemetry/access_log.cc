#include "telemetry/access_log.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/structured_log.h"

namespace ambit::telemetry {
namespace {

std::atomic<AccessLogFormat> g_format{AccessLogFormat::kText};

bool Bare(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_.:/@-[]%").find(c) != std::string_view::npos;
}

void AppendField(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  bool bare = true;
  for (char c : value) bare = bare && Bare(c);
  if (bare) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
}

}  // namespace

void SetAccessLogFormat(AccessLogFormat format) {
  g_format.store(format, std::memory_order_relaxed);
}

AccessLogFormat CurrentAccessLogFormat() { return g_format.load(std::memory_order_relaxed); }

std::string FormatAccessText(const AccessLogEntry& e) {
  std::string out = "access: ";
  out += e.event;
  AppendField(out, "src.addr", e.src_addr);
  AppendField(out, "src.workload", e.src_workload);
  AppendField(out, "src.namespace", e.src_namespace);
  AppendField(out, "src.identity", e.src_identity);
  AppendField(out, "dst.addr", e.dst_addr);
  if (!e.dst_hbone_addr.empty()) AppendField(out, "dst.hbone_addr", e.dst_hbone_addr);
  AppendField(out, "dst.service", e.dst_service);
  AppendField(out, "dst.workload", e.dst_workload);
  AppendField(out, "dst.namespace", e.dst_namespace);
  AppendField(out, "dst.identity", e.dst_identity);
  AppendField(out, "direction", e.direction);
  if (!e.via.empty()) AppendField(out, "via", e.via);
  if (e.bytes_sent) AppendField(out, "bytes_sent", std::to_string(*e.bytes_sent));
  if (e.bytes_recv) AppendField(out, "bytes_recv", std::to_string(*e.bytes_recv));
  if (e.duration_ms) AppendField(out, "duration", std::to_string(*e.duration_ms) + "ms");
  if (!e.error.empty()) AppendField(out, "error", e.error);
  return out;
}

std::string FormatAccessJson(const AccessLogEntry& e) {
  nlohmann::ordered_json j;
  j["scope"] = "access";
  j["message"] = e.event;
  j["src.addr"] = e.src_addr;
  j["src.workload"] = e.src_workload;
  j["src.namespace"] = e.src_namespace;
  j["src.identity"] = e.src_identity;
  j["dst.addr"] = e.dst_addr;
  if (!e.dst_hbone_addr.empty()) j["dst.hbone_addr"] = e.dst_hbone_addr;
  j["dst.service"] = e.dst_service;
  j["dst.workload"] = e.dst_workload;
  j["dst.namespace"] = e.dst_namespace;
  j["dst.identity"] = e.dst_identity;
  j["direction"] = e.direction;
  if (!e.via.empty()) j["via"] = e.via;
  if (e.bytes_sent) j["bytes_sent"] = *e.bytes_sent;
  if (e.bytes_recv) j["bytes_recv"] = *e.bytes_recv;
  if (e.duration_ms) j["duration_ms"] = *e.duration_ms;
  if (!e.error.empty()) j["error"] = e.error;
  // Invalid UTF-8 (e.g. from a peer-chosen name) is replaced, never thrown.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool AccessLogEnabled(bool warn) {
  return spdlog::default_logger_raw()->should_log(warn ? spdlog::level::warn : spdlog::level::info);
}

void WriteAccessLog(const AccessLogEntry& entry, bool warn) {
  if (!AccessLogEnabled(warn)) return;
  std::string line;
  if (CurrentAccessLogFormat() == AccessLogFormat::kJson) {
    line = std::string(kStructuredLogMarker) + FormatAccessJson(entry);
  } else {
    line = FormatAccessText(entry);
  }
  if (warn) {
    AMBIT_LOG_WARN("{}", line);
  } else {
    AMBIT_LOG_INFO("{}", line);
  }
}

}  // namespace ambit::telemetry
