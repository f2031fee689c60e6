#include "control/monitoring.h"

#include <gtest/gtest.h>

#include <string>

#include "support/http_get.h"

namespace ambit::control {
namespace {

TEST(Monitoring, ServesTheRegistryAndTheProcessFamilies) {
  Monitoring monitoring;
  metrics::CounterFamily& csr = monitoring.registry().AddCounter("citadel_server_csr_count", "CSRs");
  csr.Get(metrics::LabelKey(), 0).Inc(3);

  ASSERT_TRUE(monitoring.Start("", net::SocketAddress::Parse("127.0.0.1:0").value()).ok());
  const net::SocketAddress addr = monitoring.local_address();
  auto reply = ambit::testing::HttpGet(addr, "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->body.find("\ncitadel_server_csr_count 3\n"), std::string::npos) << reply->body;
  EXPECT_NE(reply->body.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(reply->body.find("\nprocess_open_fds "), std::string::npos);
  // Resident memory is a real reading: more than a megabyte for any process
  // linking gRPC and the test framework.
  const auto rss = reply->body.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(rss, std::string::npos);
  EXPECT_GT(std::stod(reply->body.substr(rss + 31)), 1e6);

  EXPECT_EQ(ambit::testing::HttpGet(addr, "/other")->status, 404);
  monitoring.Stop();
  EXPECT_FALSE(ambit::testing::HttpGet(addr, "/metrics").ok()) << "the server is closed";
}

TEST(Monitoring, ABadNamespaceIsAnErrorNamingIt) {
  Monitoring monitoring;
  Status s = monitoring.Start("/run/netns/ambit-no-such-namespace",
                              net::SocketAddress::Parse("127.0.0.1:0").value());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().ToString().find("ambit-no-such-namespace"), std::string::npos)
      << s.error().ToString();
}

}  // namespace
}  // namespace ambit::control
