#include "http1/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recorder.h"

namespace ambit::http1 {
namespace {

// Feeds |wire| in pieces of |step| bytes (splits names, values and chunk
// sizes across calls); returns the first error's status, or 0.
int FeedAll(Parser& parser, const std::string& wire, std::size_t step = 1 << 20) {
  for (std::size_t off = 0; off < wire.size(); off += step) {
    const std::string piece = wire.substr(off, step);
    auto n = parser.Feed(Bytes(piece));
    if (!n.ok()) return parser.error_status();
    if (*n < piece.size()) break;  // upgraded
  }
  return 0;
}

TEST(Http1Parser, RequestHeadBecomesTheSameValueAsHttp2) {
  const std::string wire =
      "GET /reviews/1?x=y HTTP/1.1\r\nHost: reviews:9080\r\nUser-Agent: curl/7.88\r\n"
      "Accept: */*\r\nX-Request-Id: abc\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, wire.size()}) {
    Recorder r;
    Parser p(Parser::Kind::kRequests, r);
    ASSERT_EQ(FeedAll(p, wire, step), 0) << step;
    ASSERT_EQ(r.requests.size(), 1u);
    const h2::RequestHead& h = r.requests[0];
    EXPECT_EQ(h.method, "GET");
    EXPECT_EQ(h.scheme, "http");
    EXPECT_EQ(h.authority, "reviews:9080");
    EXPECT_EQ(h.path, "/reviews/1?x=y");
    const h2::Headers want = {{"user-agent", "curl/7.88"}, {"accept", "*/*"}, {"x-request-id", "abc"}};
    EXPECT_EQ(h.fields, want);
    EXPECT_TRUE(r.infos[0].keep_alive);
    EXPECT_EQ(r.ends, 1);
    EXPECT_TRUE(p.idle());
  }
}

TEST(Http1Parser, KeepAliveCarriesSeveralRequestsWithBodies) {
  const std::string wire =
      "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\nGrpc-Status: 0\r\n\r\n"
      "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{5}, wire.size()}) {
    Recorder r;
    Parser p(Parser::Kind::kRequests, r);
    ASSERT_EQ(FeedAll(p, wire, step), 0);
    ASSERT_EQ(r.requests.size(), 3u);
    EXPECT_EQ(r.bodies, (std::vector<std::string>{"hello", "abcdefg", ""}));
    EXPECT_EQ(r.infos[0].content_length, 5u);
    EXPECT_TRUE(r.infos[1].chunked);
    ASSERT_EQ(r.trailers.size(), 1u);
    EXPECT_EQ(r.trailers[0], (h2::Headers{{"grpc-status", "0"}}));
    EXPECT_FALSE(r.infos[2].keep_alive);
    EXPECT_EQ(r.ends, 3);
  }
}

TEST(Http1Parser, HopByHopFieldsAreSummarisedNotForwarded) {
  Recorder r;
  Parser p(Parser::Kind::kRequests, r);
  ASSERT_EQ(FeedAll(p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: 5\r\n"
                       "X-Secret: 1\r\nTE: trailers\r\nExpect: 100-continue\r\nX-Kept: 2\r\n\r\n"),
            0);
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].fields, (h2::Headers{{"expect", "100-continue"}, {"x-kept", "2"}}));
  EXPECT_EQ(r.infos[0].te, "trailers");
  EXPECT_TRUE(r.infos[0].expect_continue);
}

