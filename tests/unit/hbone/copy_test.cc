// The copy loop between a TCP socket and an HTTP/2 stream (plain TCP under
// HTTP/2 here; TLS does not change the loop): bytes both ways, half-close,
// and the memory policy that an idle tunneled connection holds no buffer.
#include "hbone/copy.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "h2/session.h"

namespace ambit::hbone {
namespace {

using asio::ip::tcp;

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  asio::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Everything readable on |stream| now, consumed.
std::string Drain(h2::Stream& stream) {
  std::array<std::span<const std::uint8_t>, 16> views;
  const std::size_t n = stream.Gather(views, 1 << 20);
  std::string out;
  std::size_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    out.append(reinterpret_cast<const char*>(views[i].data()), views[i].size());
    total += views[i].size();
  }
  stream.Consume(total);
  return out;
}

asio::awaitable<std::string> ReadExactly(tcp::socket& s, std::size_t n) {
  std::string out(n, '\0');
  co_await asio::async_read(s, asio::buffer(out), asio::use_awaitable);
  co_return out;
}

TEST(CopyBidirectional, IdleTunneledConnectionHoldsNoBuffer) {
  asio::io_context io;
  const auto loopback = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  tcp::acceptor h2_acceptor(io, loopback);
  tcp::acceptor app_acceptor(io, loopback);
  std::shared_ptr<h2::Session> server;
  std::shared_ptr<h2::Stream> server_stream;  // the far end of the tunnel
  bool done = false;
  std::size_t client_blocks_idle = 99, server_blocks_idle = 99;
  CopyResult copy_result;

  auto on_request = [&](std::shared_ptr<h2::Stream> s) {
    (void)s->session().Respond(*s, 200, {}, false);
    server_stream = std::move(s);
  };
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    tcp::socket s = co_await h2_acceptor.async_accept(asio::use_awaitable);
    server = h2::Session::Create(h2::Role::kServer, std::make_unique<net::TcpByteStream>(std::move(s)), {},
                                 on_request).value();
    server->Start();
  }, asio::detached);

  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    // The app's connection: |app| is the app's end, |proxied| the proxy's.
    tcp::socket app(io);
    co_await app.async_connect(app_acceptor.local_endpoint(), asio::use_awaitable);
    tcp::socket proxied = co_await app_acceptor.async_accept(asio::use_awaitable);

    tcp::socket h2_socket(io);
    co_await h2_socket.async_connect(h2_acceptor.local_endpoint(), asio::use_awaitable);
    auto client = h2::Session::Create(h2::Role::kClient, std::make_unique<net::TcpByteStream>(std::move(h2_socket)),
                                      {}).value();
    client->Start();
    const h2::Headers request = {{":method", "CONNECT"}, {":authority", "10.0.0.1:80"}};
    auto stream = (co_await client->OpenStream(request)).value();
    bool copy_done = false;
    asio::co_spawn(io, [&, stream]() -> asio::awaitable<void> {
      copy_result = co_await CopyBidirectional(proxied, *stream);
      copy_done = true;
    }, asio::detached);

    // One exchange each way, so both queues have held data once.
    co_await asio::async_write(app, asio::buffer(std::string("hello")), asio::use_awaitable);
    std::string got;
    for (int i = 0; i < 200 && got.size() < 5; ++i) {
      co_await Sleep(std::chrono::milliseconds(5));
      if (server_stream) got += Drain(*server_stream);
    }
    EXPECT_EQ(got, std::string("hello"));
    server_stream->Write({reinterpret_cast<const std::uint8_t*>("world!"), 6});
    const std::string back = co_await ReadExactly(app, 6);
    EXPECT_EQ(back, std::string("world!"));

    // Idle now: neither end of the tunnel may keep a buffer block.
    co_await Sleep(std::chrono::milliseconds(50));
    client_blocks_idle = stream->buffer_blocks();
    server_blocks_idle = server_stream->buffer_blocks();

    // Still works after idling; then the app half-closes and the far end ends.
    co_await asio::async_write(app, asio::buffer(std::string("again")), asio::use_awaitable);
    got.clear();
    for (int i = 0; i < 200 && got.size() < 5; ++i) {
      co_await Sleep(std::chrono::milliseconds(5));
      got += Drain(*server_stream);
    }
    EXPECT_EQ(got, std::string("again"));
    app.shutdown(tcp::socket::shutdown_send);
    server_stream->CloseSend();
    for (int i = 0; i < 200 && !copy_done; ++i) co_await Sleep(std::chrono::milliseconds(5));
    EXPECT_TRUE(copy_done);
    client->Terminate("test over");
    if (server) server->Terminate("test over");
    done = true;
  }, asio::detached);

  io.run_for(std::chrono::seconds(30));
  ASSERT_TRUE(done);
  EXPECT_EQ(client_blocks_idle, 0u) << "the proxy's stream keeps a buffer while idle";
  EXPECT_EQ(server_blocks_idle, 0u) << "the far end's stream keeps a buffer while idle";
  EXPECT_EQ(copy_result.socket_to_peer, 10u);
  EXPECT_EQ(copy_result.peer_to_socket, 6u);
  EXPECT_FALSE(copy_result.aborted);
}

}  // namespace
}  // namespace ambit::hbone
