// Parsing one HTTP/1.x request for the proxies' admin, metrics and readiness
// servers (HttpServer), as a pure function of the bytes received so far.
// Those servers listen on 0.0.0.0 (15020, 15021), so every byte is untrusted.
//
// What is accepted (RFC 9112 https://www.rfc-editor.org/rfc/rfc9112, a strict
// subset):
//   request line  method SP request-target SP HTTP/1.<digit> CRLF
//     method      one or more token characters (RFC 9110 §5.6.2)
//     target      origin-form: starts with '/', visible ASCII only; split at
//                 the first '?' into path and query (neither is decoded)
//   header lines  name ":" OWS value OWS CRLF; name a token (lower-cased),
//                 value without control characters (HTAB allowed); repeated
//                 names are joined with ", " (RFC 9110 §5.3)
//   blank line    CRLF, within |max_head| bytes of the start
//   body          Content-Length bytes (digits only; repeats must agree), at
//                 most |max_body|
// Errors (status, message naming what is wrong):
//   400 malformed request line, target, header or Content-Length; obsolete
//       line folding
//   413 Content-Length over |max_body|
//   431 no blank line within |max_head| bytes
//   501 Transfer-Encoding (chunked bodies are not supported)
//
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace ambit::httpd {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // "/config_dump"
  std::string query;                           // after '?', undecoded ("" when none)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpLimits {
  std::size_t max_head = 16 * 1024;  // request line + headers + the blank line
  std::size_t max_body = 64 * 1024;
};

// The bytes so far are a valid beginning of a request; read more.
struct HttpNeedMore {
  friend bool operator==(const HttpNeedMore&, const HttpNeedMore&) = default;
};

struct HttpParsed {
  HttpRequest request;
  std::size_t consumed = 0;  // bytes of the input the request took (head + body)
};

struct HttpParseError {
  int status = 400;     // 400, 413, 431 or 501
  std::string message;  // what is wrong, e.g. "malformed header line 2: no ':'"
};

using HttpParseResult = std::variant<HttpNeedMore, HttpParsed, HttpParseError>;

// Parses the first request in |data| (everything received on the connection
// so far). Bytes after the request are ignored. Once a result is HttpParsed
// or HttpParseError, more data never changes it.
HttpParseResult ParseHttpRequest(std::string_view data, const HttpLimits& limits = {});

}  // namespace ambit::httpd
