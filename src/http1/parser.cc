#include "http1/parser.h"

#include <http_parser.h>

#include <algorithm>
#include <string_view>

namespace ambit::http1 {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated elements of a list field, trimmed and lower-cased.
template <typename F>
void ForEachElement(std::string_view value, F&& f) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view item = Trim(value.substr(0, comma));
    if (!item.empty()) f(LowerCopy(item));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool IsHopByHop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "te";
}

}  // namespace

struct Parser::State {
  http_parser p{};
  http_parser_settings settings{};
  Parser* owner = nullptr;
  Kind kind;
  Limits limits;

  // The message being parsed.
  bool in_message = false;
  std::string url;
  h2::Headers fields;  // as received (names not yet lower-cased)
  bool last_was_value = false;
  std::size_t head_bytes = 0;
  h2::Headers trailers;

  // Set by a callback that refuses the message (execute then stops).
  std::string failure;
  int failure_status = 0;

  int Fail(int status, std::string why) {
    failure_status = status;
    failure = std::move(why);
    return -1;
  }
  const char* what() const { return kind == Kind::kRequests ? "HTTP/1 request" : "HTTP/1 response"; }

  int Count(std::size_t n) {
    head_bytes += n;
    if (head_bytes > limits.max_head_bytes) {
      return Fail(431, std::string(what()) + ": head larger than " + std::to_string(limits.max_head_bytes) +
                           " bytes");
    }
    return 0;
  }

  // Appends to the current field's name or value (pieces may be split across Feed calls).
  int Field(const char* at, std::size_t n, bool value) {
    const bool trailing = (p.flags & F_TRAILING) != 0;
    h2::Headers& list = trailing ? trailers : fields;
    if (!value && (list.empty() || last_was_value)) {
      if (list.size() >= limits.max_fields) {
        return Fail(431, std::string(what()) + ": more than " + std::to_string(limits.max_fields) + " fields");
      }
      list.emplace_back();
    }
    if (list.empty()) list.emplace_back();  // a value with no name cannot happen; stay safe
    (value ? list.back().value : list.back().name).append(at, n);
    last_was_value = value;
    return Count(n);
  }

  int HeadersComplete();
  int MessageComplete();
};

namespace {

Parser::State& StateOf(http_parser* p) { return *static_cast<Parser::State*>(p->data); }

// Lower-cases names and checks names and values against RFC 9110 §5.5 by
// going through the HTTP/2 head checks (the same rules, one implementation).
Result<h2::Headers> Normalize(h2::Headers list) {
  for (h2::Header& h : list) {
    for (char& c : h.name) c = Lower(c);
    h.value = std::string(Trim(h.value));
  }
  return list;
}

}  // namespace

