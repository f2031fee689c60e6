// Data-path counters, sharded per worker loop so the hot path never shares a
// cache line or takes a lock. Each shard is written only by its own loop
// (relaxed load+store, no read-modify-write) and may be read from any thread;
// Snapshot() sums the shards. Shard 0 is for threads outside the worker pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ambit::hbone {

// A counter with one writer thread and any number of readers.
class Counter {
 public:
  void Add(std::uint64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void Inc() { Add(1); }
  std::uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct StatsSnapshot {
  // Outbound (client side of HBONE).
  std::uint64_t outbound_connections = 0;       // downstream connections handled
  std::uint64_t tls_connections_opened = 0;     // pooled HBONE connections dialed
  std::uint64_t tls_connect_failures = 0;       // dials that failed (TCP or TLS)
  std::uint64_t streams_opened = 0;             // CONNECT streams that got a 200
  std::uint64_t stream_failures = 0;            // CONNECTs refused or failed
  std::uint64_t passthrough_connections = 0;
  // Inbound (server side of HBONE).
  std::uint64_t tls_connections_accepted = 0;
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t inbound_streams = 0;            // CONNECT requests received
  std::uint64_t inbound_status_200 = 0;
  std::uint64_t inbound_status_400 = 0;
  std::uint64_t inbound_status_401 = 0;
  std::uint64_t inbound_status_503 = 0;
  // Payload bytes through tunnels and passthrough (not TLS/HTTP/2 overhead).
  std::uint64_t bytes_downstream_to_upstream = 0;
  std::uint64_t bytes_upstream_to_downstream = 0;
  // App connections whose bytes were copied (outbound tunnels and
  // passthrough, inbound tunnels and plaintext), counted where copied.
  std::uint64_t app_connections = 0;
};

struct alignas(64) StatsShard {
  Counter outbound_connections, tls_connections_opened, tls_connect_failures, streams_opened,
      stream_failures, passthrough_connections, tls_connections_accepted, tls_handshake_failures,
      inbound_streams, inbound_status_200, inbound_status_400, inbound_status_401,
      inbound_status_503, bytes_downstream_to_upstream, bytes_upstream_to_downstream,
      app_connections;
};

class Stats {
 public:
  // |worker_loops|: number of loops in the WorkerPool that will write.
  explicit Stats(std::size_t worker_loops);
  // The calling thread's shard (by WorkerPool::CurrentIndex()).
  StatsShard& Local();
  // Sum over shards; safe from any thread.
  StatsSnapshot Snapshot() const;
  // One shard: 0 = threads outside the pool, i + 1 = worker loop i
  // (shard_count() - 1 loops). Safe from any thread.
  StatsSnapshot ShardSnapshot(std::size_t shard) const;
  std::size_t shard_count() const { return count_; }

 private:
  std::size_t count_;
  std::unique_ptr<StatsShard[]> shards_;
};

}  // namespace ambit::hbone
