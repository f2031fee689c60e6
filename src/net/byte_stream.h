// ByteStream: a full-duplex, ordered byte transport as seen by the HTTP/2
// layer: plain TCP, TLS over TCP, or one HTTP/2 stream (h2::StreamByteStream,
// so an HTTP/2 session can run inside an HBONE tunnel).
//
// Threading: bound to one event loop. At most one ReadSome and one Write may
// be outstanding at a time (one reader coroutine, one writer coroutine).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"

namespace ambit::net {

using ConstBytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Reads at least one byte into |out|; 0 means the peer finished sending
  // (clean EOF). Errors are kIo/kProtocol/kCrypto with context.
  virtual asio::awaitable<Result<std::size_t>> ReadSome(MutableBytes out) = 0;
  // Sends every byte of |pieces|, in order (gathered; pieces need not be
  // contiguous). Returns once the bytes are handed to the kernel.
  virtual asio::awaitable<Status> Write(std::span<const ConstBytes> pieces) = 0;
  // Finishes the sending direction (TLS close_notify, then TCP FIN).
  virtual asio::awaitable<void> ShutdownWrite() = 0;
  // Closes the socket at once; pending operations fail.
  virtual void Close() = 0;

  // The executor (event loop) every operation of this stream runs on.
  virtual asio::any_io_executor get_executor() = 0;
};

// ByteStream over a plain TCP socket (writev for gathered writes).
class TcpByteStream final : public ByteStream {
 public:
  explicit TcpByteStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<Result<std::size_t>> ReadSome(MutableBytes out) override;
  asio::awaitable<Status> Write(std::span<const ConstBytes> pieces) override;
  asio::awaitable<void> ShutdownWrite() override;
  void Close() override;
  asio::any_io_executor get_executor() override { return socket_.get_executor(); }
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace ambit::net
