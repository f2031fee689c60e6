// HTTP/1.1 message parsing for a proxy (RFC 9112,
// https://www.rfc-editor.org/rfc/rfc9112): one Parser per direction of a
// connection, fed bytes as they arrive, calling its Sink with each message's
// head, body bytes, trailers and end.
//
// The byte-level state machine is Node's former parser, http-parser 2.9
// (Debian's libhttp-parser-dev, https://github.com/nodejs/http-parser; why this
// one: docs/http1.md). Around it this class enforces what a proxy must:
//  - heads become h2::RequestHead / h2::ResponseHead, the same values the
//    HTTP/2 side produces: `host` (or an absolute-form target's authority)
//    becomes the authority; hop-by-hop fields (connection, keep-alive,
//    proxy-connection, transfer-encoding, upgrade, te and every field the
//    Connection header names, RFC 9110 §7.6.1) are taken out of `fields` and
//    summarised in MessageInfo, so they are never forwarded by accident;
//  - request smuggling (RFC 9112 §6.1, §6.3) is refused with 400: both
//    Content-Length and Transfer-Encoding, Content-Length values that
//    differ, a request Transfer-Encoding whose last coding is not chunked
//    (a coding other than chunked is 501), an HTTP/1.1 request without Host
//    or with two (an absolute-form target's authority wins over Host, RFC
//    9112 §3.2.3);
//  - limits: the head's bytes (request target, field names and values) and
//    its field count; beyond either the error says 431;
//  - field names must be tokens and values field-vchars (RFC 9110 §5.5).
// Every error names its cause, and error_status() gives the status a server
// should answer (400; 431 over a limit; 501 for an unknown Transfer-Encoding;
// 505 for a version other than 1.0/1.1); after an error the parser is dead.
//
// Body bytes are views into the bytes given to Feed (no copy), valid during
// the OnBody call only. A message that switches protocols (a 101 answer,
// CONNECT, a request with Upgrade when the caller says it will follow it)
// ends parsing: Feed returns how many bytes belonged to HTTP, the rest is the
// new protocol's.
//
// Threading: a Parser is used by one coroutine at a time; no shared state
// (the library's only global, the max header size, is not used: limits are
// ours).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/result.h"
#include "h2/headers.h"

namespace ambit::http1 {

struct Limits {
  std::size_t max_head_bytes = 60 * 1024;  // Envoy's default max_request_headers_kb
  std::size_t max_fields = 100;            // Envoy's default max_headers_count
};

// What the hop-by-hop fields and the framing said about one message.
struct MessageInfo {
  int version_minor = 1;  // HTTP/1.<n>: 0 or 1
  bool keep_alive = true;  // the connection may carry another message after this one
  bool chunked = false;    // Transfer-Encoding: chunked
  std::optional<std::uint64_t> content_length;
  bool expect_continue = false;  // request: Expect: 100-continue
  std::string upgrade;           // the Upgrade field ("" if none), e.g. "websocket"
  std::string te;                // request: the TE field (e.g. "trailers"), else ""
};

class Sink {
 public:
  // Exactly one of these two per message, before its body.
  virtual void OnRequest(h2::RequestHead head, const MessageInfo& info) { (void)head, (void)info; }
  virtual void OnResponse(h2::ResponseHead head, const MessageInfo& info) { (void)head, (void)info; }
  virtual void OnBody(std::span<const std::uint8_t> bytes) = 0;
  // Trailer fields of a chunked message (only when it had some), before OnMessageEnd.
  virtual void OnTrailers(h2::Headers trailers) { (void)trailers; }
  virtual void OnMessageEnd() = 0;

 protected:
  ~Sink() = default;
};

class Parser {
 public:
  enum class Kind { kRequests, kResponses };
  Parser(Kind kind, Sink& sink, Limits limits = {});
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses |bytes|; returns how many were HTTP (all of them unless the
  // message switched protocols, see upgraded()). Calls the sink as messages
  // progress. An error is final.
  Result<std::size_t> Feed(std::span<const std::uint8_t> bytes);
  // The peer closed its side: completes a response whose body runs to the
  // end of the connection; an error if a message was cut short.
  Status Finish();
  // After an error: the status a server answers the request with (400, 431,
  // 501, 505). Meaningless for a response parser (the proxy answers 502).
  int error_status() const { return error_status_; }

  // Response parser: the next response answers a HEAD request (no body
  // whatever its headers say). Call before that response's bytes arrive.
  void ExpectResponseToHead(bool head) { next_response_to_head_ = head; }
  // The last message switched protocols (CONNECT, a 101, or Upgrade): the
  // bytes after it are not HTTP/1.
  bool upgraded() const { return upgraded_; }
  // Between messages (nothing of a next message read yet).
  bool idle() const;
  // After an upgrade request the server refused (no 101): parse the
  // connection's next bytes as HTTP/1 requests again.
  void ResumeAfterRefusedUpgrade();

  struct State;  // the C parser and the message being built

 private:
  std::unique_ptr<State> state_;
  Sink& sink_;
  bool next_response_to_head_ = false;
  bool upgraded_ = false;
  int error_status_ = 0;
};

}  // namespace ambit::http1
