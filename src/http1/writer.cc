#include "http1/writer.h"

#include <http_parser.h>

#include <cstdio>

namespace ambit::http1 {
namespace {

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void AppendFraming(std::string& out, const Framing& framing, const HeadOptions& options) {
  switch (framing.kind) {
    case Framing::Kind::kNone:
    case Framing::Kind::kUntilClose:
      break;
    case Framing::Kind::kContentLength:
      AppendField(out, "content-length", std::to_string(framing.length));
      break;
    case Framing::Kind::kChunked:
      AppendField(out, "transfer-encoding", "chunked");
      break;
  }
  if (!options.upgrade.empty()) {
    AppendField(out, "connection", "upgrade");
    AppendField(out, "upgrade", options.upgrade);
  } else if (!options.keep_alive || framing.kind == Framing::Kind::kUntilClose) {
    AppendField(out, "connection", "close");
  }
  out.append("\r\n");
}

}  // namespace

void AppendRequestHead(std::string& out, const h2::RequestHead& head, const Framing& framing,
                       const HeadOptions& options) {
  out.append(head.method);
  out.push_back(' ');
  out.append(head.method == "CONNECT" ? head.authority : head.path);
  out.append(" HTTP/1.1\r\n");
  if (!head.authority.empty()) AppendField(out, "host", head.authority);
  for (const h2::Header& f : head.fields) AppendField(out, f.name, f.value);
  AppendFraming(out, framing, options);
}

void AppendResponseHead(std::string& out, const h2::ResponseHead& head, const Framing& framing,
                        const HeadOptions& options) {
  out.append("HTTP/1.1 ");
  out.append(std::to_string(head.status));
  out.push_back(' ');
  out.append(http_status_str(static_cast<http_status>(head.status)));
  out.append("\r\n");
  for (const h2::Header& f : head.fields) AppendField(out, f.name, f.value);
  AppendFraming(out, framing, options);
}

void AppendChunk(std::string& out, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  out.append(size, static_cast<std::size_t>(n));
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  out.append("\r\n");
}

void AppendLastChunk(std::string& out, const h2::Headers& trailers) {
  out.append("0\r\n");
  for (const h2::Header& t : trailers) AppendField(out, t.name, t.value);
  out.append("\r\n");
}

}  // namespace ambit::http1
