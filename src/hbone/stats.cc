#include "hbone/stats.h"

#include "net/worker_pool.h"

namespace ambit::hbone {

Stats::Stats(std::size_t worker_loops)
    : count_(worker_loops + 1), shards_(std::make_unique<StatsShard[]>(count_)) {}

StatsShard& Stats::Local() {
  const int index = net::WorkerPool::CurrentIndex() + 1;
  // A thread of some other pool (index beyond ours) shares shard 0 with
  // non-worker threads; callers keep one pool per Stats.
  return shards_[static_cast<std::size_t>(index) < count_ ? static_cast<std::size_t>(index) : 0];
}

StatsSnapshot Stats::ShardSnapshot(std::size_t shard) const {
  StatsSnapshot s;
  if (shard >= count_) return s;
  const StatsShard& x = shards_[shard];
  s.outbound_connections = x.outbound_connections.Get();
  s.tls_connections_opened = x.tls_connections_opened.Get();
  s.tls_connect_failures = x.tls_connect_failures.Get();
  s.streams_opened = x.streams_opened.Get();
  s.stream_failures = x.stream_failures.Get();
  s.passthrough_connections = x.passthrough_connections.Get();
  s.tls_connections_accepted = x.tls_connections_accepted.Get();
  s.tls_handshake_failures = x.tls_handshake_failures.Get();
  s.inbound_streams = x.inbound_streams.Get();
  s.inbound_status_200 = x.inbound_status_200.Get();
  s.inbound_status_400 = x.inbound_status_400.Get();
  s.inbound_status_401 = x.inbound_status_401.Get();
  s.inbound_status_503 = x.inbound_status_503.Get();
  s.bytes_downstream_to_upstream = x.bytes_downstream_to_upstream.Get();
  s.bytes_upstream_to_downstream = x.bytes_upstream_to_downstream.Get();
  s.app_connections = x.app_connections.Get();
  return s;
}

StatsSnapshot Stats::Snapshot() const {
  StatsSnapshot s;
  for (std::size_t i = 0; i < count_; ++i) {
    const StatsSnapshot x = ShardSnapshot(i);
    s.outbound_connections += x.outbound_connections;
    s.tls_connections_opened += x.tls_connections_opened;
    s.tls_connect_failures += x.tls_connect_failures;
    s.streams_opened += x.streams_opened;
    s.stream_failures += x.stream_failures;
    s.passthrough_connections += x.passthrough_connections;
    s.tls_connections_accepted += x.tls_connections_accepted;
    s.tls_handshake_failures += x.tls_handshake_failures;
    s.inbound_streams += x.inbound_streams;
    s.inbound_status_200 += x.inbound_status_200;
    s.inbound_status_400 += x.inbound_status_400;
    s.inbound_status_401 += x.inbound_status_401;
    s.inbound_status_503 += x.inbound_status_503;
    s.bytes_downstream_to_upstream += x.bytes_downstream_to_upstream;
    s.bytes_upstream_to_downstream += x.bytes_upstream_to_downstream;
    s.app_connections += x.app_connections;
  }
  return s;
}

}  // namespace ambit::hbone
