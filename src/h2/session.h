// Session: one HTTP/2 connection (client or server) over a ByteStream,
// driven by nghttp2 on a single event loop.
//
// Three coroutines run per session on the transport's loop: a reader (socket
// -> nghttp2), a writer (nghttp2 -> socket, gathering frames into large
// writes; DATA payload goes from the stream queues to TLS with no extra copy;
// a stream's producer may instead send inline with Flush() while the writer idles)
// and a keepalive (PING every ping_interval; no answer within ping_timeout
// tears the connection down). Flow control is manual: window is returned to
// the peer only as the application consumes bytes (see Stream).
//
// Threading: every method must be called on the session's loop.
// Ownership: shared_ptr; kept alive by its coroutines while running and by
// every Stream handle. When the connection ends every open stream is reset.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "h2/settings.h"
#include "h2/stream.h"
#include "net/byte_stream.h"
#include "net/signal.h"

struct nghttp2_session;

namespace ambit::h2 {

enum class Role { kClient, kServer };

class Session : public std::enable_shared_from_this<Session> {
 public:
  // Server: called on the loop once a request's headers are complete. The
  // handler must answer with Respond() (typically from a coroutine it spawns).
  using RequestHandler = std::function<void(std::shared_ptr<Stream>)>;

  static Result<std::shared_ptr<Session>> Create(Role role, std::unique_ptr<net::ByteStream> transport,
                                                 const Settings& settings,
                                                 RequestHandler on_request = {});
  ~Session();

  // Sends the connection preface/SETTINGS and starts the coroutines.
  void Start();

  // Client: opens a stream with |headers| and waits for the response
  // headers. The request stays open for DATA unless |end_stream| (a request
  // without a body: HEADERS with END_STREAM). kUnavailable when the session
  // is closing or out of streams; the caller checks the :status.
  asio::awaitable<Result<std::shared_ptr<Stream>>> OpenStream(const Headers& headers,
                                                              bool end_stream = false);
  // OpenStream in two steps: SubmitRequest queues the request at once (the
  // stream counts in active_streams() from here), AwaitResponse waits for
  // the response headers.
  Result<std::shared_ptr<Stream>> SubmitRequest(const Headers& headers, bool end_stream = false);
  asio::awaitable<Result<std::shared_ptr<Stream>>> AwaitResponse(std::shared_ptr<Stream> stream);

  // Server: answers |stream| with |status| and |headers|. end_stream=true
  // sends HEADERS with END_STREAM (an error answer); otherwise DATA may follow.
  Status Respond(Stream& stream, int status, const Headers& headers, bool end_stream);

  // Graceful: sends GOAWAY (no new streams), lets open streams finish, then
  // closes once none is left. Idempotent. Terminate() cuts it short.
  void Shutdown();
  // Closes the connection now; every stream is reset. Idempotent.
  void Terminate(std::string reason);

  // ---- state for pools and counters
  bool closed() const { return closed_; }
  // False after GOAWAY (either direction) or once closed. A session that
  // sent or received GOAWAY closes itself when its last stream ends.
  bool accepting_new_streams() const { return !closed_ && !goaway_; }
  std::size_t active_streams() const { return streams_.size(); }
  std::uint32_t peer_max_concurrent_streams() const;
  std::chrono::steady_clock::time_point last_active() const { return last_active_; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t bytes_written() const { return bytes_written_; }
  const std::string& close_reason() const { return close_reason_; }
  // The last GOAWAY the peer sent (its error code and debug data say why),
  // if any.
  const std::optional<GoAway>& peer_goaway() const { return peer_goaway_; }
  net::ByteStream& transport() { return *transport_; }
  const asio::any_io_executor& executor() const { return executor_; }
  const Settings& settings() const { return settings_; }
  Role role() const { return role_; }
  // Adds a callback run once when the connection ends (on the loop, in the
  // order added). Several owners (pool, server registry, node tracker) may
  // each add one.
  void AddOnClose(std::function<void()> on_close) { on_close_.push_back(std::move(on_close)); }
  // Same as AddOnClose (kept for existing callers; it does not replace).
  void set_on_close(std::function<void()> on_close) { AddOnClose(std::move(on_close)); }

  // Sends what nghttp2 has to send now from the calling coroutine, unless a
  // write is already in progress (then that writer sends it). Saves waking
  // the writer coroutine: one loop turn less per message. On the loop only;
  // the caller keeps the session alive until it completes (Stream does: it
  // holds its session).
  asio::awaitable<void> Flush();

  // Internal (used by Stream and the nghttp2 callbacks).
  void NotifyWriter() { write_signal_.Notify(); }
  void StreamConsumed(Stream& stream, std::size_t n);
  // |wake_writer| false: the caller sends with Flush() itself.
  void StreamDataReady(Stream& stream, bool wake_writer = true);
  void StreamReset(Stream& stream, ErrorCodeH2 code);
  struct Callbacks;

  Session(Role role, std::unique_ptr<net::ByteStream> transport, const Settings& settings,
          RequestHandler on_request);

 private:
  Status Init();
  asio::awaitable<void> ReadLoop();
  asio::awaitable<void> WriteLoop();
  // One writer at a time (WriteLoop or Flush); returns a failure reason or "".
  asio::awaitable<std::string> SendPending();
  asio::awaitable<void> KeepaliveLoop();
  void FinishClose();

  // A piece of the next transport write: bytes in |arena_| or a DATA payload
  // view into a stream's send queue.
  struct Piece {
    std::size_t arena_offset;
    const std::uint8_t* data;  // nullptr = in arena
    std::size_t length;
  };
  struct SentData {
    std::shared_ptr<Stream> stream;
    std::size_t length;
  };

  Role role_;
  std::unique_ptr<net::ByteStream> transport_;
  Settings settings_;
  RequestHandler on_request_;
  asio::any_io_executor executor_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<Stream>> streams_;

  net::Signal write_signal_;
  std::vector<std::uint8_t> arena_;
  std::vector<Piece> pieces_;
  std::vector<SentData> sent_data_;
  std::vector<net::ConstBytes> spans_;
  asio::steady_timer keepalive_timer_;
  std::size_t batch_bytes_ = 0;

  bool started_ = false;
  bool writing_ = false;          // SendPending() running (WriteLoop or Flush)
  bool writer_deferred_ = false;  // WriteLoop woke during a Flush()
  bool closed_ = false;
  bool goaway_ = false;
  std::optional<GoAway> peer_goaway_;
  bool ping_outstanding_ = false;
  std::chrono::steady_clock::time_point ping_sent_at_;
  std::chrono::steady_clock::time_point last_active_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::string close_reason_;
  std::vector<std::function<void()>> on_close_;
  int loops_running_ = 0;
};

}  // namespace ambit::h2
