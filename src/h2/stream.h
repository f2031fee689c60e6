// Stream: one HTTP/2 stream (for HBONE, one tunneled TCP connection).
//
// Receive side: bytes the peer sent wait in a queue; the application looks at
// them (Gather), writes them somewhere, then Consume()s them, which is what
// returns flow-control window to the peer (or a DataSink takes them directly
// when the queue is empty, see SetDataSink). So the peer can never get further
// ahead than the stream window (4 MiB): that is the backpressure.
// Send side: the application reads into Prepare()/Commit(); at most
// Settings::stream_send_buffer bytes may wait, WaitWritable() blocks beyond.
// CloseSend() ends the sending direction (END_STREAM after queued bytes), or
// CloseSend(trailers) with a trailing HEADERS frame (gRPC's grpc-status).
// Trailers the peer sends are kept in peer_trailers().
// Reset() aborts both directions with RST_STREAM; a reset from the peer or the
// session ending wakes every waiter with reset() true, and reset_by_peer()
// says which side it was.
//
// Threading: lives on its session's loop; every method must be called there.
// Ownership: shared by the session (until the stream closes) and the user; a
// Stream keeps its Session alive.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "h2/chunk_queue.h"
#include "h2/headers.h"
#include "h2/settings.h"
#include "net/signal.h"

namespace ambit::h2 {

class Session;

// Optional direct receiver of a stream's DATA (see Stream::SetDataSink).
class DataSink {
 public:
  // Takes up to |bytes.size()| bytes without blocking or suspending; returns
  // how many it took (0 = none now: they go to the queue instead). Called on
  // the stream's loop from inside the HTTP/2 reader.
  virtual std::size_t TryDeliver(std::span<const std::uint8_t> bytes) = 0;

 protected:
  ~DataSink() = default;
};

class Stream {
 public:
  Stream(std::shared_ptr<Session> session, std::int32_t id);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::int32_t id() const { return id_; }
  // Headers the peer sent (request on a server, response on a client).
  const Headers& peer_headers() const { return peer_headers_; }
  // Value of the first header named |name| (lower case), or "".
  std::string_view PeerHeader(std::string_view name) const;
  // Trailers the peer sent after its DATA (empty if none or not yet: they
  // are complete once read_finished()). Counted with the headers against
  // Settings::max_header_list_bytes.
  const Headers& peer_trailers() const { return peer_trailers_; }

  // ---- receiving (peer -> us)
  // Returns when there are bytes to read, the peer finished, or the stream reset.
  asio::awaitable<void> WaitReadable();
  std::size_t readable_bytes() const { return recv_.size(); }
  // Views of up to |max_bytes| readable bytes; returns how many views.
  std::size_t Gather(std::span<std::span<const std::uint8_t>> out, std::size_t max_bytes) const {
    return recv_.Gather(0, max_bytes, out);
  }
  void Consume(std::size_t n);
  // The peer sent END_STREAM and every byte has been consumed.
  bool read_finished() const { return recv_eof_ && recv_.empty(); }
  // Direct delivery: while set and nothing is queued, DATA payload is first
  // offered to |sink| straight from the HTTP/2 reader's buffer; what it takes
  // is consumed at once (window returned), never queued or copied, and wakes
  // no WaitReadable(). The rest is queued as usual, and while anything is
  // queued nothing is offered (byte order). nullptr unsets. The sink must
  // outlive its registration.
  void SetDataSink(DataSink* sink) { sink_ = sink; }

  // ---- sending (us -> peer)
  asio::awaitable<void> WaitWritable();
  // Writable space (at most |max| bytes) to read into; then Commit(n), with
  // no suspension in between (the space is valid only until the next call
  // that changes the queue). Commit(0) gives an unused block back.
  std::span<std::uint8_t> Prepare(std::size_t max);
  void Commit(std::size_t n);
  // Commit(n), then send at once from this coroutine (Session::Flush) instead
  // of waking the session's writer. May suspend while the transport is full.
  asio::awaitable<void> CommitAndFlush(std::size_t n);
  // Queues a copy of |bytes| (may exceed the buffer bound; prefer Prepare).
  void Write(std::span<const std::uint8_t> bytes);
  // END_STREAM once everything queued is sent. Idempotent (the first call
  // decides whether there are trailers).
  void CloseSend();
  // The same, with END_STREAM on a HEADERS frame of |trailers| (lower-case
  // names, no pseudo-headers) sent after the queued bytes. Only on a stream
  // that can carry DATA (a request without end_stream, a response with
  // end_stream false).
  void CloseSend(Headers trailers);
  // Bytes queued and not yet sent.
  std::size_t pending_send_bytes() const { return send_.size(); }

  // RST_STREAM with |code| (both directions end). Idempotent.
  void Reset(ErrorCodeH2 code = ErrorCodeH2::kCancel);
  bool reset() const { return reset_; }
  std::uint32_t reset_code() const { return reset_code_; }
  // The peer sent RST_STREAM (reset_code() is its code); false when we reset
  // it or the connection ended.
  bool reset_by_peer() const { return reset_by_peer_; }
  // The stream ended (both directions finished, or reset).
  bool closed() const { return closed_; }

  Session& session() { return *session_; }

  // Buffer blocks (ChunkQueue::kBlockBytes each) this stream holds in its two
  // queues; 0 for an idle stream.
  std::size_t buffer_blocks() const { return recv_.block_count() + send_.block_count(); }

 private:
  friend class Session;
  void Wake();

  std::shared_ptr<Session> session_;
  std::int32_t id_;
  Headers peer_headers_;
  Headers peer_trailers_;
  std::size_t peer_header_bytes_ = 0;
  bool headers_done_ = false;

  ChunkQueue recv_;
  bool recv_eof_ = false;
  DataSink* sink_ = nullptr;

  ChunkQueue send_;
  std::size_t send_scheduled_ = 0;  // bytes in DATA frames given to nghttp2, not yet written
  bool send_eof_ = false;
  Headers send_trailers_;
  bool has_send_trailers_ = false;
  bool data_deferred_ = false;  // nghttp2 parked our data source; resume when bytes arrive

  bool reset_ = false;
  bool reset_by_peer_ = false;
  std::uint32_t reset_code_ = 0;
  bool closed_ = false;

  net::Signal readable_;
  net::Signal writable_;
};

}  // namespace ambit::h2
