// Feeds arbitrary bytes, as received on the admin/metrics/readiness port, to
// ParseHttpRequest with the servers' limits and with small ones (so the 413
// and 431 paths are reached by short inputs). Checks that it never crashes
// and that its results are consistent:
//  - an error has one of the documented statuses, and more bytes keep it;
//  - a parsed request is well formed (token method, path starting with '/',
//    body within the limit), every shorter prefix of it needs more bytes,
//    exactly its own bytes parse to the same request, and the request
//    written back out parses to the same request;
//  - "need more" only while the input could still become a request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "httpd/http_request.h"

namespace {

using ambit::httpd::HttpLimits;
using ambit::httpd::HttpNeedMore;
using ambit::httpd::HttpParsed;
using ambit::httpd::HttpParseError;
using ambit::httpd::HttpRequest;
using ambit::httpd::ParseHttpRequest;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Same(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query && a.headers == b.headers &&
         a.body == b.body;
}

void Run(std::string_view data, const HttpLimits& limits) {
  const auto result = ParseHttpRequest(data, limits);
  if (const auto* error = std::get_if<HttpParseError>(&result)) {
    Check(error->status == 400 || error->status == 413 || error->status == 431 ||
          error->status == 501);
    Check(!error->message.empty());
    const auto more = ParseHttpRequest(std::string(data) + "\r\n\r\nx", limits);
    const auto* again = std::get_if<HttpParseError>(&more);
    Check(again != nullptr && again->status == error->status);
    return;
  }
  if (std::holds_alternative<HttpNeedMore>(result)) {
    Check(data.size() < limits.max_head + limits.max_body);
    return;
  }
  const HttpParsed& parsed = std::get<HttpParsed>(result);
  const HttpRequest& req = parsed.request;
  Check(parsed.consumed > 0 && parsed.consumed <= data.size());
  Check(parsed.consumed <= limits.max_head + limits.max_body);
  Check(req.body.size() <= limits.max_body);
  Check(!req.method.empty() && !req.path.empty() && req.path.front() == '/');
  for (const auto& [name, value] : req.headers) {
    Check(!name.empty());
    for (char c : name) Check(!(c >= 'A' && c <= 'Z') && c != ':' && c != ' ');
  }
  Check(std::holds_alternative<HttpNeedMore>(
      ParseHttpRequest(data.substr(0, parsed.consumed - 1), limits)));
  Check(std::holds_alternative<HttpNeedMore>(
      ParseHttpRequest(data.substr(0, parsed.consumed / 2), limits)));
  const auto exact = ParseHttpRequest(data.substr(0, parsed.consumed), limits);
  const auto* exact_parsed = std::get_if<HttpParsed>(&exact);
  Check(exact_parsed != nullptr && exact_parsed->consumed == parsed.consumed &&
        Same(exact_parsed->request, req));
  // Written back out (never longer than what was received), it reads the same.
  std::string wire = req.method + " " + req.path;
  if (!req.query.empty()) wire += "?" + req.query;
  wire += " HTTP/1.1\r\n";
  for (const auto& [name, value] : req.headers) wire += name + ":" + value + "\r\n";
  wire += "\r\n" + req.body;
  const auto rebuilt = ParseHttpRequest(wire, limits);
  const auto* rebuilt_parsed = std::get_if<HttpParsed>(&rebuilt);
  Check(rebuilt_parsed != nullptr && rebuilt_parsed->consumed == wire.size() &&
        Same(rebuilt_parsed->request, req));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Run(bytes, HttpLimits{});
  Run(bytes, HttpLimits{.max_head = 96, .max_body = 16});
  return 0;
}
