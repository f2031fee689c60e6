// End-to-end test of ztunnel's in-pod data path, as root, in real network
// namespaces (no ambitd, no node agent): two pods A (10.254.90.1) and B
// (10.254.90.2, also 10.254.90.3) joined by a veth pair, each with the real
// in-pod redirection rules, both served by one in-process ztunnel core
// (PodManager + DataPath + SecretManager over an in-process CA). Workloads and
// a service come from a hand-built WorkloadState.
//
// Checks: A -> B and A -> service VIP go through HBONE (mTLS on 15008) with
// exact bytes and the client's IP preserved at the app; many concurrent
// connections share a handful of TLS connections; a destination unknown to
// the mesh gets plain TCP from A and lands on B's inbound plaintext port;
// removing a pod closes its listeners.
//
// Namespaces are uniquely named (pid + random) and deleted pass or fail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "ca/certificate_authority.h"
#include "caclient/local_ca_client.h"
#include "core/netns.h"
#include "net/worker_pool.h"
#include "node/data_path.h"
#include "node/pod_manager.h"
#include "proxy/secret_manager.h"
#include "httpd/service_loop.h"
#include "telemetry/tcp_metrics.h"
#include "proxy/tls_secret.h"
#include "redirect/netns_exec.h"
#include "redirect/rule_set.h"
#include "state/ip_bytes.h"
#include "state/state_store.h"
#include "support/temp_dir.h"
#include "netns_fixture.h"

namespace ambit::node {
namespace {

using namespace e2e;

constexpr const char* kIpA = "10.254.90.1";
constexpr const char* kIpB = "10.254.90.2";
constexpr const char* kIpOutside = "10.254.90.3";  // on B's veth, not a mesh workload
constexpr const char* kVip = "10.96.90.10";
constexpr std::uint16_t kAppPort = 8080;
constexpr std::uint16_t kVipPort = 80;

std::shared_ptr<const state::Workload> MakeWorkload(const std::string& name, const char* ip,
                                                    const std::string& sa) {
  auto w = std::make_shared<state::Workload>();
  w->uid = "Kubernetes//Pod/default/" + name;
  w->name = name;
  w->ns = "default";
  w->addresses = {*state::PackIp(ip)};
  w->tunnel_protocol = state::TunnelProtocol::kHbone;
  w->trust_domain = "cluster.local";
  w->service_account = sa;
  w->node = "node1";
  w->canonical_name = name;
  w->canonical_revision = "v1";
  w->workload_name = name;
  w->services["default/echo.default.svc.cluster.local"] = {{kVipPort, kAppPort}};
  return w;
}

class DataPathE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suffix = Suffix();
    a_ = std::make_unique<NamedNetns>("ambit-e2e-zt-a-" + suffix);
    b_ = std::make_unique<NamedNetns>("ambit-e2e-zt-b-" + suffix);
    ASSERT_TRUE(a_->ok() && b_->ok()) << "cannot create network namespaces (need root)";
    ASSERT_TRUE(LinkPods(*a_, kIpA, *b_, {kIpB, kIpOutside}).ok());
    for (auto* ns : {a_.get(), b_.get()}) {
      auto rules = redirect::RuleSet::Install(Netns(ns->Dup(), ns->name()), {});
      ASSERT_TRUE(rules.ok()) << rules.error().ToString();
      rules_.push_back(std::move(rules).value());
    }

    // Discovery state: A and B in the mesh, service echo (VIP) -> B:8080.
    state::WorkloadState::Contents contents;
    for (auto w : {MakeWorkload("client", kIpA, "client"), MakeWorkload("server", kIpB, "server")}) {
      contents.workloads[w->uid] = w;
    }
    contents.workloads["Kubernetes//Pod/default/client"] = [] {
      auto w = std::make_shared<state::Workload>(*MakeWorkload("client", kIpA, "client"));
      w->services.clear();
      return std::shared_ptr<const state::Workload>(w);
    }();
    auto svc = std::make_shared<state::Service>();
    svc->name = "echo";
    svc->ns = "default";
    svc->hostname = "echo.default.svc.cluster.local";
    svc->vips = {{"", *state::PackIp(kVip)}};
    svc->ports = {{kVipPort, kAppPort}};
    contents.services[svc->Key()] = svc;
    store_.Publish(std::make_shared<const state::WorkloadState>(std::move(contents)));

    auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(dir_.path(), {});
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(ca).value();
    ca_client_ = std::make_unique<caclient::LocalCaClient>(*ca_);
    proxy::SecretManager::Options so;
    so.build = proxy::BuildTlsSecret;
    secrets_ = std::make_unique<proxy::SecretManager>(*ca_client_, so);
    secrets_->Start();
    workers_ = std::make_unique<net::WorkerPool>(2);
    data_path_ = std::make_unique<DataPath>(*workers_, store_, metrics_, DataPath::Options{});
    service_.Start();
    PodManager::Options pod_options;
    pod_options.drain_grace = std::chrono::milliseconds(1000);
    pods_ = std::make_unique<PodManager>(*workers_, *secrets_, *data_path_, service_.context(),
                                         pod_options);
    workers_->Start();
    ASSERT_TRUE(pods_->AddPod({"uid-a", "client", "default", "client"}, a_->Dup()).ok());
    ASSERT_TRUE(pods_->AddPod({"uid-b", "server", "default", "server"}, b_->Dup()).ok());
    ASSERT_TRUE(pods_->WaitForCertificate("uid-a", std::chrono::seconds(10)));
    ASSERT_TRUE(pods_->WaitForCertificate("uid-b", std::chrono::seconds(10)));
  }

  void TearDown() override {
    if (pods_) pods_->Shutdown(std::chrono::milliseconds(200));
    if (data_path_) data_path_->ShutdownPools();
    if (workers_) workers_->Stop();
    service_.Stop();
    if (secrets_) secrets_->Stop();
    rules_.clear();
  }

  nlohmann::json Counters() {
    nlohmann::json j;
    data_path_->DumpCounters(j);
    return j;
  }

  testing::TempDir dir_;
  std::unique_ptr<NamedNetns> a_, b_;
  std::vector<redirect::RuleSet> rules_;
  state::StateStore store_;
  metrics::Registry registry_;
  telemetry::TcpMetrics metrics_{registry_};
  std::unique_ptr<ca::CertificateAuthority> ca_;
  std::unique_ptr<caclient::LocalCaClient> ca_client_;
  std::unique_ptr<proxy::SecretManager> secrets_;
  std::unique_ptr<net::WorkerPool> workers_;
  std::unique_ptr<DataPath> data_path_;
  httpd::ServiceLoop service_;
  std::unique_ptr<PodManager> pods_;
};

TEST_F(DataPathE2e, PodToPodGoesThroughHboneWithExactBytesAndClientIp) {
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  const std::string payload = RandomBytes(1 << 20);
  UniqueFd c = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(RoundTrip(c.get(), payload), payload);
  auto counters = Counters();
  EXPECT_EQ(counters["outbound"]["hbone"], 1) << counters.dump(2);
  EXPECT_EQ(counters["outbound"]["tlsConnectionsOpened"], 1);
  EXPECT_EQ(counters["inbound"]["status200"], 1);
  EXPECT_EQ(app.peers(), std::set<std::string>{kIpA}) << "client IP not preserved";
  const std::string metrics = metrics_.RenderPrometheus();
  EXPECT_NE(metrics.find("reporter=\"source\",source_workload=\"client\""), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("destination_workload=\"server\""), std::string::npos);
  EXPECT_NE(metrics.find("connection_security_policy=\"mutual_tls\""), std::string::npos);
  // The destination side reports too, with the identity the client proved.
  EXPECT_NE(metrics.find("istio_tcp_connections_closed_total{reporter=\"destination\",source_workload="
                         "\"client\""),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("source_principal=\"spiffe://cluster.local/ns/default/sa/client\""),
            std::string::npos);
  EXPECT_NE(metrics.find("istio_tcp_received_bytes_total{reporter=\"destination\""),
            std::string::npos);
}

TEST_F(DataPathE2e, LargeTransferKeepsEveryByte) {
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  const std::string payload = RandomBytes(64 << 20);
  UniqueFd c = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(c.valid());
  const auto start = std::chrono::steady_clock::now();
  const std::string got = RoundTrip(c.get(), payload);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  std::printf("64 MiB each way through two HBONE hops in %.2f s\n", secs);
}

