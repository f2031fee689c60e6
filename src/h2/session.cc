#include "h2/session.h"

#include <nghttp2/nghttp2.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "core/log.h"

namespace ambit::h2 {
namespace {

constexpr std::size_t kReadBufferBytes = 128 * 1024;
constexpr std::size_t kHeaderOverhead = 32;  // RFC 9113 §6.5.2 per-field overhead

std::vector<nghttp2_nv> ToNv(const Headers& headers) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& h : headers) {
    nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                             reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())),
                             h.name.size(), h.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

}  // namespace

// The nghttp2 callbacks; |user_data| is the Session.
struct Session::Callbacks {
  static Session* S(void* user_data) { return static_cast<Session*>(user_data); }
  static Stream* StreamOf(nghttp2_session* ng, std::int32_t id) {
    return static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng, id));
  }

  static void AppendArena(Session* s, const std::uint8_t* data, std::size_t length) {
    if (!s->pieces_.empty() && s->pieces_.back().data == nullptr &&
        s->pieces_.back().arena_offset + s->pieces_.back().length == s->arena_.size()) {
      s->pieces_.back().length += length;  // coalesce adjacent control frames
    } else {
      s->pieces_.push_back(Piece{s->arena_.size(), nullptr, length});
    }
    s->arena_.insert(s->arena_.end(), data, data + length);
    s->batch_bytes_ += length;
  }

  static ssize_t Send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int,
                      void* user_data) {
    Session* s = S(user_data);
    if (s->batch_bytes_ >= s->settings_.max_write_batch) return NGHTTP2_ERR_WOULDBLOCK;
    AppendArena(s, data, length);
    return static_cast<ssize_t>(length);
  }

  // DATA with NGHTTP2_DATA_FLAG_NO_COPY: the 9-byte header goes to the arena,
  // the payload is referenced in place in the stream's send queue.
  static int SendData(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd,
                      std::size_t length, nghttp2_data_source* source, void* user_data) {
    Session* s = S(user_data);
    if (s->batch_bytes_ >= s->settings_.max_write_batch) return NGHTTP2_ERR_WOULDBLOCK;
    auto* stream = static_cast<Stream*>(source->ptr);
    auto it = s->streams_.find(frame->hd.stream_id);
    if (it == s->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    AppendArena(s, framehd, 9);  // we never pad, so no pad-length byte
    std::array<std::span<const std::uint8_t>, 16> views;
    std::size_t offset = stream->send_scheduled_;
    std::size_t left = length;
    while (left > 0) {
      const std::size_t n = stream->send_.Gather(offset, left, views);
      for (std::size_t i = 0; i < n; ++i) {
        s->pieces_.push_back(Piece{0, views[i].data(), views[i].size()});
        offset += views[i].size();
        left -= views[i].size();
      }
    }
    stream->send_scheduled_ += length;
    s->sent_data_.push_back(SentData{it->second, length});
    s->batch_bytes_ += length;
    return 0;
  }

  // At the end of a stream's DATA: if it has trailers, END_STREAM moves from
  // this DATA frame to a HEADERS frame of them (nghttp2 allows submitting it
  // from the read callback). False if nghttp2 refused them.
  static bool SubmitTrailers(nghttp2_session* ng, std::int32_t stream_id, Stream& stream,
                             std::uint32_t* flags) {
    if (!stream.has_send_trailers_) return true;
    *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    auto nva = ToNv(stream.send_trailers_);
    return nghttp2_submit_trailer(ng, stream_id, nva.data(), nva.size()) == 0;
  }

  static ssize_t ReadData(nghttp2_session* ng, std::int32_t stream_id, std::uint8_t*, std::size_t length,
                          std::uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* stream = static_cast<Stream*>(source->ptr);
    const std::size_t avail = stream->send_.size() - stream->send_scheduled_;
    if (avail == 0) {
      if (stream->send_eof_) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return SubmitTrailers(ng, stream_id, *stream, flags) ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      stream->data_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(avail, length);
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && stream->send_eof_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!SubmitTrailers(ng, stream_id, *stream, flags)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(n);
  }

  static ssize_t ReadLength(nghttp2_session*, std::uint8_t, std::int32_t, std::int32_t session_window,
                            std::int32_t stream_window, std::uint32_t remote_max_frame,
                            void* user_data) {
    Session* s = S(user_data);
    std::int64_t n = std::min<std::int64_t>(session_window, stream_window);
    n = std::min<std::int64_t>(n, remote_max_frame);
    n = std::min<std::int64_t>(n, static_cast<std::int64_t>(s->settings_.max_data_frame));
    return static_cast<ssize_t>(std::max<std::int64_t>(n, 1));
  }

  static int OnBeginHeaders(nghttp2_session* ng, const nghttp2_frame* frame, void* user_data) {
    Session* s = S(user_data);
    if (s->role_ != Role::kServer || frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    auto stream = std::make_shared<Stream>(s->shared_from_this(), frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, stream.get());
    s->streams_[frame->hd.stream_id] = std::move(stream);
    return 0;
  }

  static int OnHeader(nghttp2_session* ng, const nghttp2_frame* frame, const std::uint8_t* name,
                      std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                      std::uint8_t, void* user_data) {
    Session* s = S(user_data);
    Stream* stream = StreamOf(ng, frame->hd.stream_id);
    if (stream == nullptr) return 0;
    // Headers and trailers together are bounded like one header list.
    stream->peer_header_bytes_ += namelen + valuelen + kHeaderOverhead;
    if (stream->peer_header_bytes_ > s->settings_.max_header_list_bytes) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM this one
    }
    Headers& into = stream->headers_done_ ? stream->peer_trailers_ : stream->peer_headers_;
    into.push_back(Header{std::string(reinterpret_cast<const char*>(name), namelen),
                          std::string(reinterpret_cast<const char*>(value), valuelen)});
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* ng, const nghttp2_frame* frame, void* user_data) {
    Session* s = S(user_data);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        Stream* stream = StreamOf(ng, frame->hd.stream_id);
        if (stream == nullptr) break;
        const bool first = !stream->headers_done_;
        if (first && s->role_ == Role::kClient) {
          const std::string_view status = stream->PeerHeader(":status");
          if (status.size() == 3 && status[0] == '1') {  // interim response
            stream->peer_headers_.clear();
            stream->peer_header_bytes_ = 0;
            break;
          }
        }
        stream->headers_done_ = true;
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) stream->recv_eof_ = true;
        if (first && s->role_ == Role::kServer && s->on_request_) {
          auto it = s->streams_.find(frame->hd.stream_id);
          if (it != s->streams_.end()) s->on_request_(it->second);
        }
        stream->Wake();
        break;
      }
      case NGHTTP2_DATA: {
        Stream* stream = StreamOf(ng, frame->hd.stream_id);
        if (stream != nullptr && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
          stream->recv_eof_ = true;
          stream->readable_.Notify();
        }
        break;
      }
      case NGHTTP2_PING:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK) s->ping_outstanding_ = false;
        break;
      case NGHTTP2_GOAWAY: {
        s->goaway_ = true;
        GoAway g;
        g.error_code = frame->goaway.error_code;
        g.last_stream_id = frame->goaway.last_stream_id;
        g.debug_data.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                            std::min<std::size_t>(frame->goaway.opaque_data_len, 256));
        s->peer_goaway_ = std::move(g);
        s->NotifyWriter();
        break;
      }
      case NGHTTP2_RST_STREAM: {
        Stream* stream = StreamOf(ng, frame->hd.stream_id);
        if (stream != nullptr && !stream->reset_) {
          stream->reset_ = true;
          stream->reset_by_peer_ = true;
          stream->reset_code_ = frame->rst_stream.error_code;
        }
        break;
      }
      default:
        break;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* ng, std::uint8_t, std::int32_t stream_id,
                         const std::uint8_t* data, std::size_t len, void*) {
    Stream* stream = StreamOf(ng, stream_id);
    if (stream == nullptr || stream->reset_) {
      // Nobody will read it: give the window straight back.
      nghttp2_session_consume(ng, stream_id, len);
      return 0;
    }
    if (stream->sink_ != nullptr && stream->recv_.empty()) {
      // Straight out of the decrypted TLS buffer to the application (for
      // HBONE: the app socket): no copy into the queue, no wake-up.
      const std::size_t taken = stream->sink_->TryDeliver({data, len});
      if (taken > 0) {
        nghttp2_session_consume(ng, stream_id, taken);  // the reader flushes any WINDOW_UPDATE
        data += taken;
        len -= taken;
      }
      if (len == 0) return 0;
    }
    stream->recv_.Append({data, len});
    stream->readable_.Notify();
    return 0;
  }

  static int OnStreamClose(nghttp2_session* ng, std::int32_t stream_id, std::uint32_t error_code,
                           void* user_data) {
    Session* s = S(user_data);
    auto it = s->streams_.find(stream_id);
    if (it == s->streams_.end()) return 0;
    std::shared_ptr<Stream> stream = std::move(it->second);
    s->streams_.erase(it);
    stream->closed_ = true;
    if (error_code != NGHTTP2_NO_ERROR || !stream->recv_eof_ || !stream->send_eof_) {
      if (!stream->reset_) {
        stream->reset_ = true;
        stream->reset_code_ = error_code;
      }
    }
    if (stream->reset_ && !stream->recv_.empty()) {
      nghttp2_session_consume_connection(ng, stream->recv_.size());
      stream->recv_.Clear();
    }
    stream->Wake();
    if (s->streams_.empty()) {
      s->last_active_ = std::chrono::steady_clock::now();
      if (s->goaway_) s->NotifyWriter();  // the writer closes a drained session
    }
    return 0;
  }
};

