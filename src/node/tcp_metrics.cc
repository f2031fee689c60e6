#include "node/tcp_metrics.h"

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

namespace ambit::node {

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string TcpLabels::Render() const {
  const std::pair<const char*, const std::string*> fields[] = {
      {"reporter", &reporter},
      {"source_workload", &source_workload},
      {"source_canonical_service", &source_canonical_service},
      {"source_canonical_revision", &source_canonical_revision},
      {"source_workload_namespace", &source_workload_namespace},
      {"source_principal", &source_principal},
      {"source_app", &source_app},
      {"source_version", &source_version},
      {"source_cluster", &source_cluster},
      {"destination_service", &destination_service},
      {"destination_service_namespace", &destination_service_namespace},
      {"destination_service_name", &destination_service_name},
      {"destination_workload", &destination_workload},
      {"destination_canonical_service", &destination_canonical_service},
      {"destination_canonical_revision", &destination_canonical_revision},
      {"destination_workload_namespace", &destination_workload_namespace},
      {"destination_principal", &destination_principal},
      {"destination_app", &destination_app},
      {"destination_version", &destination_version},
      {"destination_cluster", &destination_cluster},
      {"request_protocol", &request_protocol},
      {"response_flags", &response_flags},
      {"connection_security_policy", &connection_security_policy},
  };
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : fields) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += value->empty() ? std::string("unknown") : EscapeLabelValue(*value);
    out += '"';
  }
  out += '}';
  return out;
}

std::shared_ptr<TcpSeries> TcpMetrics::Get(const TcpLabels& labels) {
  std::string key = labels.Render();
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto& slot = shard.series[key];
  if (slot == nullptr) slot = std::make_shared<TcpSeries>();
  return slot;
}

std::string TcpMetrics::RenderPrometheus() const {
  std::vector<std::pair<std::string, std::shared_ptr<TcpSeries>>> all;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    all.insert(all.end(), shard.series.begin(), shard.series.end());
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  struct Metric {
    const char* name;
    const char* help;
    std::uint64_t (TcpSeries::*read)() const;
  };
  const Metric metrics[] = {
      {"istio_tcp_connections_opened", "The total number of TCP connections opened.",
       &TcpSeries::opened},
      {"istio_tcp_connections_closed", "The total number of TCP connections closed.",
       &TcpSeries::closed},
      {"istio_tcp_connections_failed", "The total number of TCP connections that failed.",
       &TcpSeries::failed},
      {"istio_tcp_sent_bytes", "The size of total bytes sent during response in case of a TCP connection.",
       &TcpSeries::sent},
      {"istio_tcp_received_bytes",
       "The size of total bytes received during request in case of a TCP connection.",
       &TcpSeries::received},
  };
  std::string out;
  for (const Metric& m : metrics) {
    out += "# HELP ";
    out += m.name;
    out += "_total ";
    out += m.help;
    out += "\n# TYPE ";
    out += m.name;
    out += "_total counter\n";
    for (const auto& [labels, series] : all) {
      out += m.name;
      out += "_total";
      out += labels;
      out += ' ';
      out += std::to_string(((*series).*(m.read))());
      out += '\n';
    }
  }
  return out;
}

}  // namespace ambit::node
