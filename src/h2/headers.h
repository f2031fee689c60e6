// HTTP/2 header fields as plain values (no nghttp2, no Asio), so pure code
// such as CONNECT validation can use them; and the request/response heads an
// HTTP proxy works with: pseudo-header fields (RFC 9113 §8.3,
// https://www.rfc-editor.org/rfc/rfc9113#section-8.3) as named members, the
// other fields in order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ambit::h2 {

struct Header {
  std::string name;   // lower case; pseudo-headers start with ':'
  std::string value;

  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

struct RequestHead {
  std::string method;     // :method
  std::string scheme;     // :scheme ("" for CONNECT)
  std::string authority;  // :authority ("" if absent; then "host" may name it)
  std::string path;       // :path ("" for CONNECT)
  std::string protocol;   // :protocol of an extended CONNECT (RFC 8441), else ""
  Headers fields;         // every other field, in the order received

  bool operator==(const RequestHead&) const = default;
};

struct ResponseHead {
  int status = 0;  // :status, 100-599
  Headers fields;

  bool operator==(const ResponseHead&) const = default;
};

// Checks a request's header list the way RFC 9113 §8.2-8.3 requires of a
// receiver, and splits it. Errors (kInvalidArgument) name the offending field:
// a pseudo-header after a regular field, repeated, unknown or response-only;
// :method missing; CONNECT without :authority or with :scheme/:path (unless
// extended CONNECT, which needs all of them); another method without :scheme
// or with an empty :path; upper-case names; connection-specific fields
// (connection, keep-alive, proxy-connection, transfer-encoding, upgrade); te
// other than "trailers"; a name or value with characters RFC 9110 forbids.
Result<RequestHead> ParseRequestHead(const Headers& headers);

// The same for a response: exactly one :status of three digits (100-599),
// nothing else pseudo, the same field rules.
Result<ResponseHead> ParseResponseHead(const Headers& headers);

// Back to a header list (pseudo-headers first), for sending.
// ParseRequestHead(ToHeaders(h)) == h for every h ParseRequestHead returned.
Headers ToHeaders(const RequestHead& head);
Headers ToHeaders(const ResponseHead& head);

// Value of the first field named |name| (lower case) in |fields|, or "".
std::string_view FindField(const Headers& fields, std::string_view name);

}  // namespace ambit::h2
