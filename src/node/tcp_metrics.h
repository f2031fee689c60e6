// TcpMetrics: Istio's standard L4 metrics
// (https://istio.io/latest/docs/reference/config/metrics/), rendered in the
// Prometheus text format.
//
//   istio_tcp_connections_opened_total   counter
//   istio_tcp_connections_closed_total   counter
//   istio_tcp_connections_failed_total   counter
//   istio_tcp_sent_bytes_total           counter
//   istio_tcp_received_bytes_total       counter
//
// each with the CommonTrafficLabels set (reporter, source_*, destination_*,
// request_protocol, response_flags, connection_security_policy); missing values
// are "unknown". A series is looked up once per connection (Get) and then
// updated with relaxed atomics, so the byte counters cost no lock.
//
// Thread-safety: all methods are thread-safe. Series live as long as the
// registry (Prometheus counters never go away).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ambit::node {

struct TcpLabels {
  std::string reporter;  // "source" (outbound) or "destination" (inbound)
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

  // The Prometheus label block, `{reporter="source",...}`, values escaped and
  // empty ones written as "unknown".
  std::string Render() const;
};

class TcpSeries {
 public:
  void Opened() { opened_.fetch_add(1, std::memory_order_relaxed); }
  void Closed() { closed_.fetch_add(1, std::memory_order_relaxed); }
  void Failed() { failed_.fetch_add(1, std::memory_order_relaxed); }
  void AddSent(std::uint64_t n) { sent_.fetch_add(n, std::memory_order_relaxed); }
  void AddReceived(std::uint64_t n) { received_.fetch_add(n, std::memory_order_relaxed); }

  std::uint64_t opened() const { return opened_.load(std::memory_order_relaxed); }
  std::uint64_t closed() const { return closed_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  std::uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  std::uint64_t received() const { return received_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> opened_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> received_{0};
};

class TcpMetrics {
 public:
  // The series for |labels|, created on first use. Never null.
  std::shared_ptr<TcpSeries> Get(const TcpLabels& labels);

  // Every series in Prometheus text exposition format (with HELP/TYPE lines).
  std::string RenderPrometheus() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::map<std::string, std::shared_ptr<TcpSeries>> series;  // by rendered labels
  };
  std::array<Shard, kShards> shards_;
};

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace ambit::node
