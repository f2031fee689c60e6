#include "net/write_all.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace ambit::net {

asio::awaitable<asio::error_code> WriteAll(asio::ip::tcp::socket& socket,
                                           std::span<asio::const_buffer> buffers) {
  asio::error_code ec;
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);
    if (ec) co_return ec;
  }
  // One direct sendmsg (asio caps a sync send at 64 pieces; the rest, if
  // any, goes through async_write below like a short send).
  std::size_t n = socket.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again ||
      ec == asio::error::interrupted) {
    ec = {};
    n = 0;
  }
  if (ec) co_return ec;
  while (!buffers.empty() && n >= buffers.front().size()) {
    n -= buffers.front().size();
    buffers = buffers.subspan(1);
  }
  if (!buffers.empty()) buffers.front() += n;
  if (buffers.empty()) co_return ec;
  co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

asio::awaitable<asio::error_code> WriteAll(asio::ip::tcp::socket& socket, asio::const_buffer buffer) {
  // A coroutine itself, so |buffer| lives in this frame while the other runs.
  co_return co_await WriteAll(socket, std::span<asio::const_buffer>(&buffer, 1));
}

}  // namespace ambit::net