Result<std::shared_ptr<Session>> Session::Create(Role role, std::unique_ptr<net::ByteStream> transport,
                                                 const Settings& settings, RequestHandler on_request) {
  auto session = std::make_shared<Session>(role, std::move(transport), settings, std::move(on_request));
  AMBIT_RETURN_IF_ERROR(session->Init());
  return session;
}

Session::Session(Role role, std::unique_ptr<net::ByteStream> transport, const Settings& settings,
                 RequestHandler on_request)
    : role_(role),
      transport_(std::move(transport)),
      settings_(settings),
      on_request_(std::move(on_request)),
      executor_(transport_->get_executor()),
      write_signal_(executor_),
      keepalive_timer_(executor_),
      last_active_(std::chrono::steady_clock::now()) {}

Session::~Session() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

Status Session::Init() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return Error(ErrorCode::kInternal, "nghttp2 callbacks");
  nghttp2_session_callbacks_set_send_callback(cbs, Callbacks::Send);
  nghttp2_session_callbacks_set_send_data_callback(cbs, Callbacks::SendData);
  nghttp2_session_callbacks_set_data_source_read_length_callback(cbs, Callbacks::ReadLength);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Callbacks::OnStreamClose);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // No RFC 7540 priority tree: closed streams are freed at once instead of
  // being kept (up to max concurrent streams per connection) for priorities.
  nghttp2_option_set_no_closed_streams(opt, 1);
  const int rv = role_ == Role::kClient ? nghttp2_session_client_new2(&session_, cbs, this, opt)
                                        : nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return Error(ErrorCode::kInternal, std::string("nghttp2 session: ") + nghttp2_strerror(rv));

  std::vector<nghttp2_settings_entry> iv = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings_.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_bytes},
  };
  if (role_ == Role::kClient) iv.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  int r = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv.data(), iv.size());
  if (r == 0) {
    r = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                              static_cast<std::int32_t>(settings_.connection_window));
  }
  if (r != 0) return Error(ErrorCode::kInternal, std::string("nghttp2 settings: ") + nghttp2_strerror(r));
  arena_.reserve(64 * 1024);
  return Ok();
}

