// TcpMetrics: Istio's standard L4 metrics
// (https://istio.io/latest/docs/reference/config/metrics/) in a
// metrics::Registry, shared by ztunnel and the waypoint:
//
//   istio_tcp_connections_opened_total   counter
//   istio_tcp_connections_closed_total   counter
//   istio_tcp_connections_failed_total   counter
//   istio_tcp_sent_bytes_total           counter
//   istio_tcp_received_bytes_total       counter
//
// each with the CommonTrafficLabels set (reporter, source_*, destination_*,
// request_protocol, response_flags, connection_security_policy); empty values
// are written "unknown".
//
// Get() interns one TcpSeries per label set: the labels and, for every cell
// of the registry (one per worker loop), the five counter handles. A
// connection resolves its series once (ConnectionRecord) and then counts
// through its loop's handles: relaxed atomic adds, no lock, no lookup.
//
// Thread-safety: all methods are thread-safe. Series live as long as the
// TcpMetrics (Prometheus counters never go away).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/registry.h"
#include "state/workload.h"

namespace ambit::telemetry {

struct TcpLabels {
  std::string reporter;  // "source" (outbound), "destination" (inbound) or "waypoint"
  std::string source_workload;
  std::string source_canonical_service;
  std::string source_canonical_revision;
  std::string source_workload_namespace;
  std::string source_principal;
  std::string source_app;
  std::string source_version;
  std::string source_cluster;
  std::string destination_service;
  std::string destination_service_namespace;
  std::string destination_service_name;
  std::string destination_workload;
  std::string destination_canonical_service;
  std::string destination_canonical_revision;
  std::string destination_workload_namespace;
  std::string destination_principal;
  std::string destination_app;
  std::string destination_version;
  std::string destination_cluster;
  std::string request_protocol = "tcp";
  std::string response_flags = "-";
  std::string connection_security_policy;  // "mutual_tls" or "unknown"

  // The label set, empty values as "unknown".
  metrics::LabelKey Key() const;
};

// The source_* labels of workload |w| (nothing if null).
void FillSource(TcpLabels& labels, const state::Workload* w);
// The destination_service* labels of |s| and destination_* of |w| (each
// skipped if null).
void FillDestination(TcpLabels& labels, const state::Workload* w, const state::Service* s);

// One cell's handles of a series.
struct TcpCounters {
  metrics::Counter opened, closed, failed, sent, received;
};

// One label set: its labels and its handles on every cell.
class TcpSeries {
 public:
  TcpSeries(TcpLabels labels, std::vector<TcpCounters> cells)
      : labels_(std::move(labels)), cells_(std::move(cells)) {}
  const TcpLabels& labels() const { return labels_; }
  // |cell| wraps; a series without cells (no registry) has detached handles.
  const TcpCounters& Cell(std::size_t cell) const {
    static const TcpCounters kDetached;
    return cells_.empty() ? kDetached : cells_[cell % cells_.size()];
  }

 private:
  TcpLabels labels_;
  std::vector<TcpCounters> cells_;
};

class TcpMetrics {
 public:
  // Adds the five istio_tcp_* families to |registry|, which outlives this.
  explicit TcpMetrics(metrics::Registry& registry);

  // The series for |labels|, created on first use. Never null.
  std::shared_ptr<const TcpSeries> Get(const TcpLabels& labels);
  // The calling thread's cell of the registry.
  std::size_t CurrentCell() const { return registry_.CurrentCell(); }
  metrics::Registry& registry() const { return registry_; }
  // The registry's whole exposition.
  std::string RenderPrometheus() const { return registry_.Render(); }

 private:
  struct KeyHash {
    std::size_t operator()(const metrics::LabelKey& k) const { return k.hash(); }
  };
  struct KeyEq {
    bool operator()(const metrics::LabelKey& a, const metrics::LabelKey& b) const {
      return a.text() == b.text();
    }
  };
  metrics::Registry& registry_;
  metrics::CounterFamily& opened_;
  metrics::CounterFamily& closed_;
  metrics::CounterFamily& failed_;
  metrics::CounterFamily& sent_;
  metrics::CounterFamily& received_;
  std::mutex mu_;
  std::unordered_map<metrics::LabelKey, std::shared_ptr<const TcpSeries>, KeyHash, KeyEq>
      series_;  // guarded by mu_
};

}  // namespace ambit::telemetry
