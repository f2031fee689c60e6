// HTTP/1.1 message heads and body framing for the next hop (RFC 9112,
// https://www.rfc-editor.org/rfc/rfc9112): the inverse of Parser. A proxy
// takes a head from either protocol (h2::RequestHead / h2::ResponseHead, hop-
// by-hop fields already removed), chooses the framing for the connection it
// writes to, and gets the bytes to send.
//
// Contract: heads are valid (they came from Parser or the HTTP/2 side, which
// check them, or from configuration checked when it was applied): no CR, LF
// or NUL in any name or value; a request has an authority (HTTP/1.1 requires
// Host: for an HTTP/1.0 client that sent none the proxy fills it in from the
// route). Request lines use origin-form (authority-form
// for CONNECT) with `Host` from the authority; field names are written as
// they are (lower case; HTTP/1.1 names are case-insensitive).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "h2/headers.h"

namespace ambit::http1 {

struct Framing {
  enum class Kind {
    kNone,           // no body (GET without one, 204, 304, a HEAD answer)
    kContentLength,  // Content-Length: |length|
    kChunked,        // Transfer-Encoding: chunked (AppendChunk, LastChunk)
    kUntilClose,     // response only: the body ends when the connection does
  };
  Kind kind = Kind::kNone;
  std::uint64_t length = 0;
};

struct HeadOptions {
  bool keep_alive = true;   // false: Connection: close
  std::string_view upgrade;  // non-empty: Upgrade: <it> and Connection: upgrade
};

// Appends the request line, Host, the fields and the framing's fields.
void AppendRequestHead(std::string& out, const h2::RequestHead& head, const Framing& framing,
                       const HeadOptions& options = {});
// Appends the status line (standard reason phrase), the fields and the framing's fields.
void AppendResponseHead(std::string& out, const h2::ResponseHead& head, const Framing& framing,
                        const HeadOptions& options = {});
// One chunk of a chunked body (nothing for an empty |bytes|: an empty chunk
// would end the body).
void AppendChunk(std::string& out, std::span<const std::uint8_t> bytes);
// The last chunk, with |trailers| (lower-case names, no pseudo-headers).
void AppendLastChunk(std::string& out, const h2::Headers& trailers = {});

}  // namespace ambit::http1
