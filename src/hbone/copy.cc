#include "hbone/copy.h"

#include <sys/socket.h>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <memory>
#include <vector>

#include "net/task_group.h"
#include "net/write_all.h"

namespace ambit::hbone {
namespace {

constexpr std::size_t kMaxGatherBytes = 1024 * 1024;

void Count(Counter* c, std::size_t n) {
  if (c != nullptr) c->Add(n);
}

// Reads straight into the stream's send queue, but only bytes that are
// already there: when the socket has nothing, the block is given back and the
// loop waits for readability holding no buffer (an idle connection costs no
// buffer memory). A read that returned less than asked drained the socket, so
// the next step is the reactor wait, not a read that would fail with EAGAIN
// (the wait re-arms epoll and reports data that arrived in between).
asio::awaitable<void> SocketToStream(asio::ip::tcp::socket& socket, h2::Stream& stream,
                                     CopyResult& result, Counter* counter) {
  asio::error_code ec;
  bool drained = false;
  for (;;) {
    co_await stream.WaitWritable();
    if (stream.reset() || stream.closed()) break;
    if (drained) {
      drained = false;
      co_await socket.async_wait(asio::ip::tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {  // closed under us (the other direction aborted) or failed
        if (!stream.reset()) {
          result.aborted = true;
          stream.Reset(h2::ErrorCodeH2::kCancel);
        }
        break;
      }
      continue;  // the stream may have changed while waiting
    }
    auto space = stream.Prepare(AdaptiveReadSize(result.socket_to_peer));
    const std::size_t n = socket.read_some(asio::buffer(space.data(), space.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::interrupted) {
      stream.Commit(0);
      drained = true;
      continue;
    }
    if (ec == asio::error::eof) {
      stream.Commit(0);
      stream.CloseSend();
      break;
    }
    if (ec) {
      stream.Commit(0);
      result.aborted = true;
      stream.Reset(h2::ErrorCodeH2::kCancel);
      break;
    }
    drained = n < space.size();
    result.socket_to_peer += n;
    Count(counter, n);
    co_await stream.CommitAndFlush(n);  // sends now unless a write is in progress
  }
}

// Stream DATA straight from the HTTP/2 reader to the socket (one non-blocking
// send, no copy into the queue, no wake-up of StreamToSocket) while the
// stream's queue is empty and the socket takes the bytes; whatever the kernel
// does not take is queued and written by StreamToSocket, which also reports
// errors (a failed send here just leaves the bytes to it).
class SocketSink final : public h2::DataSink {
 public:
  SocketSink(asio::ip::tcp::socket& socket, CopyResult& result, Counter* counter)
      : socket_(socket), result_(result), counter_(counter) {}

  std::size_t TryDeliver(std::span<const std::uint8_t> bytes) override {
    if (!socket_.is_open()) return 0;
    asio::error_code ec;
    const std::size_t n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return 0;
    result_.peer_to_socket += n;
    Count(counter_, n);
    return n;
  }

 private:
  asio::ip::tcp::socket& socket_;
  CopyResult& result_;
  Counter* counter_;
};

// Registers a sink on a stream for the life of this object.
class SinkRegistration {
 public:
  SinkRegistration(h2::Stream& stream, h2::DataSink* sink) : stream_(stream) { stream_.SetDataSink(sink); }
  ~SinkRegistration() { stream_.SetDataSink(nullptr); }
  SinkRegistration(const SinkRegistration&) = delete;
  SinkRegistration& operator=(const SinkRegistration&) = delete;

 private:
  h2::Stream& stream_;
};

asio::awaitable<void> StreamToSocket(asio::ip::tcp::socket& socket, h2::Stream& stream,
                                     CopyResult& result, Counter* counter) {
  // 16 views cover kMaxGatherBytes of 64 KiB blocks; kept small because this
  // frame lives as long as the connection.
  std::array<std::span<const std::uint8_t>, 16> views;
  std::array<asio::const_buffer, 16> buffers;
  for (;;) {
    co_await stream.WaitReadable();
    if (stream.reset()) {
      result.aborted = true;
      AbortSocket(socket);
      break;
    }
    const std::size_t count = stream.Gather(views, kMaxGatherBytes);
    if (count == 0) {
      if (stream.read_finished()) {
        asio::error_code ec;
        socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        break;
      }
      continue;
    }
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      buffers[i] = asio::buffer(views[i].data(), views[i].size());
      total += views[i].size();
    }
    const asio::error_code ec = co_await net::WriteAll(socket, std::span(buffers.data(), count));
    if (ec) {
      result.aborted = true;
      stream.Reset(h2::ErrorCodeH2::kCancel);
      AbortSocket(socket);
      break;
    }
    stream.Consume(total);
    result.peer_to_socket += total;
    Count(counter, total);
  }
}

// The stream-to-socket direction as the child of CopyBidirectional: when the
// peer is gone, it stops the socket-to-stream direction too.
asio::awaitable<void> StreamToSocketChild(asio::ip::tcp::socket& socket, h2::Stream& stream,
                                          CopyResult& result, Counter* counter) {
  co_await StreamToSocket(socket, stream, result, counter);
  if (stream.reset() && socket.is_open()) AbortSocket(socket);
}

asio::awaitable<void> SocketToSocket(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
                                     std::uint64_t& copied, bool& aborted, Counter* counter) {
  std::vector<std::uint8_t> buf;
  for (;;) {
    const std::size_t want = AdaptiveReadSize(copied);
    if (buf.size() < want) buf.resize(want);
    asio::error_code ec;
    const std::size_t n = co_await from.async_read_some(asio::buffer(buf.data(), want),
                                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) {
      asio::error_code ignored;
      to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      break;
    }
    if (!ec) ec = co_await net::WriteAll(to, asio::buffer(buf.data(), n));
    if (ec) {
      aborted = true;
      AbortSocket(from);
      AbortSocket(to);
      break;
    }
    copied += n;
    Count(counter, n);
  }
}

}  // namespace

CopyCounters DownstreamCounters(StatsShard& shard) {
  return {&shard.bytes_downstream_to_upstream, &shard.bytes_upstream_to_downstream, &shard.app_connections};
}

CopyCounters UpstreamCounters(StatsShard& shard) {
  return {&shard.bytes_upstream_to_downstream, &shard.bytes_downstream_to_upstream, &shard.app_connections};
}

std::size_t AdaptiveReadSize(std::uint64_t copied) {
  if (copied < 128 * 1024) return 1024;
  if (copied < 10 * 1024 * 1024) return 16 * 1024;
  return 256 * 1024;
}

void AbortSocket(asio::ip::tcp::socket& socket) {
  if (!socket.is_open()) return;
  linger l{1, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  asio::error_code ec;
  socket.close(ec);
}

asio::awaitable<CopyResult> CopyBidirectional(asio::ip::tcp::socket& socket, h2::Stream& stream,
                                              CopyCounters counters, std::uint64_t already_sent) {
  CopyResult result;
  result.socket_to_peer = already_sent;
  Count(counters.connections, 1);
  // Both directions use non-blocking system calls on the socket directly.
  // (Set only if not yet: each set is an ioctl, and the open path may have.)
  asio::error_code ec;
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  if (ec) {
    result.aborted = true;
    stream.Reset(h2::ErrorCodeH2::kCancel);
    AbortSocket(socket);
    co_return result;
  }
  SocketSink sink(socket, result, counters.peer_to_socket);
  SinkRegistration registration(stream, &sink);
  // Both directions refer to this frame: the child (the direction that only
  // waits on the stream) is joined before it ends. Its join state is inline
  // here, not a frame or a cancellation slot per idle connection.
  net::ChildTask child;
  asio::awaitable<void> to_socket = StreamToSocketChild(socket, stream, result, counters.peer_to_socket);
  child.Spawn(socket.get_executor(), std::move(to_socket));
  // Ends the child: it waits on the stream and on the socket.
  auto stop = [&socket, &stream, &result] {
    result.aborted = true;
    stream.Reset(h2::ErrorCodeH2::kCancel);
    AbortSocket(socket);
  };
  asio::awaitable<void> to_stream = SocketToStream(socket, stream, result, counters.socket_to_peer);
  asio::awaitable<void> joined = child.Join(std::move(to_stream), stop);
  co_await std::move(joined);
  co_return result;
}

asio::awaitable<CopyResult> CopyBidirectional(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                                              CopyCounters counters) {
  CopyResult result;
  Count(counters.connections, 1);
  // As above: b-to-a is the child, joined before this frame ends.
  net::ChildTask child;
  asio::awaitable<void> b_to_a =
      SocketToSocket(b, a, result.peer_to_socket, result.aborted, counters.peer_to_socket);
  child.Spawn(a.get_executor(), std::move(b_to_a));
  auto stop = [&a, &b, &result] {
    result.aborted = true;
    AbortSocket(a);
    AbortSocket(b);
  };
  asio::awaitable<void> a_to_b =
      SocketToSocket(a, b, result.socket_to_peer, result.aborted, counters.socket_to_peer);
  asio::awaitable<void> joined = child.Join(std::move(a_to_b), stop);
  co_await std::move(joined);
  co_return result;
}

}  // namespace ambit::hbone
