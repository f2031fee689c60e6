// ConnectionRecord: what one proxied connection reports, decided once. Its
// istio_tcp_* labels and access-log fields are computed when the connection
// is accepted and authorized (one state snapshot); the record then counts the
// open, the close with its bytes, or the failure, on the series resolved then,
// and writes the connection's one access-log line (access_log.h). So an open
// and its close always land on the same series, whatever the state does
// meanwhile.
//
// Semantics (as Istio's ztunnel,
// https://github.com/istio/ztunnel/blob/master/src/proxy/metrics.rs):
//   Opened()            connections_opened
//   Closed(sent, recv)  sent/received bytes and connections_closed; one
//                       "connection complete" line (error=aborted if so)
//   Revoked(sent, recv, error)
//                       a policy change closed it: bytes on the series it
//                       opened in, closed and failed under response_flags
//                       DENY; a "connection complete" line at warn with error
//   Failed(flag)        connections_failed before any byte flowed, on the
//                       series with response_flags |flag| ("" = its own)
//   Denied(error)       Failed("DENY") and a "connection failed" line
//
// Memory: the labels are shared by every connection of a series; a record
// holds a pointer to them, its loop's handles, the addresses and start time.
//
// Thread-safety: use a record on one thread (the connection's loop), where it
// was constructed: its handles write that loop's cell.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "net/socket_address.h"
#include "telemetry/access_log.h"
#include "telemetry/tcp_metrics.h"

namespace ambit::telemetry {

// The access-log fields a record has besides its labels.
struct ConnectionEnds {
  ConnectionEnds() = default;
  ConnectionEnds(const char* direction_, net::SocketAddress src_, net::SocketAddress dst_,
                 std::string hbone_addr_ = {}, const char* via_ = "")
      : direction(direction_),
        src(std::move(src_)),
        dst(std::move(dst_)),
        hbone_addr(std::move(hbone_addr_)),
        via(via_) {}

  const char* direction = "";  // outbound | inbound | waypoint
  net::SocketAddress src;      // the client
  net::SocketAddress dst;      // the address connected to (HBONE: the peer's :15008)
  std::string hbone_addr;      // HBONE: the CONNECT target ("" = none)
  const char* via = "";        // waypoint: hbone | tcp
};

class ConnectionRecord {
 public:
  ConnectionRecord() = default;  // a placeholder: assign a constructed one before use
  // |metrics| may be null (no counting; the access log is still written).
  // |start|: when the connection was accepted (for duration=).
  ConnectionRecord(TcpMetrics* metrics, const TcpLabels& labels, ConnectionEnds ends,
                   std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now());

  // A connection refused before it had a record: connections_failed under
  // |labels| with response_flags |flag| ("" = as in |labels|) and, unless
  // |error| is empty, its "connection failed" line. Creates no other series.
  static void Refuse(TcpMetrics* metrics, TcpLabels labels, const ConnectionEnds& ends,
                     std::string_view flag, std::string_view error);

  // Valid on a constructed record (not a default one).
  const TcpLabels& labels() const { return series_->labels(); }
  const ConnectionEnds& ends() const { return ends_; }
  // For a field known only once the far side is chosen (e.g. via).
  ConnectionEnds& ends() { return ends_; }

  void Opened() const { counters_->opened.Inc(); }
  void Closed(std::uint64_t sent, std::uint64_t received, bool aborted) const;
  void Revoked(std::uint64_t sent, std::uint64_t received, std::string_view error) const;
  void Failed(std::string_view flag = {}) const;
  void Denied(std::string_view error) const;
  // The "connection failed" line alone (the failure counted elsewhere).
  void LogFailed(std::string_view error) const;

 private:
  // The "connection complete" line: bytes, duration since start, |error|.
  void LogComplete(std::uint64_t sent, std::uint64_t received, std::string_view error, bool warn) const;
  AccessLogEntry Entry(std::string_view event, const std::string& src,
                       const std::string& dst) const;

  TcpMetrics* metrics_ = nullptr;
  std::shared_ptr<const TcpSeries> series_;
  const TcpCounters* counters_ = nullptr;
  ConnectionEnds ends_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ambit::telemetry