int Parser::State::HeadersComplete() {
  if (p.http_major != 1 || p.http_minor > 1) {
    return Fail(505, std::string(what()) + ": HTTP/" + std::to_string(p.http_major) + "." +
                         std::to_string(p.http_minor) + " is not supported");
  }
  auto normalized = Normalize(std::move(fields));
  fields.clear();
  h2::Headers list = std::move(*normalized);
  // http-parser takes a name that merely starts with "transfer-encoding" or
  // "content-length" for that field; such names are refused so that what it
  // frames and what the fields say can never disagree.
  for (const h2::Header& h : list) {
    for (std::string_view framing : {std::string_view("transfer-encoding"), std::string_view("content-length")}) {
      if (h.name.size() > framing.size() && h.name.starts_with(framing)) {
        return Fail(400, std::string(what()) + ": field name \"" + h.name + "\" extends " + std::string(framing));
      }
    }
  }
  // http-parser refuses this itself, but only after the head callback: decide
  // here so that a refused request never reaches the sink.
  if (kind == Kind::kRequests && p.uses_transfer_encoding && (p.flags & F_CHUNKED) == 0) {
    return Fail(400, std::string(what()) + ": Transfer-Encoding without chunked as its last coding (RFC 9112 §6.3)");
  }

  MessageInfo info;
  info.version_minor = p.http_minor;
  info.keep_alive = http_should_keep_alive(&p) != 0;
  info.chunked = (p.flags & F_CHUNKED) != 0;
  if ((p.flags & F_CONTENTLENGTH) != 0) info.content_length = p.content_length;

  // Hop-by-hop fields: what Connection names, plus the fixed set.
  std::vector<std::string> connection_named;
  std::string host;
  int host_count = 0;
  std::string transfer_encoding;
  for (const h2::Header& h : list) {
    if (h.name == "connection") ForEachElement(h.value, [&](std::string t) { connection_named.push_back(std::move(t)); });
    if (h.name == "host") {
      ++host_count;
      host = h.value;
    }
    if (h.name == "upgrade") info.upgrade = h.value;
    if (h.name == "te") info.te = h.value;
    if (h.name == "transfer-encoding") {
      if (!transfer_encoding.empty()) transfer_encoding += ",";
      transfer_encoding += h.value;
    }
    if (h.name == "expect" && LowerCopy(h.value) == "100-continue") info.expect_continue = true;
  }
  if (!transfer_encoding.empty()) {
    std::vector<std::string> codings;
    ForEachElement(transfer_encoding, [&](std::string c) { codings.push_back(std::move(c)); });
    if (kind == Kind::kRequests && (codings.empty() || codings.back() != "chunked")) {
      return Fail(400, std::string(what()) + ": Transfer-Encoding \"" + transfer_encoding +
                           "\" does not end in chunked (RFC 9112 §6.3)");
    }
    for (const std::string& c : codings) {
      if (c != "chunked") {
        return Fail(kind == Kind::kRequests ? 501 : 0,
                    std::string(what()) + ": transfer coding \"" + c + "\" is not supported");
      }
    }
    if (codings.size() > 1) {
      return Fail(400, std::string(what()) + ": chunked applied more than once");
    }
  }
  if (info.content_length && !transfer_encoding.empty()) {
    // http-parser refuses this already; kept as our own rule too.
    return Fail(400, std::string(what()) + ": both Content-Length and Transfer-Encoding (RFC 9112 §6.1)");
  }

  h2::Headers kept;
  kept.reserve(list.size());
  for (h2::Header& h : list) {
    if (IsHopByHop(h.name) || h.name == "host") continue;
    if (std::find(connection_named.begin(), connection_named.end(), h.name) != connection_named.end()) continue;
    kept.push_back(std::move(h));
  }

  if (kind == Kind::kRequests) {
    h2::RequestHead head;
    head.method = http_method_str(static_cast<http_method>(p.method));
    if (host_count > 1) return Fail(400, std::string(what()) + ": more than one Host field");
    if (head.method == "CONNECT") {
      head.authority = url;  // authority-form
    } else if (!url.empty() && url[0] == '/') {
      head.scheme = "http";
      head.path = url;
      head.authority = host;
    } else if (url == "*") {
      head.scheme = "http";
      head.path = "*";
      head.authority = host;
    } else {
      http_parser_url u;
      http_parser_url_init(&u);
      if (http_parser_parse_url(url.data(), url.size(), 0, &u) != 0 || (u.field_set & (1 << UF_SCHEMA)) == 0 ||
          (u.field_set & (1 << UF_HOST)) == 0) {
        return Fail(400, std::string(what()) + ": request target \"" + url.substr(0, 200) + "\" is not valid");
      }
      auto part = [&](int f) { return url.substr(u.field_data[f].off, u.field_data[f].len); };
      head.scheme = LowerCopy(part(UF_SCHEMA));
      head.authority = part(UF_HOST);
      if ((u.field_set & (1 << UF_PORT)) != 0) head.authority += ":" + part(UF_PORT);
      head.path = (u.field_set & (1 << UF_PATH)) != 0 ? part(UF_PATH) : "/";
      if ((u.field_set & (1 << UF_QUERY)) != 0) head.path += "?" + part(UF_QUERY);
    }
    if (head.authority.empty() && p.http_minor == 1) {
      return Fail(400, std::string(what()) + ": HTTP/1.1 request without Host (RFC 9112 §3.2)");
    }
    head.fields = std::move(kept);
    // The same field and pseudo-header rules as an HTTP/2 request.
    auto checked = h2::ParseRequestHead(h2::ToHeaders(head));
    if (!checked.ok()) return Fail(400, std::string(what()) + ": " + checked.error().message());
    owner->sink_.OnRequest(std::move(*checked), info);
    if (head.method == "CONNECT") owner->upgraded_ = true;
  } else {
    h2::ResponseHead head;
    head.status = p.status_code;
    head.fields = std::move(kept);
    auto checked = h2::ParseResponseHead(h2::ToHeaders(head));
    if (!checked.ok()) return Fail(0, std::string(what()) + ": " + checked.error().message());
    owner->sink_.OnResponse(std::move(*checked), info);
    if (owner->next_response_to_head_ && p.status_code >= 200) {
      owner->next_response_to_head_ = false;
      return 1;  // no body, whatever the headers say
    }
  }
  return 0;
}

