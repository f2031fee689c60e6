#include "h2/headers.h"

#include <array>

namespace ambit::h2 {
namespace {

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

// RFC 9110 §5.1 token characters, lower case only (RFC 9113 §8.2.1).
bool IsFieldNameChar(unsigned char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= '0' && c <= '9') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (s.size() > 64) out += "...";
  return out + "'";
}

// A regular field: name and value as RFC 9113 §8.2.1 and §8.2.2 require.
Status CheckField(const Header& h) {
  if (h.name.empty()) return Invalid("empty field name");
  for (unsigned char c : h.name) {
    if (c >= 'A' && c <= 'Z') return Invalid("field name " + Quote(h.name) + " is not lower case");
    if (!IsFieldNameChar(c)) return Invalid("field name " + Quote(h.name) + " has a character RFC 9110 forbids");
  }
  for (unsigned char c : h.value) {
    if (c == 0 || c == '\r' || c == '\n') {
      return Invalid("field " + h.name + ": value has NUL, CR or LF");
    }
  }
  if (!h.value.empty() && (h.value.front() == ' ' || h.value.front() == '\t' ||
                           h.value.back() == ' ' || h.value.back() == '\t')) {
    return Invalid("field " + h.name + ": value starts or ends with whitespace");
  }
  static constexpr std::array<std::string_view, 5> kConnectionSpecific = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"};
  for (std::string_view bad : kConnectionSpecific) {
    if (h.name == bad) return Invalid("connection-specific field " + h.name + " is not allowed in HTTP/2");
  }
  if (h.name == "te" && h.value != "trailers") {
    return Invalid("field te: only 'trailers' is allowed in HTTP/2, got " + Quote(h.value));
  }
  return Ok();
}

// Pseudo-header value: no NUL/CR/LF, no whitespace (they are all tokens or
// URI parts).
Status CheckPseudoValue(const Header& h) {
  for (unsigned char c : h.value) {
    if (c <= 0x20 || c == 0x7f) return Invalid(h.name + ": value " + Quote(h.value) + " has a control character or space");
  }
  return Ok();
}

}  // namespace

Result<RequestHead> ParseRequestHead(const Headers& headers) {
  RequestHead head;
  bool seen[5] = {};  // method, scheme, authority, path, protocol
  bool regular = false;
  for (const Header& h : headers) {
    if (!h.name.empty() && h.name.front() == ':') {
      if (regular) return Invalid("pseudo-header " + Quote(h.name) + " after a regular field");
      int index;
      std::string* into;
      if (h.name == ":method") {
        index = 0;
        into = &head.method;
      } else if (h.name == ":scheme") {
        index = 1;
        into = &head.scheme;
      } else if (h.name == ":authority") {
        index = 2;
        into = &head.authority;
      } else if (h.name == ":path") {
        index = 3;
        into = &head.path;
      } else if (h.name == ":protocol") {
        index = 4;
        into = &head.protocol;
      } else if (h.name == ":status") {
        return Invalid("pseudo-header :status in a request");
      } else {
        return Invalid("unknown pseudo-header " + Quote(h.name));
      }
      if (seen[index]) return Invalid("pseudo-header " + h.name + " repeated");
      seen[index] = true;
      AMBIT_RETURN_IF_ERROR(CheckPseudoValue(h));
      *into = h.value;
      continue;
    }
    regular = true;
    AMBIT_RETURN_IF_ERROR(CheckField(h));
    head.fields.push_back(h);
  }
  if (!seen[0] || head.method.empty()) return Invalid(":method is missing");
  if (head.method == "CONNECT" && !seen[4]) {
    if (!seen[2] || head.authority.empty()) return Invalid("CONNECT without :authority");
    if (seen[1] || seen[3]) return Invalid("CONNECT with :scheme or :path (only extended CONNECT has them)");
    return head;
  }
  if (seen[4] && head.method != "CONNECT") return Invalid(":protocol on a " + head.method + " request");
  if (!seen[1] || head.scheme.empty()) return Invalid(":scheme is missing");
  if (!seen[3] || head.path.empty()) return Invalid(":path is missing or empty");
  if (head.path != "*" && head.path.front() != '/' && head.scheme != "http" && head.scheme != "https") {
    return head;  // other schemes may use other path forms
  }
  if (head.path == "*" && head.method != "OPTIONS") return Invalid(":path '*' on a " + head.method + " request");
  if (head.path != "*" && head.path.front() != '/') {
    return Invalid(":path " + Quote(head.path) + " does not start with '/'");
  }
  return head;
}

Result<ResponseHead> ParseResponseHead(const Headers& headers) {
  ResponseHead head;
  bool seen_status = false;
  bool regular = false;
  for (const Header& h : headers) {
    if (!h.name.empty() && h.name.front() == ':') {
      if (regular) return Invalid("pseudo-header " + Quote(h.name) + " after a regular field");
      if (h.name != ":status") return Invalid("pseudo-header " + Quote(h.name) + " in a response");
      if (seen_status) return Invalid("pseudo-header :status repeated");
      seen_status = true;
      const std::string& v = h.value;
      if (v.size() != 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' || v[2] > '9') {
        return Invalid(":status " + Quote(v) + " is not a status code 100-599");
      }
      head.status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
      continue;
    }
    regular = true;
    AMBIT_RETURN_IF_ERROR(CheckField(h));
    head.fields.push_back(h);
  }
  if (!seen_status) return Invalid(":status is missing");
  return head;
}

Headers ToHeaders(const RequestHead& head) {
  Headers out;
  out.reserve(head.fields.size() + 5);
  out.push_back({":method", head.method});
  if (!head.scheme.empty()) out.push_back({":scheme", head.scheme});
  if (!head.authority.empty()) out.push_back({":authority", head.authority});
  if (!head.path.empty()) out.push_back({":path", head.path});
  if (!head.protocol.empty()) out.push_back({":protocol", head.protocol});
  out.insert(out.end(), head.fields.begin(), head.fields.end());
  return out;
}

Headers ToHeaders(const ResponseHead& head) {
  Headers out;
  out.reserve(head.fields.size() + 1);
  out.push_back({":status", std::to_string(head.status)});
  out.insert(out.end(), head.fields.begin(), head.fields.end());
  return out;
}

std::string_view FindField(const Headers& fields, std::string_view name) {
  for (const Header& h : fields) {
    if (h.name == name) return h.value;
  }
  return {};
}

}  // namespace ambit::h2
