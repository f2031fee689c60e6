#include "rpc/call.h"

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rpc/grpc_status.h"

namespace ambit::rpc {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxResponseHeaderBytes = 64 * 1024;
constexpr std::size_t kFlushBatch = 64 * 1024;

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// grpc-timeout: at most 8 digits and a unit.
std::string FormatGrpcTimeout(std::chrono::milliseconds timeout) {
  long long ms = std::max<long long>(timeout.count(), 1);
  if (ms <= 99'999'999) return std::to_string(ms) + "m";
  return std::to_string(std::min<long long>(ms / 1000, 99'999'999)) + "S";
}

bool ValidMetadataName(std::string_view name) {
  if (name.empty() || name.starts_with(':') || name.starts_with("grpc-")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// HTTP status without grpc-status -> code, as the gRPC spec maps them.
ErrorCode FromHttpStatus(int status) {
  switch (status) {
    case 401: return ErrorCode::kUnauthenticated;
    case 403: return ErrorCode::kPermissionDenied;
    case 429:
    case 502:
    case 503:
    case 504: return ErrorCode::kUnavailable;
    default: return ErrorCode::kProtocol;
  }
}

}  // namespace

struct ClientCall::Callbacks {
  static ClientCall& Self(void* user_data) { return *static_cast<ClientCall*>(user_data); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientCall& call = Self(user_data);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->hd.stream_id == call.stream_id_) {
      ++call.header_blocks_;
    }
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* user_data) {
    ClientCall& call = Self(user_data);
    if (frame->hd.stream_id != call.stream_id_) return 0;
    call.header_bytes_ += name_length + value_length;
    if (call.header_bytes_ > kMaxResponseHeaderBytes) {
      call.Fail(Error(ErrorCode::kProtocol, "response headers exceed " +
                                                std::to_string(kMaxResponseHeaderBytes) + " bytes"));
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // nghttp2 resets the stream
    }
    std::string_view n(reinterpret_cast<const char*>(name), name_length);
    std::string_view v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":status") {
      call.http_status_ = 0;
      for (char c : v) call.http_status_ = call.http_status_ * 10 + (c - '0');  // nghttp2 validated it
    } else if (n == "content-type") {
      call.content_type_ = std::string(v);
    } else if (n == "grpc-status") {
      call.grpc_status_ = ParseGrpcStatus(v);
      if (call.grpc_status_ < 0) {
        call.Fail(Error(ErrorCode::kProtocol, "malformed grpc-status \"" + std::string(v) + "\""));
      }
    } else if (n == "grpc-message") {
      call.grpc_message_ = std::string(v);
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientCall& call = Self(user_data);
    if (frame->hd.stream_id != call.stream_id_) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && call.header_blocks_ == 1 &&
        frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (call.http_status_ != 200 && !end) {
        call.Fail(Error(FromHttpStatus(call.http_status_),
                        "HTTP status " + std::to_string(call.http_status_) + " (not a gRPC response)"));
      } else if (call.http_status_ == 200 && !end && !call.content_type_.starts_with("application/grpc")) {
        call.Fail(Error(ErrorCode::kProtocol,
                        "content-type \"" + call.content_type_ + "\" is not application/grpc"));
      }
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      call.remote_closed_ = true;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t length, void* user_data) {
    ClientCall& call = Self(user_data);
    if (stream_id != call.stream_id_ || call.failure_) return 0;
    Status appended = call.deframer_.Append(data, length);
    if (!appended.ok()) call.Fail(std::move(appended).error());
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
    ClientCall& call = Self(user_data);
    if (stream_id != call.stream_id_) return 0;
    call.stream_closed_ = true;
    call.reset_code_ = error_code;
    return 0;
  }

  static ssize_t ReadRequestData(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                 uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    ClientCall& call = Self(user_data);
    std::size_t available = call.send_buffer_.size() - call.send_offset_;
    std::size_t n = std::min(length, available);
    std::memcpy(buf, call.send_buffer_.data() + call.send_offset_, n);
    call.send_offset_ += n;
    if (call.send_offset_ == call.send_buffer_.size()) {
      call.send_buffer_.clear();
      call.send_offset_ = 0;
      if (call.writes_done_) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      } else if (n == 0) {
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

ClientCall::ClientCall(UniqueFd socket, UniqueFd wake, std::string peer, std::string method,
                       CallOptions options)
    : socket_(std::move(socket)),
      wake_(std::move(wake)),
      peer_(std::move(peer)),
      method_(std::move(method)),
      options_(options),
      deframer_(options.max_receive_message_bytes) {
  deadline_ = options_.timeout ? std::chrono::steady_clock::now() + *options_.timeout
                               : std::chrono::steady_clock::time_point::max();
}

ClientCall::~ClientCall() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

Result<std::unique_ptr<ClientCall>> ClientCall::Start(UniqueFd socket, std::string peer,
                                                      std::string authority, std::string method,
                                                      const Metadata& metadata, CallOptions options) {
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return ErrnoError("eventfd for an RPC call", errno);
  auto call = std::make_unique<ClientCall>(std::move(socket), std::move(wake), std::move(peer),
                                           std::move(method), options);
  AMBIT_RETURN_IF_ERROR(call->Init(authority, metadata));
  return call;
}

Status ClientCall::Init(const std::string& authority, const Metadata& metadata) {
  for (const auto& [name, value] : metadata) {
    if (!ValidMetadataName(name)) {
      return Error(ErrorCode::kInvalidArgument, "invalid gRPC metadata name \"" + name + "\"");
    }
  }
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    return Error(ErrorCode::kInternal, "nghttp2_session_callbacks_new failed");
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::OnStreamClose);
  int rc = nghttp2_session_client_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rc != 0) return Error(ErrorCode::kInternal, std::string("nghttp2 client session: ") + nghttp2_strerror(rc));

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxResponseHeaderBytes)},
  };
  rc = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (rc == 0 && options_.connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    rc = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               static_cast<int32_t>(options_.connection_window));
  }
  if (rc != 0) return Error(ErrorCode::kInternal, std::string("nghttp2 settings: ") + nghttp2_strerror(rc));

  std::string timeout;
  std::vector<nghttp2_nv> nva = {
      Nv(":method", "POST"), Nv(":scheme", "http"), Nv(":path", method_), Nv(":authority", authority),
      Nv("content-type", "application/grpc"), Nv("te", "trailers"), Nv("user-agent", "ambit-rpc/0.1")};
  if (options_.timeout) {
    timeout = FormatGrpcTimeout(*options_.timeout);
    nva.push_back(Nv("grpc-timeout", timeout));
  }
  for (const auto& [name, value] : metadata) nva.push_back(Nv(name, value));
  nghttp2_data_provider provider{};
  provider.read_callback = &Callbacks::ReadRequestData;
  stream_id_ = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, nullptr);
  if (stream_id_ < 0) {
    return Error(ErrorCode::kInternal, std::string("nghttp2 request: ") + nghttp2_strerror(stream_id_));
  }
  return Ok();
}

