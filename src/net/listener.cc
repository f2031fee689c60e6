#include "net/listener.h"

#include "core/log.h"
#include "core/unique_fd.h"

namespace ambit::net {

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
  auto listener = std::make_shared<Listener>(pool, local, options, std::move(on_accept));
  for (auto& [fd, loop] : fds) {
    asio::error_code ec;
    asio::ip::tcp::acceptor acceptor(pool.loop(loop));
    acceptor.assign(addr.family() == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd.get(),
                    ec);
    if (ec) {
      return Error(ErrorCode::kIo, "adopting listener " + local.ToString() + ": " + ec.message());
    }
    fd.release();
    listener->acceptors_.push_back(Acceptor{std::move(acceptor), loop});
  }
  for (std::size_t i = 0; i < listener->acceptors_.size(); ++i) {
    pool.Post(listener->acceptors_[i].loop, [listener, i] { listener->AcceptNext(i); });
  }
  return listener;
}

Listener::Listener(WorkerPool& pool, SocketAddress local, Options options, AcceptHandler on_accept)
    : pool_(pool), local_(local), options_(options), on_accept_(std::move(on_accept)) {}

void Listener::AcceptNext(std::size_t which) {
  if (options_.per_worker || options_.placement == Placement::kAcceptingLoop) {
    AcceptOnOwnLoop(which);
    return;
  }
  const std::size_t target = options_.placement == Placement::kLeastLoaded
                                 ? pool_.LeastLoadedIndex()
                                 : pool_.NextIndex();
  Acceptor& a = acceptors_[which];
  a.acceptor.async_accept(
      pool_.loop(target),
      [self = shared_from_this(), which, target](asio::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptors_[which].acceptor.is_open()) return;
        if (ec) {
          // EMFILE and friends: log and keep accepting; the kernel queue holds the rest.
          AMBIT_LOG_WARN("accept on {} failed: {}", self->local_.ToString(), ec.message());
        } else {
          // Least-loaded placement counts the socket from here until its
          // handler has run (the handler takes its own hold for the
          // connection's life), so the next accept sees it.
          LoadHold in_flight;
          if (self->options_.placement == Placement::kLeastLoaded) in_flight = LoadHold(&self->pool_, target);
          self->pool_.Post(target, [self, s = std::move(socket), hold = std::move(in_flight)]() mutable {
            self->on_accept_(std::move(s));
          });
        }
        self->AcceptNext(which);
      });
}

void Listener::AcceptOnOwnLoop(std::size_t which) {
  Acceptor& a = acceptors_[which];
  a.acceptor.async_accept([self = shared_from_this(), which](asio::error_code ec,
                                                             asio::ip::tcp::socket socket) {
    Acceptor& own = self->acceptors_[which];
    if (ec == asio::error::operation_aborted || !own.acceptor.is_open()) return;
    if (ec) {
      AMBIT_LOG_WARN("accept on {} failed: {}", self->local_.ToString(), ec.message());
    } else if (self->options_.placement == Placement::kLeastLoaded) {
      // Stay unless another loop is strictly less loaded (ties keep it here).
      std::size_t target = own.loop;
      std::int64_t least = self->pool_.Load(own.loop);
      for (std::size_t i = 0; i < self->pool_.size(); ++i) {
        const std::int64_t load = self->pool_.Load(i);
        if (load < least) {
          least = load;
          target = i;
        }
      }
      if (target == own.loop) {
        self->on_accept_(std::move(socket));  // takes its hold before the next accept
      } else {
        self->HandOff(own.loop, target, std::move(socket));
      }
    } else {
      self->on_accept_(std::move(socket));  // served on this loop
    }
    self->AcceptNext(which);
  });
}

void Listener::HandOff(std::size_t from, std::size_t target, asio::ip::tcp::socket socket) {
  // The socket was made on loop |from|'s context; its descriptor moves to
  // |target|'s. Counted in |target|'s load until the handler has run.
  asio::error_code ec;
  const bool v4 = socket.local_endpoint(ec).protocol() == asio::ip::tcp::v4();
  UniqueFd fd(socket.release(ec));
  if (ec) {
    AMBIT_LOG_WARN("accept on {}: moving a connection from loop {} to {}: {}", local_.ToString(),
                   from, target, ec.message());
    return;
  }
  pool_.Post(target, [self = shared_from_this(), fd = std::move(fd), v4, target,
                      hold = LoadHold(&pool_, target)]() mutable {
    asio::ip::tcp::socket moved(self->pool_.loop(target));
    asio::error_code assign_ec;
    moved.assign(v4 ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd.get(), assign_ec);
    if (assign_ec) {
      AMBIT_LOG_WARN("accept on {}: adopting a connection on loop {}: {}", self->local_.ToString(),
                     target, assign_ec.message());
      return;  // |fd| closes the connection
    }
    fd.release();
    self->on_accept_(std::move(moved));
  });
}

void Listener::Close() {
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    pool_.Post(acceptors_[i].loop, [self = shared_from_this(), i] {
      asio::error_code ec;
      self->acceptors_[i].acceptor.close(ec);
    });
  }
}

}  // namespace ambit::net