TEST_F(DataPathE2e, ServiceVipAndManyConnectionsShareTlsConnections) {
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  constexpr int kConns = 200;
  std::vector<UniqueFd> conns;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(ConnectFrom(a_->netns(), kVip, kVipPort));
    ASSERT_TRUE(conns.back().valid()) << i;
  }
  // Every connection works and they are all open at the same time.
  for (int i = 0; i < kConns; ++i) {
    const std::string msg = "hello " + std::to_string(i);
    ASSERT_EQ(::send(conns[i].get(), msg.data(), msg.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(msg.size()));
    std::string got(msg.size(), '\0');
    ASSERT_EQ(::recv(conns[i].get(), got.data(), got.size(), MSG_WAITALL),
              static_cast<ssize_t>(msg.size()));
    EXPECT_EQ(got, msg);
  }
  auto counters = Counters();
  EXPECT_EQ(counters["outbound"]["hbone"], kConns) << counters.dump(2);
  // At most 100 streams per connection and one pool per worker loop (2
  // here): a handful of TLS connections carry all 200, not 200 of them.
  EXPECT_LE(counters["outbound"]["tlsConnectionsOpened"].get<int>(), 10) << counters.dump(2);
  EXPECT_GE(counters["outbound"]["tlsConnectionsOpened"].get<int>(), 2);
  EXPECT_EQ(counters["inbound"]["streams"], kConns);
}

TEST_F(DataPathE2e, OutsideTheMeshIsPlainTcpIntoInboundPlaintext) {
  EchoServer outside(b_->netns(), kIpOutside, 9090);
  ASSERT_TRUE(outside.ok());
  UniqueFd c = ConnectFrom(a_->netns(), kIpOutside, 9090);
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(RoundTrip(c.get(), "plain bytes"), "plain bytes");
  auto counters = Counters();
  EXPECT_EQ(counters["outbound"]["passthrough"], 1) << counters.dump(2);
  EXPECT_EQ(counters["outbound"]["hbone"], 0);
  // B is enrolled: its rules send the plaintext arrival to 15006.
  EXPECT_EQ(counters["inboundPlaintext"]["connectionsOpened"], 1);
  EXPECT_EQ(outside.peers(), std::set<std::string>{kIpA});
}

TEST_F(DataPathE2e, RemovedPodDrainsItsConnectionsThenEndsThem) {
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  UniqueFd c = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(c.valid());
  char buf[4];
  ASSERT_EQ(::send(c.get(), "ping", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(::recv(c.get(), buf, 4, MSG_WAITALL), 4);
  ASSERT_TRUE(pods_->DelPod("uid-b").ok());
  // Within the drain period (1 s here) the connection still works.
  ASSERT_EQ(::send(c.get(), "pong", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(::recv(c.get(), buf, 4, MSG_WAITALL), 4);
  EXPECT_EQ(pods_->draining_count(), 1u);
  // Then B's side of it (the inbound HBONE connection) is ended, and so is
  // the client's connection.
  const auto start = std::chrono::steady_clock::now();
  ssize_t n = ::recv(c.get(), buf, 4, 0);  // blocks until the end (10 s timeout)
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LE(n, 0);
  EXPECT_LT(waited, std::chrono::seconds(5));
  for (int i = 0; i < 100 && pods_->draining_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(pods_->draining_count(), 0u);
}

TEST_F(DataPathE2e, RemovedPodStopsListening) {
  EXPECT_EQ(pods_->pod_count(), 2u);
  ASSERT_TRUE(pods_->DelPod("uid-b").ok());
  EXPECT_EQ(pods_->pod_count(), 1u);
  // Listener close is asynchronous (on the accept loop).
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    UniqueFd s = TcpSocketIn(b_->netns());
    sockaddr_in sa = Sin("127.0.0.1", 15008);
    refused = ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused);
  // Re-adding works (same netns, fresh listeners with SO_REUSEPORT).
  ASSERT_TRUE(pods_->AddPod({"uid-b", "server", "default", "server"}, b_->Dup()).ok());
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  UniqueFd c = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(RoundTrip(c.get(), "again"), "again");
}

}  // namespace
}  // namespace ambit::node
