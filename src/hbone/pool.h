// Pool: pooled HBONE connections (mTLS + HTTP/2) of one worker loop.
//
// Key: (source identity, source IP, destination ip:15008, expected identities);
// connections are never shared across keys (as ztunnel's
// https://github.com/istio/ztunnel/blob/master/src/proxy/pool.rs).
// A connection carries at most min(max_streams_per_connection (100), the
// peer's SETTINGS_MAX_CONCURRENT_STREAMS) streams; beyond that another is
// dialed. max_streams_per_connection = 1 means one stream per connection for
// its whole life (a TLS handshake per app connection): the connection is
// never reused and closes when its stream ends. Dialing is single-flight per key: concurrent requests wait for the
// one dial in progress instead of opening their own. Connections idle (no
// streams) for idle_timeout (5 min) are closed by a periodic sweep.
//
// Threading: one Pool per worker loop (PoolSet), used only on that loop, so
// it needs no lock; a connection and its streams stay on the loop that dialed
// it. Outbound connections accepted on loop N use loop N's pool.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "h2/session.h"
#include "h2/settings.h"
#include "hbone/stats.h"
#include "identity/spiffe_id.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "net/worker_pool.h"
#include "tls/context.h"

namespace ambit::hbone {

struct PoolKey {
  identity::SpiffeId source_identity;
  net::IpAddress source_ip;
  net::SocketAddress destination;  // HBONE endpoint (ip:15008)
  std::vector<identity::SpiffeId> expected_identities;

  friend bool operator==(const PoolKey&, const PoolKey&) = default;
  std::string ToString() const;
};

struct PoolKeyHash {
  std::size_t operator()(const PoolKey& key) const;
};

// How to dial a new connection for a key (not part of the key: a rotated
// certificate yields a new context but the same pool entry).
struct DialParams {
  std::shared_ptr<const tls::TlsContext> tls;           // client context of the source workload
  std::shared_ptr<const net::SocketFactory> sockets;    // e.g. in the source pod's netns
};

class Pool {
 public:
  struct Options {
    std::size_t max_streams_per_connection = 100;
    std::chrono::milliseconds idle_timeout{5 * 60 * 1000};
    std::chrono::milliseconds connect_timeout{10'000};    // TCP connect
    std::chrono::milliseconds handshake_timeout{10'000};  // TLS handshake
    h2::Settings h2;  // client defaults (4 MiB / 16 MiB / 1 MiB, ping 10 s / 20 s)
  };

  Pool(asio::any_io_executor loop, Options options, Stats* stats);
  // Call on the pool's loop or after the loop has stopped.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Opens a CONNECT stream with |headers| to the key's destination and waits
  // for a 200. Errors: dial failures (kUnavailable, kTimeout,
  // kUnauthenticated for a wrong peer identity), and non-200 answers:
  // 400 -> kInvalidArgument, 401 -> kPermissionDenied, other -> kUnavailable.
  // A CONNECT the server refused unprocessed (REFUSED_STREAM) is sent again,
  // up to kConnectAttempts times. |on_submitted|, if set, runs right after
  // each attempt's HEADERS are queued and before its answer is awaited, with
  // no suspension in between: bytes it writes to the stream go out right
  // behind the HEADERS (early data, hbone/open_tunnel.h).
  // Arguments are taken by value: they live in the coroutine frame, so
  // callers may pass temporaries.
  using SubmittedHook = std::function<void(const std::shared_ptr<h2::Stream>&)>;
  asio::awaitable<Result<std::shared_ptr<h2::Stream>>> Connect(PoolKey key, DialParams dial,
                                                               h2::Headers headers,
                                                               SubmittedHook on_submitted = nullptr);

  // Connect in two steps, for sending early data (hbone/open_tunnel.h).
  // Submit returns as soon as the CONNECT HEADERS are queued on a pooled
  // connection (dialing one if needed): bytes written to the stream from then
  // on go out right behind the HEADERS (often in the same TLS write), before
  // the answer. Errors: dial failures as Connect's (counted as stream failures).
  asio::awaitable<Result<std::shared_ptr<h2::Stream>>> Submit(const PoolKey& key, const DialParams& dial,
                                                              const h2::Headers& headers);
  // Waits for the answer to a Submit()ted stream. Ok for a 200 (counted in
  // streams_opened; with max_streams_per_connection 1 the connection is told
  // to close after this stream). Otherwise the stream is reset (any early
  // data sent on it is dropped by the peer) and the error is Connect's. A
  // stream refused unprocessed (RefusedUnprocessed) is not counted as a
  // failure unless |final_attempt|: the caller may Submit it again.
  asio::awaitable<Status> AwaitConnected(const PoolKey& key, const std::shared_ptr<h2::Stream>& stream,
                                         bool final_attempt);
  // How many times Connect tries a CONNECT the server refused unprocessed.
  static constexpr int kConnectAttempts = 3;

  // The pooled connection a Connect for |key| would reuse right now (open,
  // below its stream limit), or null when it would have to dial or wait.
  // Does not reserve a stream. The same lookup as Connect's fast path; used by
  // the pool micro-benchmark (bench/micro/pool_bench.cc) and diagnostics.
  std::shared_ptr<h2::Session> FindReady(const PoolKey& key);

  // Open connections (all keys).
  std::size_t connection_count() const;
  // Closes every connection (GOAWAY) and stops the idle sweep.
  void Shutdown();

 private:
  struct Conn {
    std::shared_ptr<h2::Session> session;
    std::size_t reserved = 0;  // streams being opened right now
  };
  struct Dial;
  struct Entry {
    std::vector<std::shared_ptr<Conn>> conns;
    std::shared_ptr<Dial> dialing;
  };

  asio::awaitable<Result<std::shared_ptr<Conn>>> Acquire(const PoolKey& key, const DialParams& dial);
  asio::awaitable<Result<std::shared_ptr<h2::Session>>> DialNew(const PoolKey& key,
                                                                const DialParams& dial);
  std::shared_ptr<Conn> FindWithCapacity(Entry& entry);
  void Sweep();
  void ScheduleSweep();

  asio::any_io_executor loop_;
  Options options_;
  Stats* stats_;
  std::unordered_map<PoolKey, Entry, PoolKeyHash> entries_;
  asio::steady_timer sweep_timer_;
  // Expires with the pool, so a sweep already queued never touches a dead pool.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool shut_down_ = false;
};

// True when the server refused |stream| unprocessed (RST_STREAM
// REFUSED_STREAM before any answer, e.g. its GOAWAY crossed our request):
// nothing of it reached the destination, so it is safe to send again.
bool RefusedUnprocessed(const h2::Stream& stream);

// One Pool per worker loop of a WorkerPool. Local() must be called on a
// worker thread and returns that loop's pool.
class PoolSet {
 public:
  PoolSet(net::WorkerPool& workers, const Pool::Options& options, Stats* stats);
  Pool& Local();
  Pool& At(std::size_t loop) { return *pools_[loop]; }
  // Sum over loops; call from a loop or when the pool is stopped (reads are
  // unsynchronized otherwise).
  std::size_t size() const { return pools_.size(); }

 private:
  std::vector<std::unique_ptr<Pool>> pools_;
};

}  // namespace ambit::hbone
