#include "net/byte_stream.h"

#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>

#include "net/write_all.h"

namespace ambit::net {

asio::awaitable<Result<std::size_t>> TcpByteStream::ReadSome(MutableBytes out) {
  asio::error_code ec;
  const std::size_t n = co_await socket_.async_read_some(
      asio::buffer(out.data(), out.size()), asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::error::eof) co_return std::size_t{0};
  if (ec) co_return Error(ErrorCode::kIo, "tcp read: " + ec.message());
  co_return n;
}

asio::awaitable<Status> TcpByteStream::Write(std::span<const ConstBytes> pieces) {
  constexpr std::size_t kMaxIov = 64;
  std::array<asio::const_buffer, kMaxIov> iov;
  while (!pieces.empty()) {
    const std::size_t count = std::min(pieces.size(), kMaxIov);
    for (std::size_t i = 0; i < count; ++i) iov[i] = asio::buffer(pieces[i].data(), pieces[i].size());
    const asio::error_code ec = co_await WriteAll(socket_, std::span(iov.data(), count));
    if (ec) co_return Error(ErrorCode::kIo, "tcp write: " + ec.message());
    pieces = pieces.subspan(count);
  }
  co_return Ok();
}

asio::awaitable<void> TcpByteStream::ShutdownWrite() {
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  co_return;
}

void TcpByteStream::Close() {
  asio::error_code ec;
  socket_.close(ec);
}

}  // namespace ambit::net
