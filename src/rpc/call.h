// ClientCall: one gRPC call (unary or bidirectional streaming) over its own
// HTTP/2 cleartext connection (prior knowledge, "h2c"), driven by nghttp2
// from a blocking poll loop on the caller's thread.
//
// Wire: HEADERS `:method POST`, `:scheme http`, `:path /pkg.Service/Method`,
// `:authority`, `content-type: application/grpc`, `te: trailers`, optional
// `grpc-timeout`, then the caller's metadata; each message with the 5-byte
// length prefix (never compressed); the outcome is the `grpc-status` /
// `grpc-message` of the trailers (or of a trailers-only response). HTTP/2
// flow control: we grant the server |stream_window| / |connection_window| and
// nghttp2 returns window as we consume DATA, so multi-MB messages stream in;
// messages over |max_receive_message_bytes| fail the call.
//
// Why not src/h2: that Session is built for HBONE on an Asio loop with TLS
// and exposes no trailers; the node's control-plane calls are one blocking
// call and one long stream on a background thread, where a plain socket and
// poll() are simpler and need no event loop.
//
// Threading: a ClientCall is used by one thread at a time (Write/WritesDone/
// Read); Cancel() may be called from any thread and makes a blocked or later
// Read/Write fail with kUnavailable ("cancelled"). Nothing runs in the
// background: bytes move only inside Write/WritesDone/Read.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"
#include "rpc/message_framing.h"
#include "rpc/metadata.h"

struct nghttp2_session;

namespace ambit::rpc {

struct CallOptions {
  // None = no deadline (a long-lived stream). Sent as grpc-timeout too.
  std::optional<std::chrono::milliseconds> timeout;
  std::size_t max_receive_message_bytes = 4 * 1024 * 1024;
  std::uint32_t stream_window = 1024 * 1024;      // SETTINGS_INITIAL_WINDOW_SIZE we grant
  std::uint32_t connection_window = 4 * 1024 * 1024;
  // Write() blocks while more than this many bytes wait for the server's window.
  std::size_t max_pending_send_bytes = 1024 * 1024;
};

class ClientCall {
 public:
  // Takes a connected non-blocking socket; queues the connection preface,
  // SETTINGS and the request HEADERS (sent by the first Write/Read).
  // |method| is the :path ("/pkg.Service/Method"); |authority| the
  // :authority; |peer| names the server in error messages.
  // Errors: kInvalidArgument (bad metadata name), kInternal (nghttp2 setup).
  static Result<std::unique_ptr<ClientCall>> Start(UniqueFd socket, std::string peer,
                                                   std::string authority, std::string method,
                                                   const Metadata& metadata, CallOptions options);
  ~ClientCall();
  ClientCall(const ClientCall&) = delete;
  ClientCall& operator=(const ClientCall&) = delete;

  // Sends one message (framed). Blocks only while more than
  // max_pending_send_bytes are waiting for flow-control window. Fails with
  // the call's error once the call has failed or ended.
  Status Write(std::string_view message);
  // Half-closes the request side (END_STREAM after the queued messages).
  Status WritesDone();
  // Waits for the next response message. true: |*message| holds it; false:
  // the call ended with grpc-status OK and no more messages. Errors (message
  // "<method> on <peer>: ..."): the server's status (ToErrorCode(grpc-status),
  // "NAME: <grpc-message>"), kUnavailable (connection closed or reset, cancelled,
  // HTTP status 502/503/504...), kProtocol (malformed HTTP/2, not a gRPC
  // response, truncated message), kInvalidArgument (message over the limit),
  // kTimeout (deadline). After an error every later call returns it again.
  Result<bool> Read(std::string* message);

  // Thread-safe, idempotent: aborts the call (RST_STREAM CANCEL).
  void Cancel();

  const std::string& method() const { return method_; }

  // Internal: nghttp2 callbacks, and the constructor Start() uses.
  struct Callbacks;

  ClientCall(UniqueFd socket, UniqueFd wake, std::string peer, std::string method, CallOptions options);

 private:
  Status Init(const std::string& authority, const Metadata& metadata);
  // Moves bytes until done() holds, the call fails, or the deadline passes.
  template <typename Done>
  Status Pump(Done done);
  Status Flush(bool& blocked);
  Status ReadSocket();
  // Records the call's failure (first one wins) and resets the stream.
  void Fail(Error error);
  // The outcome once the stream is closed: Ok, or the server's/transport's error.
  Status FinalStatus() const;
  Error Decorate(Error error) const;

  UniqueFd socket_;
  UniqueFd wake_;  // eventfd written by Cancel()
  std::string peer_;
  std::string method_;
  CallOptions options_;
  std::chrono::steady_clock::time_point deadline_;
  nghttp2_session* session_ = nullptr;
  std::int32_t stream_id_ = -1;

  // Request side.
  std::string send_buffer_;
  std::size_t send_offset_ = 0;
  bool writes_done_ = false;
  std::string out_;  // serialized frames not yet accepted by the socket

  // Response side.
  MessageDeframer deframer_;
  int http_status_ = 0;
  int header_blocks_ = 0;
  std::size_t header_bytes_ = 0;
  std::string content_type_;
  int grpc_status_ = -1;
  std::string grpc_message_;
  bool remote_closed_ = false;  // END_STREAM received
  bool stream_closed_ = false;
  std::uint32_t reset_code_ = 0;
  bool peer_eof_ = false;
  std::optional<Error> failure_;
  std::atomic<bool> cancelled_{false};

  friend struct Callbacks;
};

}  // namespace ambit::rpc
