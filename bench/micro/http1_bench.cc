// HTTP/1.1 parsing cost (docs/http1.md): http-parser alone with empty
// callbacks (the state machine's floor) against ambit::http1::Parser (the
// same machine plus what a proxy needs: heads as h2::RequestHead, hop-by-hop
// fields, smuggling and field checks), on a browser-like GET (13 fields, about
// 500 bytes) and on a keep-alive response with a 1 KiB body.
#include <benchmark/benchmark.h>

#include <http_parser.h>

#include <string>

#include "http1/parser.h"

namespace {

using namespace ambit;

const std::string kRequest =
    "GET /productpage?u=normal HTTP/1.1\r\n"
    "Host: productpage.bookinfo.svc.cluster.local:9080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=8f2b1c9e4d7a; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "X-Request-Id: 6c2a9e0e-3d1f-4f0b-9a55-1b2c3d4e5f60\r\n"
    "X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124\r\n"
    "X-B3-SpanId: a2fb4a1d1a96d312\r\n"
    "X-B3-Sampled: 1\r\n"
    "Cache-Control: max-age=0\r\n"
    "\r\n";

const std::string kResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1024\r\n"
                              "Server: istio-envoy\r\nDate: Mon, 07 Dec 2026 18:00:00 GMT\r\n\r\n" +
                              std::string(1024, 'x');

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Count final : http1::Sink {
  std::size_t messages = 0;
  std::size_t body = 0;
  void OnRequest(h2::RequestHead head, const http1::MessageInfo&) override { benchmark::DoNotOptimize(head); }
  void OnResponse(h2::ResponseHead head, const http1::MessageInfo&) override { benchmark::DoNotOptimize(head); }
  void OnBody(std::span<const std::uint8_t> b) override { body += b.size(); }
  void OnMessageEnd() override { ++messages; }
};

void RunRaw(benchmark::State& state, const std::string& wire, http_parser_type type) {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  http_parser parser;
  http_parser_init(&parser, type);
  for (auto _ : state) {
    const std::size_t n = http_parser_execute(&parser, &settings, wire.data(), wire.size());
    if (n != wire.size()) state.SkipWithError("http-parser refused the message");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}

void RunOurs(benchmark::State& state, const std::string& wire, http1::Parser::Kind kind) {
  Count sink;
  http1::Parser parser(kind, sink);
  for (auto _ : state) {
    auto n = parser.Feed(Bytes(wire));
    if (!n.ok()) state.SkipWithError(n.error().ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  if (sink.messages != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a message was lost");
}

void BM_HttpParserRequest(benchmark::State& state) { RunRaw(state, kRequest, HTTP_REQUEST); }
void BM_Http1ParserRequest(benchmark::State& state) { RunOurs(state, kRequest, http1::Parser::Kind::kRequests); }
void BM_HttpParserResponse(benchmark::State& state) { RunRaw(state, kResponse, HTTP_RESPONSE); }
void BM_Http1ParserResponse(benchmark::State& state) {
  RunOurs(state, kResponse, http1::Parser::Kind::kResponses);
}

BENCHMARK(BM_HttpParserRequest);
BENCHMARK(BM_Http1ParserRequest);
BENCHMARK(BM_HttpParserResponse);
BENCHMARK(BM_Http1ParserResponse);

}  // namespace