Error ClientCall::Decorate(Error error) const {
  return std::move(error).WithContext(method_ + " on " + peer_);
}

void ClientCall::Fail(Error error) {
  if (failure_) return;
  failure_ = Decorate(std::move(error));
  if (session_ != nullptr && !stream_closed_) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id_, NGHTTP2_CANCEL);
  }
}

void ClientCall::Cancel() {
  cancelled_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof(one));
}

Status ClientCall::Flush(bool& blocked) {
  blocked = false;
  while (true) {
    while (out_.size() < kFlushBatch) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        return Error(ErrorCode::kInternal, std::string("nghttp2 send: ") + nghttp2_strerror(static_cast<int>(n)));
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (out_.empty()) return Ok();
    ssize_t written = ::send(socket_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked = true;
        return Ok();
      }
      int err = errno;
      peer_eof_ = true;
      return Error(ErrorCode::kUnavailable, std::string("writing to the server: ") + std::strerror(err));
    }
    out_.erase(0, static_cast<size_t>(written));
  }
}

Status ClientCall::ReadSocket() {
  uint8_t buffer[kReadChunk];
  while (true) {
    ssize_t n = ::recv(socket_.get(), buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Ok();
      int err = errno;
      peer_eof_ = true;
      return Error(ErrorCode::kUnavailable, std::string("reading from the server: ") + std::strerror(err));
    }
    if (n == 0) {
      peer_eof_ = true;
      return Ok();
    }
    ssize_t consumed = nghttp2_session_mem_recv(session_, buffer, static_cast<size_t>(n));
    if (consumed < 0) {
      return Error(ErrorCode::kProtocol,
                   std::string("malformed HTTP/2 from the server: ") + nghttp2_strerror(static_cast<int>(consumed)));
    }
    // One chunk per wake-up: the caller re-checks its condition (a queued
    // message) before reading more, which bounds what we buffer.
    return Ok();
  }
}

