#include "proxy/runtime.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "ca/certificate_authority.h"
#include "caclient/local_ca_client.h"
#include "support/http_get.h"
#include "net/worker_pool.h"
#include "proxy/admin.h"
#include "proxy/readiness.h"
#include "proxy/secret_manager.h"
#include "support/temp_dir.h"

namespace ambit::proxy {
namespace {

using testing::HttpGet;

net::SocketAddress Loopback0() { return net::SocketAddress(net::IpAddress::Loopback4(), 0); }

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(dir_.path(), {});
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(*ca);
    config_.node_name = "node1";
    // Nothing listens there: the xDS client keeps retrying in the background.
    config_.xds_address = "unix:" + dir_.path() + "/ambitd.sock";
    config_.workers = 1;
    config_.admin_address = Loopback0();
    config_.metrics_address = Loopback0();
    config_.readiness_address = Loopback0();
    config_.ca_client = std::make_shared<caclient::LocalCaClient>(*ca_);
  }

  Runtime::Options Options() {
    Runtime::Options options;
    options.xds_node.pod_name = "proxy-under-test";
    options.xds_node.pod_namespace = "istio-system";
    return options;
  }

  ::ambit::testing::TempDir dir_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
  ProxyConfig config_;
};

TEST_F(RuntimeTest, RequiredFlagsAreNamed) {
  ProxyConfig no_node = config_;
  no_node.node_name.clear();
  auto r = Runtime::Create(no_node, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("--node"), std::string::npos) << r.error().ToString();
  ProxyConfig no_xds = config_;
  no_xds.xds_address.clear();
  r = Runtime::Create(no_xds, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("--xds-address"), std::string::npos);
  ProxyConfig bad_credential = config_;
  bad_credential.credential_file = dir_.path() + "/missing";
  r = Runtime::Create(bad_credential, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find(dir_.path() + "/missing"), std::string::npos);
}

TEST_F(RuntimeTest, ServesTheSharedSectionsReadinessAndMetrics) {
  auto created = Runtime::Create(config_, Options());
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  Runtime& rt = **created;
  EXPECT_EQ(rt.config().ca_address, config_.xds_address) << "the CA defaults to the xDS address";
  rt.admin().AddMetricsSource([] { return std::string("proxy_metric 1\n"); });
  ASSERT_TRUE(rt.Start().ok());
  // A certificate asked for after Start is fetched by the running manager.
  CertLease lease = rt.secrets().Acquire(identity::SpiffeId("cluster.local", "ns", "sa"));
  for (int i = 0; i < 200 && lease.Current() == nullptr; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(lease.Current(), nullptr);
  EXPECT_EQ(rt.workers().size(), 1u);

  auto ready = HttpGet(rt.admin().bound().readiness, "/healthz/ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not ready: xds\n");
  auto dump = HttpGet(rt.admin().bound().admin, "/config_dump");
  ASSERT_TRUE(dump.ok());
  auto doc = nlohmann::json::parse(dump->body);
  for (const char* key : {"workloads", "services", "certificates", "xds", "readiness"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["xds"]["address"], config_.xds_address);
  EXPECT_EQ(doc["xds"]["synced"], false);
  EXPECT_EQ(doc["readiness"]["pending"], nlohmann::json::array({"xds"}));
  ASSERT_EQ(doc["certificates"].size(), 1u);
  EXPECT_EQ(HttpGet(rt.admin().bound().metrics, "/metrics")->body, "proxy_metric 1\n");

  rt.BeginDrain();
  EXPECT_EQ(HttpGet(rt.admin().bound().readiness, "/healthz/ready")->body,
            "not ready: draining xds\n");
  const net::SocketAddress admin = rt.admin().bound().admin;
  rt.StopDiscovery();
  rt.Stop();
  rt.Stop();  // idempotent
  // The listening sockets go with the service loop's handlers, when the
  // runtime is destroyed.
  lease = CertLease();  // leases go before their manager
  created->reset();
  EXPECT_FALSE(HttpGet(admin, "/config_dump").ok()) << "the servers are closed";
}

TEST_F(RuntimeTest, APortConflictStopsStartNamingTheServer) {
  auto first = Runtime::Create(config_, Options());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Start().ok());
  ProxyConfig clash = config_;
  clash.metrics_address = (*first)->admin().bound().admin;
  auto second = Runtime::Create(clash, Options());
  ASSERT_TRUE(second.ok());
  Status st = (*second)->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().ToString().find("metrics server"), std::string::npos)
      << st.error().ToString();
  (*second)->Stop();  // after a failed Start: nothing left running, no crash
}

TEST_F(RuntimeTest, StopWithoutStartIsHarmless) {
  auto rt = Runtime::Create(config_, Options());
  ASSERT_TRUE(rt.ok());
  (*rt)->Stop();
}

}  // namespace
}  // namespace ambit::proxy
