#include "net/connect.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstring>
#include <memory>

namespace ambit::net {

asio::awaitable<Result<asio::ip::tcp::socket>> Connect(const SocketFactory& factory,
                                                       SocketAddress destination,
                                                       ConnectOptions options) {
  auto executor = co_await asio::this_coro::executor;
  // The context of an error, formatted only when one is returned (not on
  // the path every connection takes).
  const auto where = [&destination] { return "connecting to " + destination.ToString(); };
  auto fd = factory.NewTcpSocket(destination.family());
  if (!fd.ok()) co_return std::move(fd).error().WithContext(where());
  if (options.source) {
    const int family = destination.family();
    if (options.source->family() != family) {
      co_return Error(ErrorCode::kInvalidArgument,
                      "source " + options.source->ToString() + " and destination differ in family")
          .WithContext(where());
    }
    Status st = SetTransparent(fd->get(), family);
    if (st.ok()) st = SetFreebind(fd->get(), family);
    if (!st.ok()) co_return std::move(st).error().WithContext(where());
    sockaddr_storage ss;
    const socklen_t len = SocketAddress(*options.source, 0).ToSockaddr(&ss);
    if (::bind(fd->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      co_return ErrnoError("binding spoofed source " + options.source->ToString(), errno)
          .WithContext(where());
    }
  }
  asio::error_code ec;
  asio::ip::tcp::socket socket(executor);
  socket.assign(destination.family() == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(),
                fd->get(), ec);
  if (ec) co_return Error(ErrorCode::kIo, "adopting socket: " + ec.message()).WithContext(where());
  fd->release();

  asio::ip::tcp::endpoint endpoint;
  sockaddr_storage ss;
  const socklen_t len = destination.ToSockaddr(&ss);
  std::memcpy(endpoint.data(), &ss, len);
  endpoint.resize(len);

  // The timer cancels the connect; |state| outlives both so a late timer
  // callback never touches a destroyed socket.
  struct State {
    bool done = false;
    bool timed_out = false;
  };
  auto state = std::make_shared<State>();
  asio::steady_timer timer(executor, options.timeout);
  timer.async_wait([state, &socket](asio::error_code timer_ec) {
    if (timer_ec || state->done) return;
    state->timed_out = true;
    asio::error_code ignored;
    socket.cancel(ignored);
  });
  co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  state->done = true;
  timer.cancel();
  if (state->timed_out) {
    co_return Error(ErrorCode::kTimeout, "no answer within " +
                                             std::to_string(options.timeout.count()) + " ms")
        .WithContext(where());
  }
  if (ec) co_return Error(ErrorCode::kUnavailable, ec.message()).WithContext(where());
  // Waiting for the connect registered the socket with epoll for EPOLLOUT,
  // and asio keeps that for the socket's life: each later readiness wait
  // (async_wait re-arms with EPOLL_CTL_MOD) would then report the writable
  // socket at once, one spurious wake-up per received message. Registering
  // the socket afresh (once per connection) leaves it registered for input
  // only, like an accepted socket; a write that must wait adds EPOLLOUT again.
  const auto protocol = endpoint.protocol();
  const int native = socket.release(ec);
  if (!ec) socket.assign(protocol, native, ec);
  if (ec) co_return Error(ErrorCode::kIo, "re-registering connected socket: " + ec.message()).WithContext(where());
  Status st = ApplyStreamOptions(socket.native_handle(), options.keepalive);
  if (!st.ok()) co_return std::move(st).error().WithContext(where());
  co_return std::move(socket);
}

}  // namespace ambit::net
