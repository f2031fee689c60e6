#include "net/listener.h"

#include "core/log.h"
#include "core/unique_fd.h"

namespace ambit::net {

// One listening socket and its accept chain, on one loop. Each pending
// accept holds this object (its own socket) and the shared handler state,
// nothing of another loop.
class Listener::Acceptor : public std::enable_shared_from_this<Listener::Acceptor> {
 public:
  Acceptor(std::shared_ptr<const Shared> shared, asio::ip::tcp::acceptor acceptor, std::size_t loop)
      : shared_(std::move(shared)), acceptor_(std::move(acceptor)), loop_(loop) {}

  std::size_t loop() const { return loop_; }

  // On loop_.
  void AcceptNext() {
    if (shared_->options.per_worker || shared_->options.placement == Placement::kAcceptingLoop) {
      AcceptOnOwnLoop();
    } else {
      AcceptAndPlace();
    }
  }

  // On loop_.
  void Close() {
    asio::error_code ec;
    acceptor_.close(ec);
  }

 private:
  // One socket for the pool: each accepted socket is made on the loop chosen
  // for it and handed to on_accept there.
  void AcceptAndPlace() {
    WorkerPool& pool = shared_->pool;
    const std::size_t target = shared_->options.placement == Placement::kLeastLoaded
                                   ? pool.LeastLoadedIndex()
                                   : pool.NextIndex();
    acceptor_.async_accept(
        pool.loop(target),
        [self = shared_from_this(), target](asio::error_code ec, asio::ip::tcp::socket socket) {
          if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
          const Shared& shared = *self->shared_;
          if (ec) {
            // EMFILE and friends: log and keep accepting; the kernel queue holds the rest.
            AMBIT_LOG_WARN("accept on {} failed: {}", shared.local.ToString(), ec.message());
          } else {
            // Least-loaded placement counts the socket from here until its
            // handler has run (the handler takes its own hold for the
            // connection's life), so the next accept sees it.
            LoadHold in_flight;
            if (shared.options.placement == Placement::kLeastLoaded) {
              in_flight = LoadHold(&shared.pool, target);
            }
            shared.pool.Post(target, [state = self->shared_, s = std::move(socket),
                                      hold = std::move(in_flight)]() mutable {
              state->on_accept(std::move(s));
            });
          }
          self->AcceptNext();
        });
  }

  // One socket per loop: served where accepted, unless least-loaded
  // placement finds a strictly less loaded loop.
  void AcceptOnOwnLoop() {
    acceptor_.async_accept([self = shared_from_this()](asio::error_code ec,
                                                       asio::ip::tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      const Shared& shared = *self->shared_;
      if (ec) {
        AMBIT_LOG_WARN("accept on {} failed: {}", shared.local.ToString(), ec.message());
      } else if (shared.options.placement == Placement::kLeastLoaded) {
        // Stay unless another loop is strictly less loaded (ties keep it here).
        std::size_t target = self->loop_;
        std::int64_t least = shared.pool.Load(self->loop_);
        for (std::size_t i = 0; i < shared.pool.size(); ++i) {
          const std::int64_t load = shared.pool.Load(i);
          if (load < least) {
            least = load;
            target = i;
          }
        }
        if (target == self->loop_) {
          shared.on_accept(std::move(socket));  // takes its hold before the next accept
        } else {
          HandOff(self->shared_, self->loop_, target, std::move(socket));
        }
      } else {
        shared.on_accept(std::move(socket));  // served on this loop
      }
      self->AcceptNext();
    });
  }

  // Runs on_accept for |socket| (accepted on loop |from|) on loop |target|.
  // The message carries the descriptor and the shared state, not this
  // acceptor; it is counted in |target|'s load until the handler has run.
  static void HandOff(const std::shared_ptr<const Shared>& shared, std::size_t from,
                      std::size_t target, asio::ip::tcp::socket socket) {
    asio::error_code ec;
    const bool v4 = socket.local_endpoint(ec).protocol() == asio::ip::tcp::v4();
    UniqueFd fd(socket.release(ec));
    if (ec) {
      AMBIT_LOG_WARN("accept on {}: moving a connection from loop {} to {}: {}",
                     shared->local.ToString(), from, target, ec.message());
      return;
    }
    WorkerPool& pool = shared->pool;
    pool.Post(target, [shared, fd = std::move(fd), v4, target,
                       hold = LoadHold(&pool, target)]() mutable {
      asio::ip::tcp::socket moved(shared->pool.loop(target));
      asio::error_code assign_ec;
      moved.assign(v4 ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd.get(), assign_ec);
      if (assign_ec) {
        AMBIT_LOG_WARN("accept on {}: adopting a connection on loop {}: {}",
                       shared->local.ToString(), target, assign_ec.message());
        return;  // |fd| closes the connection
      }
      fd.release();
      shared->on_accept(std::move(moved));
    });
  }

  const std::shared_ptr<const Shared> shared_;
  asio::ip::tcp::acceptor acceptor_;
  const std::size_t loop_;
};

Result<std::shared_ptr<Listener>> Listener::Start(WorkerPool& pool, const SocketFactory& factory,
                                                  const SocketAddress& addr, const Options& options,
                                                  AcceptHandler on_accept) {
  if (options.per_worker && !options.listen.reuse_port) {
    return Error(ErrorCode::kInvalidArgument,
                 "listener " + addr.ToString() + ": one socket per worker needs SO_REUSEPORT");
  }
  const std::size_t count = options.per_worker ? pool.size() : 1;
  std::vector<std::pair<UniqueFd, std::size_t>> fds;  // socket, loop
  SocketAddress local = addr;
  for (std::size_t i = 0; i < count; ++i) {
    // The first bind resolves port 0; the others join its SO_REUSEPORT group.
    AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, factory.NewListener(local, options.listen));
    if (i == 0) {
      AMBIT_ASSIGN_OR_RETURN(local, LocalAddress(fd.get()));
    }
    // Set once here: Linux copies TCP_NODELAY and the keepalive settings of a
    // listening socket to every connection it accepts, which saves five
    // setsockopt calls per accepted connection.
    AMBIT_RETURN_IF_ERROR(ApplyStreamOptions(fd.get(), options.keepalive));
    fds.emplace_back(std::move(fd), options.per_worker ? i : options.accept_loop % pool.size());
  }
  auto shared = std::make_shared<const Shared>(Shared{pool, local, options, std::move(on_accept)});
  auto listener = std::make_shared<Listener>(shared);
  for (auto& [fd, loop] : fds) {
    asio::error_code ec;
    asio::ip::tcp::acceptor acceptor(pool.loop(loop));
    acceptor.assign(addr.family() == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd.get(),
                    ec);
    if (ec) {
      return Error(ErrorCode::kIo, "adopting listener " + local.ToString() + ": " + ec.message());
    }
    fd.release();
    listener->acceptors_.push_back(std::make_shared<Acceptor>(shared, std::move(acceptor), loop));
  }
  for (const std::shared_ptr<Acceptor>& acceptor : listener->acceptors_) {
    pool.Post(acceptor->loop(), [acceptor] { acceptor->AcceptNext(); });
  }
  return listener;
}

Listener::Listener(std::shared_ptr<const Shared> shared) : shared_(std::move(shared)) {}

void Listener::Close() {
  for (const std::shared_ptr<Acceptor>& acceptor : acceptors_) {
    shared_->pool.Post(acceptor->loop(), [acceptor] { acceptor->Close(); });
  }
}

}  // namespace ambit::net
