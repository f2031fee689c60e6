#include "proxy/admin.h"

#include <asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <future>

#include "support/http_get.h"
#include "httpd/http_server.h"

namespace ambit::proxy {
namespace {

using testing::HttpCall;
using testing::HttpGet;

net::SocketAddress Loopback0() { return net::SocketAddress(net::IpAddress::Loopback4(), 0); }

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_.Start();
    readiness_.Block("xds");
    readiness_.Block("zds");
  }
  Status StartAdmin() {
    return admin_.Start({.admin = Loopback0(), .metrics = Loopback0(), .readiness = Loopback0()});
  }

  httpd::ServiceLoop loop_;
  Readiness readiness_;
  Admin admin_{loop_, readiness_};
};

TEST_F(AdminTest, ReadinessFollowsBlockers) {
  ASSERT_TRUE(StartAdmin().ok());
  auto r = HttpGet(admin_.bound().readiness, "/healthz/ready");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "not ready: xds zds\n");
  readiness_.Unblock("xds");
  r = HttpGet(admin_.bound().readiness, "/healthz/ready");
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "not ready: zds\n");
  readiness_.Unblock("zds");
  r = HttpGet(admin_.bound().readiness, "/healthz/ready");
  EXPECT_EQ(r->status, 200);
  // Readiness is not served on the admin port, nor config_dump on readiness.
  EXPECT_EQ(HttpGet(admin_.bound().admin, "/healthz/ready")->status, 404);
  EXPECT_EQ(HttpGet(admin_.bound().readiness, "/config_dump")->status, 404);
}

TEST_F(AdminTest, ConfigDumpHasEverySection) {
  std::atomic<int> counter{7};
  admin_.AddDumpSection("counters", [&](nlohmann::json& out) {
    out["tlsConnectionsOpened"] = counter.load();
  });
  admin_.AddDumpSection("pods", [](nlohmann::json& out) { out = nlohmann::json::array({"p1"}); });
  ASSERT_TRUE(StartAdmin().ok());
  auto r = HttpGet(admin_.bound().admin, "/config_dump?include_eds");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  auto doc = nlohmann::json::parse(r->body);
  EXPECT_EQ(doc["counters"]["tlsConnectionsOpened"], 7);
  EXPECT_EQ(doc["pods"][0], "p1");
  counter = 8;
  doc = nlohmann::json::parse(HttpGet(admin_.bound().admin, "/config_dump")->body);
  EXPECT_EQ(doc["counters"]["tlsConnectionsOpened"], 8);
}

TEST_F(AdminTest, MetricsConcatenateTheSourcesInOrder) {
  admin_.AddMetricsSource([] { return std::string("# TYPE first counter\nfirst 1\n"); });
  admin_.AddMetricsSource([] { return std::string("second 2\n"); });
  ASSERT_TRUE(StartAdmin().ok());
  for (const char* path : {"/metrics", "/stats/prometheus"}) {
    auto r = HttpGet(admin_.bound().metrics, path);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "# TYPE first counter\nfirst 1\nsecond 2\n");
  }
  // Not served on the admin port.
  EXPECT_EQ(HttpGet(admin_.bound().admin, "/metrics")->status, 404);
}

TEST_F(AdminTest, QuitNeedsPost) {
  std::atomic<bool> quit{false};
  admin_.SetQuitHandler([&] { quit = true; });
  ASSERT_TRUE(StartAdmin().ok());
  EXPECT_EQ(HttpGet(admin_.bound().admin, "/quitquitquit")->status, 405);
  EXPECT_FALSE(quit);
  std::promise<void> quit_ran;
  admin_.SetQuitHandler([&] {
    quit = true;
    quit_ran.set_value();
  });
  EXPECT_EQ(HttpCall(admin_.bound().admin, "POST", "/quitquitquit")->status, 200);
  // The handler runs once the answer is out (it may stop the process).
  EXPECT_EQ(quit_ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(quit);
}

// An action that ends the server's loop (as stopping the process does) runs
// after its answer is written and the connection closed: the client gets the
// whole answer. Run before the write, it would leave the client waiting.
TEST(HttpServerTest, AfterSentRunsOnceTheAnswerIsOut) {
  httpd::ServiceLoop loop;
  loop.Start();
  httpd::HttpRoutes routes;
  routes["/stop"] = [&loop](const httpd::HttpRequest&) {
    httpd::HttpResponse r = httpd::HttpResponse::Text(200, "stopping\n");
    r.after_sent = [&loop] { loop.context().stop(); };
    return r;
  };
  auto server = httpd::HttpServer::Start(loop, Loopback0(), std::move(routes));
  ASSERT_TRUE(server.ok());
  auto r = HttpCall((*server)->local_address(), "POST", "/stop");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "stopping\n");
  loop.Stop();
}

TEST_F(AdminTest, BindConflictNamesTheServer) {
  ASSERT_TRUE(StartAdmin().ok());
  Admin second(loop_, readiness_);
  Status st = second.Start({.admin = admin_.bound().admin, .metrics = Loopback0(),
                            .readiness = Loopback0()});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().ToString().find("admin server"), std::string::npos) << st.error().ToString();
}

TEST(HttpServerTest, BodiesAndMalformedRequests) {
  httpd::ServiceLoop loop;
  loop.Start();
  httpd::HttpRoutes routes;
  routes["/echo"] = [](const httpd::HttpRequest& req) {
    return httpd::HttpResponse::Text(200, req.method + ":" + req.query + ":" + req.body);
  };
  auto server = httpd::HttpServer::Start(loop, Loopback0(), std::move(routes));
  ASSERT_TRUE(server.ok());
  auto addr = (*server)->local_address();
  auto r = HttpCall(addr, "POST", "/echo?x=1", "hello");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "POST:x=1:hello");
  EXPECT_EQ(HttpGet(addr, "/nope")->status, 404);
  (*server)->Close();
  loop.Stop();
}

}  // namespace
}  // namespace ambit::proxy
