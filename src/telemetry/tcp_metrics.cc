#include "telemetry/tcp_metrics.h"

#include <array>
#include <string_view>

namespace ambit::telemetry {
namespace {

constexpr std::array<std::string_view, 23> kLabelNames = {
    "reporter",
    "source_workload",
    "source_canonical_service",
    "source_canonical_revision",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_cluster",
    "destination_service",
    "destination_service_namespace",
    "destination_service_name",
    "destination_workload",
    "destination_canonical_service",
    "destination_canonical_revision",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_cluster",
    "request_protocol",
    "response_flags",
    "connection_security_policy",
};

std::vector<std::string> LabelNames() { return {kLabelNames.begin(), kLabelNames.end()}; }

std::string WorkloadName(const state::Workload& w) {
  return w.workload_name.empty() ? w.name : w.workload_name;
}

}  // namespace

metrics::LabelKey TcpLabels::Key() const {
  const std::string* fields[] = {
      &reporter,
      &source_workload,
      &source_canonical_service,
      &source_canonical_revision,
      &source_workload_namespace,
      &source_principal,
      &source_app,
      &source_version,
      &source_cluster,
      &destination_service,
      &destination_service_namespace,
      &destination_service_name,
      &destination_workload,
      &destination_canonical_service,
      &destination_canonical_revision,
      &destination_workload_namespace,
      &destination_principal,
      &destination_app,
      &destination_version,
      &destination_cluster,
      &request_protocol,
      &response_flags,
      &connection_security_policy,
  };
  static_assert(std::size(fields) == kLabelNames.size());
  std::array<std::string_view, kLabelNames.size()> values;
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = fields[i]->empty() ? std::string_view("unknown") : std::string_view(*fields[i]);
  }
  return metrics::LabelKey(kLabelNames, values);
}

void FillSource(TcpLabels& l, const state::Workload* w) {
  if (w == nullptr) return;
  l.source_workload = WorkloadName(*w);
  l.source_canonical_service = w->canonical_name;
  l.source_canonical_revision = w->canonical_revision;
  l.source_workload_namespace = w->ns;
  l.source_principal = w->Identity().ToString();
  l.source_app = w->canonical_name;
  l.source_version = w->canonical_revision;
  l.source_cluster = w->cluster_id;
}

void FillDestination(TcpLabels& l, const state::Workload* w, const state::Service* s) {
  if (s != nullptr) {
    l.destination_service = s->hostname;
    l.destination_service_namespace = s->ns;
    l.destination_service_name = s->name;
  }
  if (w == nullptr) return;
  l.destination_workload = WorkloadName(*w);
  l.destination_canonical_service = w->canonical_name;
  l.destination_canonical_revision = w->canonical_revision;
  l.destination_workload_namespace = w->ns;
  l.destination_principal = w->Identity().ToString();
  l.destination_app = w->canonical_name;
  l.destination_version = w->canonical_revision;
  l.destination_cluster = w->cluster_id;
}

TcpMetrics::TcpMetrics(metrics::Registry& registry)
    : registry_(registry),
      opened_(registry.AddCounter("istio_tcp_connections_opened_total",
                                  "The total number of TCP connections opened.", LabelNames())),
      closed_(registry.AddCounter("istio_tcp_connections_closed_total",
                                  "The total number of TCP connections closed.", LabelNames())),
      failed_(registry.AddCounter("istio_tcp_connections_failed_total",
                                  "The total number of TCP connections that failed.",
                                  LabelNames())),
      sent_(registry.AddCounter(
          "istio_tcp_sent_bytes_total",
          "The size of total bytes sent during response in case of a TCP connection.",
          LabelNames())),
      received_(registry.AddCounter(
          "istio_tcp_received_bytes_total",
          "The size of total bytes received during request in case of a TCP connection.",
          LabelNames())) {}

std::shared_ptr<const TcpSeries> TcpMetrics::Get(const TcpLabels& labels) {
  metrics::LabelKey key = labels.Key();
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  std::vector<TcpCounters> cells(registry_.cells());
  for (std::size_t cell = 0; cell < cells.size(); ++cell) {
    cells[cell] =
        TcpCounters{opened_.Get(key, cell), closed_.Get(key, cell), failed_.Get(key, cell),
                    sent_.Get(key, cell), received_.Get(key, cell)};
  }
  auto series = std::make_shared<const TcpSeries>(labels, std::move(cells));
  series_.emplace(std::move(key), series);
  return series;
}

}  // namespace ambit::telemetry
