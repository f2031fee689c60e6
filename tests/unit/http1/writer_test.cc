#include "http1/writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http1/parser.h"
#include "recorder.h"

namespace ambit::http1 {
namespace {

TEST(Http1Writer, ChunkedRequestRoundTripsThroughTheParser) {
  h2::RequestHead head;
  head.method = "POST";
  head.scheme = "http";
  head.authority = "ratings:9080";
  head.path = "/ratings/0?x=1";
  head.fields = {{"content-type", "application/grpc"}, {"x-request-id", "r1"}};
  std::string wire;
  AppendRequestHead(wire, head, {Framing::Kind::kChunked, 0});
  AppendChunk(wire, Bytes("hello "));
  AppendChunk(wire, Bytes(""));  // writes nothing (would end the body)
  AppendChunk(wire, Bytes(std::string(300, 'z')));
  AppendLastChunk(wire, {{"grpc-status", "0"}});

  Recorder c;
  Parser p(Parser::Kind::kRequests, c);
  auto n = p.Feed(Bytes(wire));
  ASSERT_TRUE(n.ok()) << n.error().ToString() << "\n" << wire;
  ASSERT_EQ(c.requests.size(), 1u);
  EXPECT_EQ(c.requests[0], head);
  EXPECT_TRUE(c.infos[0].chunked);
  EXPECT_EQ(c.bodies[0], "hello " + std::string(300, 'z'));
  EXPECT_EQ(c.trailers[0], (h2::Headers{{"grpc-status", "0"}}));
  EXPECT_EQ(c.ends, 1);
}

TEST(Http1Writer, ResponsesConnectAndUpgrade) {
  h2::ResponseHead resp;
  resp.status = 404;
  resp.fields = {{"server", "ambit"}};
  std::string wire;
  AppendResponseHead(wire, resp, {Framing::Kind::kContentLength, 3}, {.keep_alive = false, .upgrade = {}});
  wire += "nop";
  EXPECT_EQ(wire.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << wire;
  Recorder c;
  Parser p(Parser::Kind::kResponses, c);
  ASSERT_TRUE(p.Feed(Bytes(wire)).ok());
  ASSERT_EQ(c.responses.size(), 1u);
  EXPECT_EQ(c.responses[0].status, 404);
  EXPECT_EQ(c.responses[0].fields, (h2::Headers{{"server", "ambit"}, {"content-length", "3"}}));
  EXPECT_FALSE(c.infos[0].keep_alive);
  EXPECT_EQ(c.bodies[0], "nop");

  h2::RequestHead connect;
  connect.method = "CONNECT";
  connect.authority = "db:5432";
  std::string cw;
  AppendRequestHead(cw, connect, {});
  EXPECT_EQ(cw, "CONNECT db:5432 HTTP/1.1\r\nhost: db:5432\r\n\r\n");

  h2::RequestHead ws;
  ws.method = "GET";
  ws.scheme = "http";
  ws.authority = "chat";
  ws.path = "/ws";
  std::string ww;
  AppendRequestHead(ww, ws, {}, {.keep_alive = true, .upgrade = "websocket"});
  Recorder u;
  Parser q(Parser::Kind::kRequests, u);
  ASSERT_TRUE(q.Feed(Bytes(ww)).ok());
  EXPECT_TRUE(q.upgraded());
  EXPECT_EQ(u.infos[0].upgrade, "websocket");
  EXPECT_EQ(u.requests[0], ws);
}

}  // namespace
}  // namespace ambit::http1