template <typename Done>
Status ClientCall::Pump(Done done) {
  while (true) {
    if (cancelled_.load()) Fail(Error(ErrorCode::kUnavailable, "call cancelled"));
    bool blocked = false;
    if (!peer_eof_) {
      Status flushed = Flush(blocked);
      if (!flushed.ok()) Fail(std::move(flushed).error());
    }
    if (done() || failure_ || stream_closed_) return Ok();
    if (peer_eof_) {
      Fail(Error(ErrorCode::kUnavailable, "connection closed by the server before the call finished"));
      return Ok();
    }
    int timeout_ms = -1;
    if (deadline_ != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        Fail(Error(ErrorCode::kTimeout, "deadline of " + std::to_string(options_.timeout->count()) +
                                            " ms exceeded"));
        bool ignored = false;
        (void)Flush(ignored);  // best effort: tell the server
        return Ok();
      }
      timeout_ms = static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
    }
    pollfd fds[2] = {{socket_.get(), static_cast<short>(POLLIN | (blocked ? POLLOUT : 0)), 0},
                     {wake_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno != EINTR) {
      Fail(ErrnoError("poll", errno));
      return Ok();
    }
    if (n <= 0) continue;
    if (fds[1].revents != 0) continue;  // cancelled_ is checked at the top
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      Status read = ReadSocket();
      if (!read.ok()) Fail(std::move(read).error());
    }
  }
}

Status ClientCall::FinalStatus() const {
  if (failure_) return *failure_;
  if (grpc_status_ >= 0) {
    Status status = StatusFromGrpc(grpc_status_, grpc_message_);
    if (!status.ok()) return Decorate(std::move(status).error());
    if (deframer_.InsideMessage()) {
      return Decorate(Error(ErrorCode::kProtocol, "stream ended inside a gRPC message"));
    }
    return Ok();
  }
  if (http_status_ != 0 && http_status_ != 200) {
    return Decorate(Error(FromHttpStatus(http_status_),
                          "HTTP status " + std::to_string(http_status_) + " (not a gRPC response)"));
  }
  if (reset_code_ != NGHTTP2_NO_ERROR && !remote_closed_) {
    return Decorate(Error(ErrorCode::kUnavailable,
                          std::string("stream reset by the server: ") + nghttp2_http2_strerror(reset_code_)));
  }
  return Decorate(Error(ErrorCode::kProtocol, "stream ended without grpc-status"));
}

Status ClientCall::Write(std::string_view message) {
  if (failure_) return *failure_;
  if (stream_closed_ || writes_done_) {
    return Decorate(Error(ErrorCode::kInternal, "write after the request side closed"));
  }
  AppendFramedMessage(send_buffer_, message);
  nghttp2_session_resume_data(session_, stream_id_);
  AMBIT_RETURN_IF_ERROR(
      Pump([&] { return send_buffer_.size() - send_offset_ <= options_.max_pending_send_bytes; }));
  if (failure_) return *failure_;
  if (stream_closed_ && send_buffer_.size() > send_offset_) {
    Status final_status = FinalStatus();
    if (!final_status.ok()) return final_status;
    return Decorate(Error(ErrorCode::kUnavailable, "stream closed before the request was sent"));
  }
  return Ok();
}

Status ClientCall::WritesDone() {
  if (failure_) return *failure_;
  if (writes_done_ || stream_closed_) return Ok();
  writes_done_ = true;
  nghttp2_session_resume_data(session_, stream_id_);
  AMBIT_RETURN_IF_ERROR(Pump([] { return true; }));
  if (failure_) return *failure_;
  return Ok();
}

Result<bool> ClientCall::Read(std::string* message) {
  if (!deframer_.HasMessage() && !failure_ && !stream_closed_) {
    AMBIT_RETURN_IF_ERROR(Pump([&] { return deframer_.HasMessage(); }));
  }
  if (deframer_.HasMessage()) {
    *message = deframer_.Pop();
    return true;
  }
  AMBIT_RETURN_IF_ERROR(FinalStatus());
  return false;
}

}  // namespace ambit::rpc
