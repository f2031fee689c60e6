#include "net/listener.h"

#include "core/log.h"

namespace ambit::net {

Result<std::shared_ptr<Listener>> Listener::Start(WorkerPool& pool, const SocketFactory& factory,
                                                  const SocketAddress& addr, const Options& options,
                                                  AcceptHandler on_accept) {
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, factory.NewListener(addr, options.listen));
  AMBIT_ASSIGN_OR_RETURN(SocketAddress local, LocalAddress(fd.get()));
  // Set once here: Linux copies TCP_NODELAY and the keepalive settings of a
  // listening socket to every connection it accepts, which saves five
  // setsockopt calls per accepted connection.
  AMBIT_RETURN_IF_ERROR(ApplyStreamOptions(fd.get(), options.keepalive));
  asio::io_context& loop = pool.loop(options.accept_loop % pool.size());
  asio::error_code ec;
  asio::ip::tcp::acceptor acceptor(loop);
  acceptor.assign(addr.family() == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(),
                  fd.get(), ec);
  if (ec) return Error(ErrorCode::kIo, "adopting listener " + local.ToString() + ": " + ec.message());
  fd.release();
  auto listener = std::make_shared<Listener>(pool, std::move(acceptor), local, options,
                                             std::move(on_accept));
  asio::post(loop, [listener] { listener->AcceptNext(); });
  return listener;
}

Listener::Listener(WorkerPool& pool, asio::ip::tcp::acceptor acceptor, SocketAddress local,
                   Options options, AcceptHandler on_accept)
    : pool_(pool),
      acceptor_(std::move(acceptor)),
      local_(local),
      options_(options),
      on_accept_(std::move(on_accept)) {}

void Listener::AcceptNext() {
  const std::size_t target = options_.placement == Placement::kLeastLoaded
                                 ? pool_.LeastLoadedIndex()
                                 : pool_.NextIndex();
  acceptor_.async_accept(
      pool_.loop(target),
      [self = shared_from_this(), target](asio::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
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
        self->AcceptNext();
      });
}

void Listener::Close() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    asio::error_code ec;
    self->acceptor_.close(ec);
  });
}

}  // namespace ambit::net
