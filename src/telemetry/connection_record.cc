#include "telemetry/connection_record.h"

namespace ambit::telemetry {

ConnectionRecord::ConnectionRecord(TcpMetrics* metrics, const TcpLabels& labels,
                                   ConnectionEnds ends, std::chrono::steady_clock::time_point start)
    : metrics_(metrics), ends_(std::move(ends)), start_(start) {
  if (metrics_ != nullptr) {
    series_ = metrics_->Get(labels);
    counters_ = &series_->Cell(metrics_->CurrentCell());
  } else {
    series_ = std::make_shared<const TcpSeries>(labels, std::vector<TcpCounters>{});
    counters_ = &series_->Cell(0);
  }
}

void ConnectionRecord::Refuse(TcpMetrics* metrics, TcpLabels labels, const ConnectionEnds& ends,
                              std::string_view flag, std::string_view error) {
  if (!flag.empty()) labels.response_flags = std::string(flag);
  ConnectionRecord record(metrics, labels, ends);
  record.Failed();
  if (!error.empty()) record.LogFailed(error);
}

AccessLogEntry ConnectionRecord::Entry(std::string_view event, const std::string& src,
                                       const std::string& dst) const {
  const TcpLabels& l = series_->labels();
  AccessLogEntry e;
  e.event = event;
  e.src_addr = src;
  e.src_workload = l.source_workload;
  e.src_namespace = l.source_workload_namespace;
  e.src_identity = l.source_principal;
  e.dst_addr = dst;
  e.dst_hbone_addr = ends_.hbone_addr;
  e.dst_service = l.destination_service;
  e.dst_workload = l.destination_workload;
  e.dst_namespace = l.destination_workload_namespace;
  e.dst_identity = l.destination_principal;
  e.direction = ends_.direction;
  e.via = ends_.via;
  return e;
}

void ConnectionRecord::LogComplete(std::uint64_t sent, std::uint64_t received, std::string_view error,
                                   bool warn) const {
  const std::string src = ends_.src.ToString();
  const std::string dst = ends_.dst.ToString();
  AccessLogEntry e = Entry("connection complete", src, dst);
  e.bytes_sent = sent;
  e.bytes_recv = received;
  e.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start_)
                      .count();
  e.error = error;
  WriteAccessLog(e, warn);
}

void ConnectionRecord::Closed(std::uint64_t sent, std::uint64_t received, bool aborted) const {
  counters_->received.Inc(received);
  counters_->sent.Inc(sent);
  counters_->closed.Inc();
  if (!AccessLogEnabled(/*warn=*/false)) return;
  LogComplete(sent, received, aborted ? "aborted" : "", /*warn=*/false);
}

void ConnectionRecord::Revoked(std::uint64_t sent, std::uint64_t received,
                               std::string_view error) const {
  counters_->received.Inc(received);
  counters_->sent.Inc(sent);
  if (metrics_ != nullptr) {
    TcpLabels denied = series_->labels();
    denied.response_flags = "DENY";
    const TcpCounters& late = metrics_->Get(denied)->Cell(metrics_->CurrentCell());
    late.closed.Inc();
    late.failed.Inc();
  }
  LogComplete(sent, received, error, /*warn=*/true);
}

void ConnectionRecord::Failed(std::string_view flag) const {
  if (flag.empty() || metrics_ == nullptr) {
    counters_->failed.Inc();
    return;
  }
  TcpLabels flagged = series_->labels();
  flagged.response_flags = std::string(flag);
  metrics_->Get(flagged)->Cell(metrics_->CurrentCell()).failed.Inc();
}

void ConnectionRecord::Denied(std::string_view error) const {
  Failed("DENY");
  LogFailed(error);
}

void ConnectionRecord::LogFailed(std::string_view error) const {
  const std::string src = ends_.src.ToString();
  const std::string dst = ends_.dst.ToString();
  AccessLogEntry e = Entry("connection failed", src, dst);
  e.error = error;
  WriteAccessLog(e, /*warn=*/true);
}

}  // namespace ambit::telemetry