void Session::Start() {
  if (started_) return;
  started_ = true;
  auto self = shared_from_this();
  auto on_error = [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      AMBIT_LOG_ERROR("http2 session coroutine failed: {}", ex.what());
    }
  };
  asio::co_spawn(executor_, [self]() { return self->ReadLoop(); }, on_error);
  asio::co_spawn(executor_, [self]() { return self->WriteLoop(); }, on_error);
  asio::co_spawn(executor_, [self]() { return self->KeepaliveLoop(); }, on_error);
}

asio::awaitable<void> Session::ReadLoop() {
  auto self = shared_from_this();
  // A loop that shuts down destroys this frame while it waits for bytes. Each
  // open Stream holds the Session and streams_ holds each Stream, so that
  // cycle would keep both (and the connection's buffers) forever: drop the
  // streams. Nothing is woken and no callback runs (their owners go down
  // with the loop). Every other exit from here has closed the session.
  struct Abandoned {
    Session* session;
    ~Abandoned() {
      if (session->closed_) return;
      session->closed_ = true;
      session->close_reason_ = "event loop shut down";
      auto streams = std::move(session->streams_);
      session->streams_.clear();
      for (auto& [id, stream] : streams) stream->closed_ = true;
    }
  } abandoned{this};
  // Not value-initialized: a page of it becomes resident only once bytes land
  // there, so a quiet connection does not pay for the whole buffer.
  std::unique_ptr<std::uint8_t[]> storage(new std::uint8_t[kReadBufferBytes]);
  const std::span<std::uint8_t> buf(storage.get(), kReadBufferBytes);
  while (!closed_) {
    auto n = co_await transport_->ReadSome(buf);
    if (closed_) break;
    if (!n.ok()) {
      Terminate(n.error().ToString());
      break;
    }
    if (*n == 0) {
      Terminate("peer closed the connection");
      break;
    }
    bytes_read_ += *n;
    const ssize_t rv = nghttp2_session_mem_recv(session_, buf.data(), *n);
    if (rv < 0) {
      Terminate(std::string("HTTP/2 protocol error: ") + nghttp2_strerror(static_cast<int>(rv)));
      break;
    }
    if (nghttp2_session_want_write(session_)) write_signal_.Notify();
  }
}