// Request smuggling: every ambiguous framing is refused with 400 (RFC 9112 §6).
TEST(Http1Parser, AmbiguousFramingIsRefused) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\nabc", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      // http-parser reads these names as the framing fields they extend.
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encodingx: 1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Lengthy: 3\r\n\r\nabc", 400},
      {"GET / HTTP/1.1\nHost: h\n\n", 0},  // bare LF: accepted by http-parser, framing unambiguous
  };
  for (const auto& [wire, status] : cases) {
    Recorder r;
    Parser p(Parser::Kind::kRequests, r);
    EXPECT_EQ(FeedAll(p, wire), status) << wire;
    if (status != 0) {
      EXPECT_EQ(r.ends, 0) << wire;
      EXPECT_FALSE(p.Feed(Bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")).ok()) << "dead after an error";
    }
  }
}

// RFC 9112 §5.2 lets a server replace obs-fold with spaces instead of refusing it:
// the field value then holds no line break, so nothing downstream can split it.
TEST(Http1Parser, ObsFoldNeverLeavesALineBreakInAValue) {
  Recorder r;
  Parser p(Parser::Kind::kRequests, r);
  ASSERT_EQ(FeedAll(p, "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), 0);
  ASSERT_EQ(r.requests.size(), 1u);
  ASSERT_EQ(r.requests[0].fields.size(), 1u);
  const std::string& v = r.requests[0].fields[0].value;
  EXPECT_EQ(v.find_first_of("\r\n"), std::string::npos) << v;
}

TEST(Http1Parser, LimitsAnswer431) {
  Limits small;
  small.max_head_bytes = 200;
  small.max_fields = 5;
  {
    Recorder r;
    Parser p(Parser::Kind::kRequests, r, small);
    EXPECT_EQ(FeedAll(p, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n", 16), 431);
  }
  {
    std::string wire = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 6; ++i) wire += "X-" + std::to_string(i) + ": v\r\n";
    Recorder r;
    Parser p(Parser::Kind::kRequests, r, small);
    EXPECT_EQ(FeedAll(p, wire + "\r\n"), 431);
    Recorder ok;
    Parser q(Parser::Kind::kRequests, ok, small);
    EXPECT_EQ(FeedAll(q, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), 0);
  }
}

TEST(Http1Parser, AbsoluteFormTargetWinsOverHost) {
  Recorder r;
  Parser p(Parser::Kind::kRequests, r);
  ASSERT_EQ(FeedAll(p, "GET http://Example.COM:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n"), 0);
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].scheme, "http");
  EXPECT_EQ(r.requests[0].authority, "Example.COM:8080");
  EXPECT_EQ(r.requests[0].path, "/p?q=1");
}

TEST(Http1Parser, ConnectAndUpgradeHandTheRestToTheNewProtocol) {
  {
    Recorder r;
    Parser p(Parser::Kind::kRequests, r);
    const std::string wire = "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\nRAW";
    auto n = p.Feed(Bytes(wire));
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    EXPECT_EQ(*n, wire.size() - 3);
    EXPECT_TRUE(p.upgraded());
    EXPECT_EQ(r.requests[0].authority, "db:5432");
    EXPECT_EQ(r.requests[0].path, "");
  }
  {
    Recorder r;
    Parser p(Parser::Kind::kRequests, r);
    const std::string wire =
        "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next";
    auto n = p.Feed(Bytes(wire));
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(p.upgraded());
    EXPECT_EQ(r.infos[0].upgrade, "websocket");
    // The server said no (no 101): the connection goes on as HTTP/1.
    p.ResumeAfterRefusedUpgrade();
    const std::string rest = wire.substr(*n) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    EXPECT_EQ(FeedAll(p, rest), 0);
    ASSERT_EQ(r.requests.size(), 2u);
    EXPECT_EQ(r.requests[1].path, "/next");
  }
}

TEST(Http1Parser, ResponsesWithAndWithoutBodies) {
  Recorder r;
  Parser p(Parser::Kind::kResponses, r);
  ASSERT_EQ(FeedAll(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: x\r\n\r\nok"), 0);
  p.ExpectResponseToHead(true);
  ASSERT_EQ(FeedAll(p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), 0);  // HEAD: no body follows
  ASSERT_EQ(FeedAll(p, "HTTP/1.1 204 No Content\r\n\r\n"), 0);
  // A body that runs to the end of the connection.
  ASSERT_EQ(FeedAll(p, "HTTP/1.0 200 OK\r\n\r\nuntil close"), 0);
  EXPECT_TRUE(p.Finish().ok());
  ASSERT_EQ(r.responses.size(), 5u);
  EXPECT_EQ(r.responses[0].status, 100);
  EXPECT_EQ(r.responses[1].status, 200);
  EXPECT_EQ(r.responses[1].fields, (h2::Headers{{"content-length", "2"}, {"server", "x"}}));
  EXPECT_EQ(r.bodies, (std::vector<std::string>{"", "ok", "", "", "until close"}));
  EXPECT_EQ(r.ends, 5);
}

TEST(Http1Parser, AMessageCutShortIsAnError) {
  Recorder r;
  Parser p(Parser::Kind::kResponses, r);
  ASSERT_EQ(FeedAll(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), 0);
  EXPECT_FALSE(p.Finish().ok());
  Recorder r2;
  Parser q(Parser::Kind::kRequests, r2);
  ASSERT_EQ(FeedAll(q, "GET / HTTP/1.1\r\nHo"), 0);
  EXPECT_FALSE(q.idle());
  EXPECT_FALSE(q.Finish().ok());
}

}  // namespace
}  // namespace ambit::http1
