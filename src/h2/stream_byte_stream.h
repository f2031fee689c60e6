// StreamByteStream: one HTTP/2 stream seen as a net::ByteStream, so that a
// byte-stream protocol can run inside it: an HTTP/2 session (h2c) or an
// HTTP/1.1 exchange carried by an HBONE tunnel
// (https://istio.io/latest/docs/ambient/architecture/hbone/), which is what a
// waypoint terminating HBONE parses.
//
// Mapping: ReadSome takes the stream's DATA (returning flow-control window to
// the peer as it is consumed) and returns 0 at END_STREAM; Write queues DATA
// and suspends while the stream's send buffer is full (Settings::
// stream_send_buffer), so it returns once the bytes are queued for the HTTP/2
// writer, not handed to the kernel; ShutdownWrite sends END_STREAM (the
// tunnel's half-close); Close resets the stream with CANCEL. A stream reset
// by either side, or its session ending, fails ReadSome and Write with
// kUnavailable naming the RST_STREAM code.
//
// Threading: lives on its session's loop (get_executor()); the ByteStream
// rule holds: at most one reader and one writer coroutine at a time.
#pragma once

#include <memory>

#include "h2/stream.h"
#include "net/byte_stream.h"

namespace ambit::h2 {

class StreamByteStream final : public net::ByteStream {
 public:
  explicit StreamByteStream(std::shared_ptr<Stream> stream);
  // Before ShutdownWrite, resets the stream (a byte stream dropped mid-way
  // aborts, as closing a TCP socket without shutdown would); after it, the
  // queued bytes and END_STREAM still go out and the stream ends when the
  // peer's side does (a graceful close).
  ~StreamByteStream() override;

  asio::awaitable<Result<std::size_t>> ReadSome(net::MutableBytes out) override;
  asio::awaitable<Status> Write(std::span<const net::ConstBytes> pieces) override;
  asio::awaitable<void> ShutdownWrite() override;
  void Close() override;
  asio::any_io_executor get_executor() override;

  Stream& stream() { return *stream_; }

 private:
  Error ResetError() const;

  std::shared_ptr<Stream> stream_;
  bool send_closed_ = false;
};

}  // namespace ambit::h2