asio::awaitable<std::string> Session::SendPending() {
  // Until nghttp2 has nothing more to send right now: each round gathers
  // frames into one transport write (DATA payload referenced in place).
  while (!closed_) {
    arena_.clear();
    pieces_.clear();
    sent_data_.clear();
    batch_bytes_ = 0;
    const int rv = nghttp2_session_send(session_);
    if (rv != 0) co_return std::string("HTTP/2 send: ") + nghttp2_strerror(rv);
    if (pieces_.empty()) break;
    spans_.clear();
    for (const Piece& p : pieces_) {
      spans_.emplace_back(p.data != nullptr ? p.data : arena_.data() + p.arena_offset, p.length);
    }
    Status st = co_await transport_->Write(spans_);
    bytes_written_ += batch_bytes_;
    for (SentData& sent : sent_data_) {
      sent.stream->send_.Consume(sent.length);
      sent.stream->send_scheduled_ -= sent.length;
      sent.stream->writable_.Notify();
    }
    sent_data_.clear();
    if (!st.ok()) co_return st.error().ToString();
  }
  co_return std::string();
}

asio::awaitable<void> Session::Flush() {
  if (closed_ || writing_ || !started_) co_return;  // the busy writer sends it
  writing_ = true;
  // No shared_from_this() here: this runs once per chunk a producer sends,
  // and the caller (a Stream, which holds the session) keeps the session
  // alive; both live on the session's loop.
  std::string failure = co_await SendPending();
  writing_ = false;
  if (!failure.empty()) {
    Terminate(std::move(failure));
    co_return;
  }
  if (writer_deferred_) {  // the writer woke while we wrote: let it look again
    writer_deferred_ = false;
    write_signal_.Notify();
  }
}

asio::awaitable<void> Session::WriteLoop() {
  auto self = shared_from_this();
  while (!closed_) {
    if (writing_) {
      // An inline Flush() is writing; it wakes us again when done.
      writer_deferred_ = true;
      co_await write_signal_.Wait();
      continue;
    }
    writing_ = true;
    std::string failure = co_await SendPending();
    writing_ = false;
    if (!failure.empty()) {
      Terminate(std::move(failure));
      break;
    }
    if (closed_) break;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      Terminate("connection finished");
      break;
    }
    if (goaway_ && streams_.empty()) {  // GOAWAY is on the wire; nothing left to serve
      if (peer_goaway_) {
        Terminate("peer sent GOAWAY " + ErrorCodeName(peer_goaway_->error_code) +
                  (peer_goaway_->debug_data.empty() ? "" : " (" + peer_goaway_->debug_data + ")"));
      } else {
        Terminate("shut down after GOAWAY");
      }
      break;
    }
    co_await write_signal_.Wait();
  }
}

asio::awaitable<void> Session::KeepaliveLoop() {
  auto self = shared_from_this();
  while (!closed_) {
    keepalive_timer_.expires_after(settings_.ping_interval);
    asio::error_code ec;
    co_await keepalive_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    const auto now = std::chrono::steady_clock::now();
    if (ping_outstanding_) {
      if (now - ping_sent_at_ >= settings_.ping_timeout) {
        Terminate("no PING answer within " + std::to_string(settings_.ping_timeout.count()) + " ms");
        break;
      }
      continue;
    }
    if (nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr) == 0) {
      ping_outstanding_ = true;
      ping_sent_at_ = now;
      NotifyWriter();
    }
  }
}

std::uint32_t Session::peer_max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

asio::awaitable<Result<std::shared_ptr<Stream>>> Session::OpenStream(const Headers& headers,
                                                                     bool end_stream) {
  auto stream = SubmitRequest(headers, end_stream);
  if (!stream.ok()) co_return std::move(stream).error();
  co_return co_await AwaitResponse(std::move(*stream));
}

