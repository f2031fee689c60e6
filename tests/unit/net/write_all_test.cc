#include "net/write_all.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cstdint>
#include <vector>

namespace ambit::net {
namespace {

using asio::ip::tcp;

// A connected loopback pair with small kernel buffers, so that large writes
// are cut short by the kernel and must finish through the reactor.
struct Pair {
  explicit Pair(asio::io_context& io) : writer(io), reader(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer.open(tcp::v4());
    const int small = 16 * 1024;
    ::setsockopt(writer.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    writer.connect(acceptor.local_endpoint());
    writer.set_option(tcp::no_delay(true));
    reader = acceptor.accept();
  }
  tcp::socket writer;
  tcp::socket reader;
};

std::vector<std::uint8_t> Pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    out[i] = static_cast<std::uint8_t>(seed >> 24);
  }
  return out;
}

// Reads everything until EOF, after a pause that lets the writer fill the
// kernel buffers first (partial sends, then EAGAIN).
asio::awaitable<void> SlowDrain(tcp::socket& socket, std::vector<std::uint8_t>& got) {
  asio::steady_timer pause(socket.get_executor(), std::chrono::milliseconds(50));
  co_await pause.async_wait(asio::use_awaitable);
  std::uint8_t buf[16 * 1024];
  for (;;) {
    asio::error_code ec;
    const std::size_t n =
        co_await socket.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    got.insert(got.end(), buf, buf + n);
    if (ec) break;
  }
}

TEST(WriteAll, GatheredPiecesArriveByteExactThroughPartialSends) {
  asio::io_context io(1);
  Pair pair(io);
  const auto data = Pattern(1024 * 1024 + 17, 7);
  // 100 pieces of uneven sizes (more than the 64 one sendmsg takes), some empty.
  std::vector<asio::const_buffer> pieces;
  std::size_t offset = 0;
  for (int i = 0; offset < data.size(); ++i) {
    const std::size_t want = i % 10 == 3 ? 0 : static_cast<std::size_t>(1 + (i * 7919) % 20000);
    const std::size_t n = std::min(want, data.size() - offset);
    pieces.emplace_back(data.data() + offset, n);
    offset += n;
  }
  ASSERT_GT(pieces.size(), 64u);
  std::vector<std::uint8_t> got;
  asio::error_code result = asio::error::fault;
  asio::co_spawn(io, SlowDrain(pair.reader, got), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await WriteAll(pair.writer, std::span(pieces));
        pair.writer.shutdown(tcp::socket::shutdown_send);
      },
      asio::detached);
  io.run();
  EXPECT_FALSE(result) << result.message();
  EXPECT_TRUE(pair.writer.non_blocking());
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST(WriteAll, SingleBufferLargerThanTheSocketBuffer) {
  asio::io_context io(1);
  Pair pair(io);
  const auto data = Pattern(512 * 1024, 11);
  std::vector<std::uint8_t> got;
  asio::error_code result = asio::error::fault;
  asio::co_spawn(io, SlowDrain(pair.reader, got), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Two writes in a row, from a temporary buffer object each time.
        result = co_await WriteAll(pair.writer, asio::buffer(data.data(), data.size() / 2));
        if (!result) {
          result = co_await WriteAll(pair.writer,
                                     asio::buffer(data.data() + data.size() / 2, data.size() - data.size() / 2));
        }
        pair.writer.shutdown(tcp::socket::shutdown_send);
      },
      asio::detached);
  io.run();
  EXPECT_FALSE(result) << result.message();
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST(WriteAll, ReportsTheErrorWhenThePeerIsGone) {
  asio::io_context io(1);
  Pair pair(io);
  linger l{1, 0};
  ::setsockopt(pair.reader.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  pair.reader.close();  // RST
  const auto data = Pattern(512 * 1024, 3);
  asio::error_code result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // The first write may still be accepted; the connection reset shows by the second.
        for (int i = 0; i < 4 && !result; ++i) result = co_await WriteAll(pair.writer, asio::buffer(data));
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(result);
}

}  // namespace
}  // namespace ambit::net
