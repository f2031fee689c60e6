#include "httpd/http_request.h"

#include <optional>

namespace ambit::httpd {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// RFC 9110 §5.6.2 tchar.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Field values: VCHAR, obs-text, SP and HTAB; no other control characters.
bool IsFieldValue(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

HttpParseError Bad(std::string message) { return HttpParseError{400, std::move(message)}; }

// Parses a Content-Length value: digits only; nullopt when malformed. Values
// past |cap| are clamped to cap + 1 (they are refused as too large anyway).
std::optional<std::size_t> ParseLength(std::string_view s, std::size_t cap) {
  if (s.empty()) return std::nullopt;
  std::size_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (n <= cap) n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n > cap ? cap + 1 : n;
}

// The request line and headers: |head| is everything before the blank line,
// without the CRLF that ends the last header line.
std::variant<HttpRequest, HttpParseError> ParseHead(std::string_view head) {
  HttpRequest req;
  const std::size_t line_end = head.find(kCrlf);
  const std::string_view line = head.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    return Bad("malformed request line: want <method> <path> HTTP/1.x");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Bad("malformed request line: bad method");
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9') {
    return Bad("malformed request line: not an HTTP/1.x request");
  }
  if (target.empty() || target.front() != '/') {
    return Bad("malformed request target: want a path starting with '/'");
  }
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f) return Bad("malformed request target: non-printable byte");
  }
  req.method = std::string(method);
  const std::size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));

  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  int number = 0;
  while (line_end != std::string_view::npos) {
    ++number;
    const std::size_t end = rest.find(kCrlf);
    const std::string_view h = rest.substr(0, end);
    const std::string where = "malformed header line " + std::to_string(number) + ": ";
    if (h.front() == ' ' || h.front() == '\t') return Bad(where + "obsolete line folding");
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos) return Bad(where + "no ':'");
    if (!IsToken(h.substr(0, colon))) return Bad(where + "bad field name");
    const std::string_view value = TrimOws(h.substr(colon + 1));
    if (!IsFieldValue(value)) return Bad(where + "control character in value");
    std::string& slot = req.headers[Lower(h.substr(0, colon))];
    if (!slot.empty() && !value.empty()) slot += ", ";
    slot += value;
    if (end == std::string_view::npos) break;
    rest = rest.substr(end + 2);
  }
  return req;
}

}  // namespace

HttpParseResult ParseHttpRequest(std::string_view data, const HttpLimits& limits) {
  const std::size_t blank = data.substr(0, limits.max_head).find("\r\n\r\n");
  if (blank == std::string_view::npos || blank + 4 > limits.max_head) {
    if (data.size() >= limits.max_head) {
      return HttpParseError{431,
                            "request head exceeds " + std::to_string(limits.max_head) + " bytes"};
    }
    return HttpNeedMore{};
  }
  auto head = ParseHead(data.substr(0, blank));
  if (auto* error = std::get_if<HttpParseError>(&head)) return std::move(*error);
  HttpRequest& req = std::get<HttpRequest>(head);

  if (req.headers.contains("transfer-encoding")) {
    return HttpParseError{501, "transfer-encoding is not supported; send Content-Length"};
  }
  std::size_t body_len = 0;
  if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
    // Repeated headers were joined with ", "; every copy must carry the same value.
    std::optional<std::size_t> agreed;
    std::string_view values = it->second;
    while (true) {
      const std::size_t comma = values.find(',');
      auto n = ParseLength(TrimOws(values.substr(0, comma)), limits.max_body);
      if (!n || (agreed && *agreed != *n)) return Bad("malformed content-length: " + it->second);
      agreed = n;
      if (comma == std::string_view::npos) break;
      values = values.substr(comma + 1);
    }
    body_len = *agreed;
  }
  if (body_len > limits.max_body) {
    return HttpParseError{413,
                          "request body exceeds " + std::to_string(limits.max_body) + " bytes"};
  }
  const std::size_t head_len = blank + 4;
  if (data.size() - head_len < body_len) return HttpNeedMore{};
  req.body = std::string(data.substr(head_len, body_len));
  return HttpParsed{std::move(req), head_len + body_len};
}

}  // namespace ambit::httpd