Result<std::shared_ptr<Stream>> Session::SubmitRequest(const Headers& headers, bool end_stream) {
  if (!accepting_new_streams()) {
    return Error(ErrorCode::kUnavailable,
                 "HTTP/2 connection is closing" + (close_reason_.empty() ? "" : ": " + close_reason_));
  }
  auto nva = ToNv(headers);
  auto stream = std::make_shared<Stream>(shared_from_this(), 0);
  nghttp2_data_provider provider{};
  provider.source.ptr = stream.get();
  provider.read_callback = Callbacks::ReadData;
  if (end_stream) stream->send_eof_ = true;
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                                 end_stream ? nullptr : &provider, stream.get());
  if (id < 0) {
    return Error(ErrorCode::kUnavailable, std::string("opening HTTP/2 stream: ") + nghttp2_strerror(id));
  }
  stream->id_ = id;
  streams_[id] = stream;
  last_active_ = std::chrono::steady_clock::now();
  NotifyWriter();
  return stream;
}

asio::awaitable<Result<std::shared_ptr<Stream>>> Session::AwaitResponse(std::shared_ptr<Stream> stream) {
  while (!stream->headers_done_ && !stream->closed_ && !stream->reset_) co_await stream->readable_.Wait();
  if (!stream->headers_done_) {
    std::string why = closed_ ? close_reason_
                              : std::string(stream->reset_by_peer_ ? "peer reset the stream: "
                                                                   : "stream reset: ") +
                                    ErrorCodeName(stream->reset_code_);
    co_return Error(ErrorCode::kUnavailable, "no response to the request: " + why);
  }
  co_return stream;
}

Status Session::Respond(Stream& stream, int status, const Headers& headers, bool end_stream) {
  if (closed_ || stream.closed_) return Error(ErrorCode::kUnavailable, "stream already closed");
  Headers all;
  all.reserve(headers.size() + 1);
  all.push_back(Header{":status", std::to_string(status)});
  all.insert(all.end(), headers.begin(), headers.end());
  auto nva = ToNv(all);
  int rv;
  if (end_stream) {
    stream.send_eof_ = true;
    rv = nghttp2_submit_response(session_, stream.id_, nva.data(), nva.size(), nullptr);
  } else {
    nghttp2_data_provider provider{};
    provider.source.ptr = &stream;
    provider.read_callback = Callbacks::ReadData;
    rv = nghttp2_submit_response(session_, stream.id_, nva.data(), nva.size(), &provider);
  }
  if (rv != 0) return Error(ErrorCode::kInternal, std::string("HTTP/2 response: ") + nghttp2_strerror(rv));
  NotifyWriter();
  return Ok();
}

void Session::StreamConsumed(Stream& stream, std::size_t n) {
  if (closed_) return;
  nghttp2_session_consume(session_, stream.id_, n);
  if (nghttp2_session_want_write(session_)) NotifyWriter();
}

void Session::StreamDataReady(Stream& stream, bool wake_writer) {
  if (closed_ || stream.id_ == 0) return;
  if (stream.data_deferred_) {
    stream.data_deferred_ = false;
    nghttp2_session_resume_data(session_, stream.id_);
  }
  if (wake_writer) NotifyWriter();
}

void Session::StreamReset(Stream& stream, ErrorCodeH2 code) {
  if (closed_ || stream.closed_ || stream.id_ == 0) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id_, static_cast<std::uint32_t>(code));
  NotifyWriter();
}

void Session::Shutdown() {
  if (closed_ || goaway_) return;
  goaway_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  NotifyWriter();
}

void Session::Terminate(std::string reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) {
    stream->closed_ = true;
    if (!stream->reset_) {
      stream->reset_ = true;
      stream->reset_code_ = static_cast<std::uint32_t>(ErrorCodeH2::kInternalError);
    }
    stream->Wake();
  }
  transport_->Close();
  write_signal_.Close();
  keepalive_timer_.cancel();
  auto callbacks = std::move(on_close_);
  on_close_.clear();
  for (auto& cb : callbacks) cb();
}

std::string ErrorCodeName(std::uint32_t code) {
  static constexpr const char* kNames[] = {
      "NO_ERROR",       "PROTOCOL_ERROR",   "INTERNAL_ERROR",     "FLOW_CONTROL_ERROR",
      "SETTINGS_TIMEOUT", "STREAM_CLOSED",  "FRAME_SIZE_ERROR",   "REFUSED_STREAM",
      "CANCEL",         "COMPRESSION_ERROR", "CONNECT_ERROR",     "ENHANCE_YOUR_CALM",
      "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
  if (code < std::size(kNames)) return kNames[code];
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", code);
  return buf;
}

}  // namespace ambit::h2
