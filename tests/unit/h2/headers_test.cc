#include "h2/headers.h"

#include <gtest/gtest.h>

namespace ambit::h2 {
namespace {

std::string ErrorOf(const Result<RequestHead>& r) { return r.ok() ? "" : r.error().ToString(); }

TEST(RequestHead, SplitsPseudoHeadersFromFieldsInOrder) {
  auto r = ParseRequestHead({{":method", "GET"},
                             {":scheme", "https"},
                             {":authority", "reviews.default:9080"},
                             {":path", "/reviews/0?x=1"},
                             {"user-agent", "curl/7.88"},
                             {"x-b", "2"},
                             {"x-a", "1"},
                             {"te", "trailers"}});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->scheme, "https");
  EXPECT_EQ(r->authority, "reviews.default:9080");
  EXPECT_EQ(r->path, "/reviews/0?x=1");
  EXPECT_EQ(r->protocol, "");
  ASSERT_EQ(r->fields.size(), 4u);
  EXPECT_EQ(r->fields[1].name, "x-b");
  EXPECT_EQ(FindField(r->fields, "x-a"), "1");
  EXPECT_EQ(FindField(r->fields, "absent"), "");
  auto again = ParseRequestHead(ToHeaders(*r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *r);
}

TEST(RequestHead, ConnectForms) {
  auto plain = ParseRequestHead({{":method", "CONNECT"}, {":authority", "10.0.0.1:80"}});
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_EQ(plain->authority, "10.0.0.1:80");
  EXPECT_EQ(ToHeaders(*plain).size(), 2u);
  auto extended = ParseRequestHead({{":method", "CONNECT"},
                                    {":protocol", "websocket"},
                                    {":scheme", "https"},
                                    {":authority", "chat"},
                                    {":path", "/ws"}});
  ASSERT_TRUE(extended.ok()) << extended.error().ToString();
  EXPECT_EQ(extended->protocol, "websocket");
  EXPECT_NE(ErrorOf(ParseRequestHead({{":method", "CONNECT"}})).find("CONNECT without :authority"),
            std::string::npos);
  EXPECT_NE(ErrorOf(ParseRequestHead({{":method", "CONNECT"}, {":authority", "a:1"}, {":path", "/"}}))
                .find("CONNECT with :scheme or :path"),
            std::string::npos);
  EXPECT_NE(ErrorOf(ParseRequestHead({{":method", "GET"}, {":protocol", "websocket"}, {":scheme", "http"},
                                      {":path", "/"}}))
                .find(":protocol on a GET"),
            std::string::npos);
}

TEST(RequestHead, RefusesWhatRfc9113Refuses) {
  const std::vector<std::pair<Headers, std::string>> cases = {
      {{{":scheme", "http"}, {":path", "/"}}, ":method is missing"},
      {{{":method", "GET"}, {":path", "/"}}, ":scheme is missing"},
      {{{":method", "GET"}, {":scheme", "http"}}, ":path is missing"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", ""}}, ":path is missing or empty"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "x"}}, "does not start with '/'"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "*"}}, ":path '*' on a GET"},
      {{{":method", "GET"}, {":method", "GET"}, {":scheme", "http"}, {":path", "/"}}, ":method repeated"},
      {{{":method", "GET"}, {"a", "1"}, {":scheme", "http"}, {":path", "/"}}, "after a regular field"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":foo", "1"}}, "unknown pseudo-header ':foo'"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":status", "200"}}, ":status in a request"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"Host", "x"}}, "is not lower case"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"a b", "x"}}, "forbids"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"connection", "close"}}, "connection-specific"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"transfer-encoding", "chunked"}},
       "connection-specific field transfer-encoding"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"te", "gzip"}}, "only 'trailers'"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"x", "a\r\nb"}}, "NUL, CR or LF"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"x", " a"}}, "whitespace"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/a b"}}, "control character or space"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"", "x"}}, "empty field name"},
  };
  for (const auto& [headers, want] : cases) {
    const std::string got = ErrorOf(ParseRequestHead(headers));
    EXPECT_NE(got.find(want), std::string::npos) << "want '" << want << "', got '" << got << "'";
  }
  // OPTIONS * is the one request whose path is not absolute.
  EXPECT_TRUE(ParseRequestHead({{":method", "OPTIONS"}, {":scheme", "http"}, {":path", "*"}}).ok());
}

TEST(ResponseHead, StatusAndFields) {
  auto r = ParseResponseHead({{":status", "404"}, {"content-length", "0"}});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(FindField(r->fields, "content-length"), "0");
  EXPECT_EQ(*ParseResponseHead(ToHeaders(*r)), *r);
  for (const char* bad : {"20", "2000", "099", "600", "abc", "-20"}) {
    auto b = ParseResponseHead({{":status", bad}});
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().ToString().find("is not a status code"), std::string::npos);
  }
  EXPECT_FALSE(ParseResponseHead({{"content-length", "0"}}).ok());
  EXPECT_FALSE(ParseResponseHead({{":status", "200"}, {":status", "200"}}).ok());
  EXPECT_FALSE(ParseResponseHead({{":status", "200"}, {":path", "/"}}).ok());
  EXPECT_FALSE(ParseResponseHead({{":status", "200"}, {"upgrade", "h2c"}}).ok());
}

}  // namespace
}  // namespace ambit::h2
