// Feeds arbitrary bytes to the HTTP/1 parser, as requests or responses (first
// byte), once whole and once in pieces of a size taken from the second byte.
// Checks that nothing crashes and that both feedings report exactly the same
// messages (heads, bodies, trailers, ends), or both an error: how the bytes
// are split by the network must never change what a message is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http1/parser.h"
#include "http1/writer.h"

namespace {

using namespace ambit;

struct Heads final : http1::Sink {
  std::vector<h2::RequestHead> requests;
  void OnRequest(h2::RequestHead head, const http1::MessageInfo&) override { requests.push_back(std::move(head)); }
  void OnBody(std::span<const std::uint8_t>) override {}
  void OnMessageEnd() override {}
};

bool RoundTrips(const h2::RequestHead& head) {
  // An HTTP/1.0 request may lack Host; HTTP/1.1, which the writer speaks,
  // needs one (the proxy fills it from the route), so there is no round trip.
  if (head.authority.empty()) return true;
  std::string wire;
  http1::AppendRequestHead(wire, head, {});
  Heads heads;
  http1::Parser parser(http1::Parser::Kind::kRequests, heads);
  auto n = parser.Feed({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()});
  if (!n.ok() || heads.requests.size() != 1) return false;
  h2::RequestHead want = head;
  if (want.scheme == "https" || want.scheme.empty()) want.scheme = head.method == "CONNECT" ? "" : "http";
  return heads.requests[0] == want;
}

struct Record final : http1::Sink {
  std::vector<std::string> events;
  void OnRequest(h2::RequestHead head, const http1::MessageInfo& info) override {
    std::string e = "req " + head.method + " " + head.scheme + " " + head.authority + " " + head.path;
    for (const auto& f : head.fields) e += "|" + f.name + ":" + f.value;
    e += info.chunked ? " chunked" : "";
    e += info.content_length ? " cl=" + std::to_string(*info.content_length) : "";
    events.push_back(std::move(e));
    // What the parser returns must satisfy the HTTP/2 head rules, and
    // written out again it must parse back to itself.
    if (!h2::ParseRequestHead(h2::ToHeaders(head)).ok()) std::abort();
    if (!RoundTrips(head)) std::abort();
  }
  void OnResponse(h2::ResponseHead head, const http1::MessageInfo&) override {
    std::string e = "resp " + std::to_string(head.status);
    for (const auto& f : head.fields) e += "|" + f.name + ":" + f.value;
    events.push_back(std::move(e));
  }
  void OnBody(std::span<const std::uint8_t> bytes) override {
    if (events.empty() || events.back().rfind("body ", 0) != 0) events.push_back("body ");
    events.back().append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  void OnTrailers(h2::Headers t) override {
    std::string e = "trailers";
    for (const auto& f : t) e += "|" + f.name + ":" + f.value;
    events.push_back(std::move(e));
  }
  void OnMessageEnd() override { events.push_back("end"); }
};

struct Outcome {
  std::vector<std::string> events;
  int status = 0;
  std::size_t consumed = 0;
};

Outcome Run(bool responses, const std::uint8_t* data, std::size_t size, std::size_t step) {
  Record sink;
  http1::Limits limits;
  limits.max_head_bytes = 4096;
  limits.max_fields = 16;
  http1::Parser parser(responses ? http1::Parser::Kind::kResponses : http1::Parser::Kind::kRequests, sink,
                       limits);
  Outcome out;
  for (std::size_t off = 0; off < size; off += step) {
    const std::size_t n = std::min(step, size - off);
    auto r = parser.Feed({data + off, n});
    if (!r.ok()) {
      out.status = parser.error_status() == 0 ? -1 : parser.error_status();
      break;
    }
    out.consumed += *r;
    if (*r < n || parser.upgraded()) break;
  }
  if (out.status == 0 && !parser.upgraded() && !parser.Finish().ok()) out.status = -2;
  out.events = std::move(sink.events);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool responses = (data[0] & 1) != 0;
  const std::size_t step = 1 + data[1] % 17;
  data += 2;
  size -= 2;
  const Outcome whole = Run(responses, data, size, size == 0 ? 1 : size);
  const Outcome split = Run(responses, data, size, step);
  // Both must agree that there is an error. Which one is reported first may
  // differ when the bytes hold several (callbacks come at different points of
  // a split head), so the statuses are not compared.
  if ((whole.status != 0) != (split.status != 0)) std::abort();
  if (whole.status == 0 && whole.events != split.events) std::abort();
  return 0;
}
