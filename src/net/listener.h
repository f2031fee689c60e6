// Listener: accepts TCP connections on one address and hands each to a
// worker loop, where it stays for life.
//
// Two shapes (Options::per_worker):
//  - One acceptor (default): one listening socket whose accept coroutine runs
//    on the loop given as accept_loop. Each accepted socket is re-homed to a
//    loop chosen round-robin (WorkerPool::NextIndex) or by load
//    (Placement::kLeastLoaded) and handed to |on_accept| there: a cross-loop
//    message per connection, but an even spread whatever the kernel does.
//  - Per worker (as Envoy's and nginx's workers): one listening socket per
//    worker loop, all bound to the same address with SO_REUSEPORT, each
//    accepted on its own loop. The kernel spreads new connections over the
//    sockets (a hash of the 4-tuple), and a connection is served on the loop
//    whose socket accepted it (Placement::kAcceptingLoop): no hand-off.
//    With Placement::kLeastLoaded a connection stays on the accepting loop
//    unless another loop holds strictly less load, and only then is handed
//    over (for few, long-lived multiplexed connections such as inbound HBONE,
//    where a hash collision would leave a loop idle).
// Accepted sockets have TCP_NODELAY + keepalive, inherited from the
// listening sockets, where they are set once.
//
// Memory: each extra listening socket costs one kernel TCP socket in LISTEN
// state plus its file and an epoll registration (a few KiB, measured in
// bench/notes.md), so per_worker multiplies that by the number of loops.
//
// Lifetime: each listening socket is kept open by its own pending accept,
// which holds that socket (and the shared, immutable handler state) only,
// never the sockets of other loops: when the pool stops, whichever loop is
// torn down first destroys only what belongs to it. Destroy the Listener
// (the caller's handle) before its WorkerPool.
//
// Thread-safety: Close() and local_address() are safe from any thread.
#pragma once

#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "core/result.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"
#include "net/worker_pool.h"

namespace ambit::net {

// Runs on the loop that now owns |socket|.
using AcceptHandler = std::function<void(asio::ip::tcp::socket socket)>;

class Listener {
 public:
  enum class Placement {
    kRoundRobin,     // WorkerPool::NextIndex (one acceptor; with per_worker: as kAcceptingLoop)
    kLeastLoaded,    // WorkerPool::LeastLoadedIndex (for long-lived multiplexed connections)
    kAcceptingLoop,  // the loop whose socket accepted it (per_worker; one acceptor: accept_loop)
  };
  struct Options {
    ListenOptions listen;
    KeepaliveConfig keepalive;
    std::size_t accept_loop = 0;  // loop that runs accept() (one acceptor only)
    Placement placement = Placement::kRoundRobin;
    // One SO_REUSEPORT listening socket per worker loop (needs listen.reuse_port).
    bool per_worker = false;
  };

  // Binds |addr| (port 0 picks one; every per-worker socket then binds the
  // port the first one got) through |factory| and starts accepting. On error
  // every socket opened so far is closed.
  static Result<std::shared_ptr<Listener>> Start(WorkerPool& pool, const SocketFactory& factory,
                                                 const SocketAddress& addr, const Options& options,
                                                 AcceptHandler on_accept);

  const SocketAddress& local_address() const { return shared_->local; }
  // Listening sockets (1, or one per worker loop with per_worker).
  std::size_t socket_count() const { return acceptors_.size(); }
  // Stops accepting: each listening socket is closed on its own loop
  // (asynchronously). Accepted connections are not affected.
  void Close();

  // What every listening socket's accepts share; immutable after Start.
  struct Shared {
    WorkerPool& pool;
    SocketAddress local;
    Options options;
    AcceptHandler on_accept;
  };
  explicit Listener(std::shared_ptr<const Shared> shared);

 private:
  class Acceptor;  // one listening socket and its accepts (listener.cc)

  std::shared_ptr<const Shared> shared_;
  std::vector<std::shared_ptr<Acceptor>> acceptors_;  // fixed after Start
};

}  // namespace ambit::net