int Parser::State::MessageComplete() {
  if (!trailers.empty()) {
    auto normalized = Normalize(std::move(trailers));
    trailers.clear();
    owner->sink_.OnTrailers(std::move(*normalized));
  }
  in_message = false;
  if (p.upgrade) owner->upgraded_ = true;
  owner->sink_.OnMessageEnd();
  return 0;
}

Parser::Parser(Kind kind, Sink& sink, Limits limits) : state_(std::make_unique<State>()), sink_(sink) {
  State& s = *state_;
  s.owner = this;
  s.kind = kind;
  s.limits = limits;
  http_parser_init(&s.p, kind == Kind::kRequests ? HTTP_REQUEST : HTTP_RESPONSE);
  s.p.data = &s;
  http_parser_settings_init(&s.settings);
  s.settings.on_message_begin = [](http_parser* p) {
    State& st = StateOf(p);
    st.in_message = true;
    st.url.clear();
    st.fields.clear();
    st.trailers.clear();
    st.last_was_value = false;
    st.head_bytes = 0;
    return 0;
  };
  s.settings.on_url = [](http_parser* p, const char* at, std::size_t n) {
    State& st = StateOf(p);
    st.url.append(at, n);
    return st.Count(n);
  };
  s.settings.on_status = [](http_parser* p, const char*, std::size_t n) { return StateOf(p).Count(n); };
  s.settings.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
    return StateOf(p).Field(at, n, false);
  };
  s.settings.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
    return StateOf(p).Field(at, n, true);
  };
  s.settings.on_headers_complete = [](http_parser* p) {
    State& st = StateOf(p);
    st.last_was_value = false;  // trailers start new fields
    return st.HeadersComplete();
  };
  s.settings.on_body = [](http_parser* p, const char* at, std::size_t n) {
    StateOf(p).owner->sink_.OnBody({reinterpret_cast<const std::uint8_t*>(at), n});
    return 0;
  };
  s.settings.on_message_complete = [](http_parser* p) { return StateOf(p).MessageComplete(); };
}

Parser::~Parser() = default;

bool Parser::idle() const { return !state_->in_message; }

void Parser::ResumeAfterRefusedUpgrade() {
  State& s = *state_;
  http_parser_init(&s.p, s.kind == Kind::kRequests ? HTTP_REQUEST : HTTP_RESPONSE);
  s.p.data = &s;
  upgraded_ = false;
}

Result<std::size_t> Parser::Feed(std::span<const std::uint8_t> bytes) {
  State& s = *state_;
  if (error_status_ != 0 || !s.failure.empty() || HTTP_PARSER_ERRNO(&s.p) != HPE_OK) {
    return Error(ErrorCode::kProtocol, std::string(s.what()) + ": the parser stopped at an earlier error");
  }
  if (upgraded_) return std::size_t{0};
  const std::size_t n =
      http_parser_execute(&s.p, &s.settings, reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const http_errno err = HTTP_PARSER_ERRNO(&s.p);
  if (!s.failure.empty()) {
    error_status_ = s.failure_status != 0 ? s.failure_status : 400;
    return Error(ErrorCode::kProtocol, s.failure);
  }
  if (err != HPE_OK) {
    switch (err) {
      case HPE_INVALID_VERSION: error_status_ = 505; break;
      case HPE_HEADER_OVERFLOW: error_status_ = 431; break;
      case HPE_INVALID_METHOD: error_status_ = 501; break;
      default: error_status_ = 400; break;
    }
    return Error(ErrorCode::kProtocol, std::string(s.what()) + ": " + http_errno_description(err) + " (" +
                                           http_errno_name(err) + ") at byte " + std::to_string(n));
  }
  if (s.p.upgrade) upgraded_ = true;
  return n;
}

Status Parser::Finish() {
  State& s = *state_;
  if (upgraded_ || error_status_ != 0) return Ok();
  const bool was_in_message = s.in_message;
  http_parser_execute(&s.p, &s.settings, nullptr, 0);
  if (!s.failure.empty() || HTTP_PARSER_ERRNO(&s.p) != HPE_OK || (was_in_message && s.in_message)) {
    error_status_ = 400;
    return Error(ErrorCode::kProtocol, std::string(s.what()) + ": the connection closed in the middle of a message");
  }
  return Ok();
}

}  // namespace ambit::http1
