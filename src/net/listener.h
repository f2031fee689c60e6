// Listener: accepts TCP connections and spreads them across worker loops.
//
// One accept coroutine runs on the loop given at Start. Each accepted socket is
// re-homed to a loop chosen round-robin (WorkerPool::NextIndex, or the least
// loaded loop with Placement::kLeastLoaded), has TCP_NODELAY + keepalive
// (inherited from the listening socket, where they are set once), and is handed to |on_accept| on that loop, where it
// stays for life. Explicit spreading (not the kernel's) keeps a few long-lived
// connections from piling onto one loop.
//
// Thread-safety: Close() and local_address() are safe from any thread. The
// listener is kept alive by its accept coroutine until closed.
#pragma once

#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>

#include "core/result.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"
#include "net/worker_pool.h"

namespace ambit::net {

// Runs on the loop that now owns |socket|.
using AcceptHandler = std::function<void(asio::ip::tcp::socket socket)>;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  enum class Placement {
    kRoundRobin,   // WorkerPool::NextIndex
    kLeastLoaded,  // WorkerPool::LeastLoadedIndex (for long-lived multiplexed connections)
  };
  struct Options {
    ListenOptions listen;
    KeepaliveConfig keepalive;
    std::size_t accept_loop = 0;  // loop that runs accept()
    Placement placement = Placement::kRoundRobin;
  };

  // Binds |addr| (port 0 picks one) through |factory| and starts accepting.
  static Result<std::shared_ptr<Listener>> Start(WorkerPool& pool, const SocketFactory& factory,
                                                 const SocketAddress& addr, const Options& options,
                                                 AcceptHandler on_accept);

  const SocketAddress& local_address() const { return local_; }
  // Stops accepting (asynchronously, on the accept loop). Accepted
  // connections are not affected.
  void Close();

  Listener(WorkerPool& pool, asio::ip::tcp::acceptor acceptor, SocketAddress local,
           Options options, AcceptHandler on_accept);

 private:
  void AcceptNext();

  WorkerPool& pool_;
  asio::ip::tcp::acceptor acceptor_;
  SocketAddress local_;
  Options options_;
  AcceptHandler on_accept_;
};

}  // namespace ambit::net
