#include "httpd/http_request.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "httpd/http_server.h"

namespace ambit::httpd {
namespace {

// By value: callers pass the temporary result of ParseHttpRequest.
HttpParsed Parsed(const HttpParseResult& r) {
  if (const auto* p = std::get_if<HttpParsed>(&r)) return *p;
  ADD_FAILURE() << "not parsed: "
                << (std::holds_alternative<HttpNeedMore>(r) ? std::string("need more")
                                                            : std::get<HttpParseError>(r).message);
  return {};
}

HttpParseError ErrorOf(const HttpParseResult& r) {
  if (const auto* e = std::get_if<HttpParseError>(&r)) return *e;
  ADD_FAILURE() << "not an error";
  return {};
}

bool NeedsMore(const HttpParseResult& r) { return std::holds_alternative<HttpNeedMore>(r); }

TEST(HttpRequestTest, ParsesRequestLineHeadersAndBody) {
  const std::string wire =
      "POST /echo?x=1&y HTTP/1.1\r\nHost: a\r\nX-Thing:  v1 \r\nx-thing: v2\r\n"
      "Content-Length: 5\r\n\r\nhelloEXTRA";
  const HttpParsed p = Parsed(ParseHttpRequest(wire));
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.path, "/echo");
  EXPECT_EQ(p.request.query, "x=1&y");
  EXPECT_EQ(p.request.headers.at("host"), "a");
  EXPECT_EQ(p.request.headers.at("x-thing"), "v1, v2");
  EXPECT_EQ(p.request.body, "hello");
  EXPECT_EQ(p.consumed, wire.size() - 5);
}

TEST(HttpRequestTest, RequestWithoutHeadersOrBody) {
  const HttpParsed p = Parsed(ParseHttpRequest("GET /metrics HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.path, "/metrics");
  EXPECT_TRUE(p.request.headers.empty());
  EXPECT_EQ(p.consumed, 25u);
}

TEST(HttpRequestTest, EveryPrefixOfARequestNeedsMore) {
  const std::string wire = "POST /q HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_TRUE(NeedsMore(ParseHttpRequest(wire.substr(0, n)))) << n;
  }
  EXPECT_EQ(Parsed(ParseHttpRequest(wire)).request.body, "abc");
}

TEST(HttpRequestTest, NoCrlfNeedsMoreThenIsTooLarge) {
  HttpLimits limits{.max_head = 64, .max_body = 16};
  // Bare LF line endings never end the head.
  EXPECT_TRUE(NeedsMore(ParseHttpRequest("GET / HTTP/1.1\n\n", limits)));
  EXPECT_TRUE(NeedsMore(ParseHttpRequest("GET / HTTP/1.1", limits)));
  const HttpParseError e = ErrorOf(ParseHttpRequest(std::string(64, 'a'), limits));
  EXPECT_EQ(e.status, 431);
  EXPECT_NE(e.message.find("64 bytes"), std::string::npos) << e.message;
}

TEST(HttpRequestTest, OversizedHeadersAre431) {
  const std::string wire = "GET / HTTP/1.1\r\nX-Big: " + std::string(20 * 1024, 'x') + "\r\n\r\n";
  EXPECT_EQ(ErrorOf(ParseHttpRequest(wire)).status, 431);
  // The blank line must fit too: a head ending exactly past the limit is refused.
  HttpLimits limits{.max_head = 20, .max_body = 0};
  EXPECT_EQ(ErrorOf(ParseHttpRequest("GET /abcd HTTP/1.1\r\n\r\n", limits)).status, 431);
  EXPECT_EQ(Parsed(ParseHttpRequest("GET /ab HTTP/1.1\r\n\r\n", limits)).request.path, "/ab");
}

TEST(HttpRequestTest, AbsurdPathsAre400OrTooLarge) {
  for (const char* wire : {
           "GET * HTTP/1.1\r\n\r\n",              // asterisk-form
           "GET http://evil/x HTTP/1.1\r\n\r\n",  // absolute-form
           "GET  HTTP/1.1\r\n\r\n",               // empty target
           "GET /a\x01z HTTP/1.1\r\n\r\n",        // control byte
           "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",   // non-ASCII
           "GET /a b HTTP/1.1\r\n\r\n",           // space in target
       }) {
    const HttpParseError e = ErrorOf(ParseHttpRequest(wire));
    EXPECT_EQ(e.status, 400) << wire;
    EXPECT_NE(e.message.find("request"), std::string::npos) << e.message;
  }
  const std::string huge = "GET /" + std::string(17 * 1024, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(ErrorOf(ParseHttpRequest(huge)).status, 431);
}

TEST(HttpRequestTest, BadMethodsAndVersionsAre400) {
  for (const char* wire : {
           " / HTTP/1.1\r\n\r\n",      // no method
           "G(T / HTTP/1.1\r\n\r\n",   // not a token
           "GET\t/ HTTP/1.1\r\n\r\n",  // no SP
           "GET /\r\n\r\n",            // HTTP/0.9
           "GET / HTTP/2.0\r\n\r\n",
           "GET / HTTP/1.1x\r\n\r\n",
           "GET / http/1.1\r\n\r\n",
           "\r\n\r\n",
       }) {
    const HttpParseError e = ErrorOf(ParseHttpRequest(wire));
    EXPECT_EQ(e.status, 400) << wire;
    EXPECT_NE(e.message.find("request line"), std::string::npos) << e.message;
  }
  // Unknown but well-formed methods parse; handlers decide (e.g. 405).
  EXPECT_EQ(Parsed(ParseHttpRequest("BREW /pot HTTP/1.1\r\n\r\n")).request.method, "BREW");
}

TEST(HttpRequestTest, MalformedHeadersAre400NamingTheLine) {
  struct Case {
    const char* wire;
    const char* want;
  };
  for (const Case& c : {
           Case{"GET / HTTP/1.1\r\nHost a\r\n\r\n", "line 1: no ':'"},
           Case{"GET / HTTP/1.1\r\nA: b\r\n: v\r\n\r\n", "line 2: bad field name"},
           Case{"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", "line 1: bad field name"},
           Case{"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "line 2: obsolete line folding"},
           Case{"GET / HTTP/1.1\r\nA: b\nc\r\n\r\n", "line 1: control character"},
       }) {
    const std::string wire = c.wire;
    const HttpParseError e = ErrorOf(ParseHttpRequest(wire));
    EXPECT_EQ(e.status, 400) << wire;
    EXPECT_NE(e.message.find(c.want), std::string::npos) << e.message;
  }
  // A NUL inside a value (the literal above stops at it).
  const std::string nul = std::string("GET / HTTP/1.1\r\nA: b") + '\0' + "z\r\n\r\n";
  EXPECT_NE(ErrorOf(ParseHttpRequest(nul)).message.find("control character"), std::string::npos);
}

TEST(HttpRequestTest, ContentLengthRules) {
  auto with = [](const std::string& headers) {
    return ParseHttpRequest("POST /x HTTP/1.1\r\n" + headers + "\r\n\r\n0123456789");
  };
  EXPECT_EQ(Parsed(with("Content-Length: 4")).request.body, "0123");
  EXPECT_EQ(Parsed(with("Content-Length: 4\r\nContent-Length: 4")).request.body, "0123");
  EXPECT_EQ(ErrorOf(with("Content-Length: 4\r\nContent-Length: 5")).status, 400);
  EXPECT_EQ(ErrorOf(with("Content-Length: -1")).status, 400);
  EXPECT_EQ(ErrorOf(with("Content-Length: 0x10")).status, 400);
  EXPECT_EQ(ErrorOf(with("Content-Length:")).status, 400);
  EXPECT_EQ(ErrorOf(with("Content-Length: 65537")).status, 413);
  EXPECT_EQ(ErrorOf(with("Content-Length: 99999999999999999999999999")).status, 413);
  EXPECT_EQ(ErrorOf(with("Transfer-Encoding: chunked")).status, 501);
  EXPECT_TRUE(NeedsMore(with("Content-Length: 11")));
}

// Sends |bytes| (then half-closes when |finish|) and returns the whole reply.
std::string RawExchange(const net::SocketAddress& addr, const std::string& bytes, bool finish) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t len = addr.ToSockaddr(&ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading it all
    sent += static_cast<std::size_t>(n);
  }
  if (finish) ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

TEST(HttpServerTest, MalformedRequestsGetTheirStatusAndReachNoHandler) {
  ServiceLoop loop;
  loop.Start();
  std::atomic<int> handled{0};
  HttpRoutes routes;
  routes["/x"] = [&handled](const HttpRequest&) {
    ++handled;
    return HttpResponse::Text(200, "ok\n");
  };
  auto server = HttpServer::Start(loop, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                  std::move(routes));
  ASSERT_TRUE(server.ok());
  const auto addr = (*server)->local_address();

  EXPECT_EQ(RawExchange(addr, "GET /x HTTP/1.1\r\n\r\n", false).rfind("HTTP/1.1 200 OK\r\n", 0),
            0u);
  EXPECT_EQ(handled.load(), 1);

  // Exactly the limit without a blank line: the server reads it all, so its
  // close after the answer is a clean FIN (unread bytes would make it a reset).
  std::string big = "GET /x HTTP/1.1\r\nX: ";
  big += std::string(16 * 1024 - big.size(), 'a');
  const std::string r431 = RawExchange(addr, big, false);
  EXPECT_EQ(r431.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << r431;
  EXPECT_NE(r431.find("request head exceeds 16384 bytes"), std::string::npos) << r431;

  const std::string r400 = RawExchange(addr, "GET x HTTP/1.1\r\n\r\n", false);
  EXPECT_EQ(r400.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << r400;
  EXPECT_NE(r400.find("want a path starting with '/'"), std::string::npos) << r400;

  const std::string r501 =
      RawExchange(addr, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false);
  EXPECT_EQ(r501.rfind("HTTP/1.1 501 Not Implemented\r\n", 0), 0u) << r501;

  // No blank line, then the client stops sending: answered, not left hanging.
  const std::string partial = RawExchange(addr, "GET /x HTTP/1.1\r\nHost: a", true);
  EXPECT_EQ(partial.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << partial;
  EXPECT_NE(partial.find("incomplete request"), std::string::npos) << partial;

  EXPECT_EQ(handled.load(), 1);
  (*server)->Close();
  loop.Stop();
}

}  // namespace
}  // namespace ambit::httpd
