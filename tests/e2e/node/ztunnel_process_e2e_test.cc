// The whole ztunnel process object (node::Ztunnel, what apps/ztunnel runs)
// wired to the real ambitd-side services in one process, as root:
//   - a gRPC server on a unix socket with the delta ADS server and the CA
//     service (node credentials verified, pod-on-node authorization),
//   - the node agent's ZDS server handing over two pods' network namespaces
//     (with the real in-pod redirection rules installed),
// and checks that ztunnel becomes ready, fetches one certificate per
// identity with its node credential, serves pod-to-pod traffic over HBONE,
// reports it in /config_dump and /metrics, and releases a deleted pod.
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "ca/ca_service.h"
#include "ca/certificate_authority.h"
#include "ca/node_authorizer.h"
#include "ca/node_credential.h"
#include "inpod/zds_server.h"
#include "istio/workload/workload.pb.h"
#include "netns_fixture.h"
#include "node/ztunnel.h"
#include "redirect/rule_set.h"
#include "state/ip_bytes.h"
#include "support/temp_dir.h"
#include "xds/delta_ads_server.h"
#include "xds/node_authenticator.h"
#include "xds/resource_store.h"
#include "xds/type_urls.h"

#include "support/http_get.h"

namespace ambit::node {
namespace {

using namespace e2e;
using std::chrono::milliseconds;

constexpr const char* kIpClient = "10.254.91.1";
constexpr const char* kIpServer = "10.254.91.2";
constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(15'000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return done();
}

istio::workload::Address WorkloadAddress(const std::string& name, const char* ip,
                                         const std::string& sa) {
  istio::workload::Address a;
  auto* w = a.mutable_workload();
  w->set_uid("Kubernetes//Pod/shop/" + name);
  w->set_name(name);
  w->set_namespace_("shop");
  w->add_addresses(*state::PackIp(ip));
  w->set_tunnel_protocol(istio::workload::HBONE);
  w->set_service_account(sa);
  w->set_node("node1");
  w->set_canonical_name(name);
  w->set_canonical_revision("v1");
  w->set_workload_name(name);
  return a;
}

class ZtunnelProcessE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suffix = Suffix();
    client_ns_ = std::make_unique<NamedNetns>("ambit-e2e-ztp-c-" + suffix);
    server_ns_ = std::make_unique<NamedNetns>("ambit-e2e-ztp-s-" + suffix);
    ASSERT_TRUE(client_ns_->ok() && server_ns_->ok()) << "need root for network namespaces";
    ASSERT_TRUE(LinkPods(*client_ns_, kIpClient, *server_ns_, {kIpServer}).ok());
    for (auto* ns : {client_ns_.get(), server_ns_.get()}) {
      auto rules = redirect::RuleSet::Install(Netns(ns->Dup(), ns->name()), {});
      ASSERT_TRUE(rules.ok()) << rules.error().ToString();
      rules_.push_back(std::move(rules).value());
    }

    // ambitd's side: CA, node credentials, xDS.
    auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(dir_.File("ca"), {});
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(ca).value();
    authorizer_.Add("node1", identity::SpiffeId("cluster.local", "shop", "client"));
    authorizer_.Add("node1", identity::SpiffeId("cluster.local", "shop", "server"));
    ca_service_ = ca::MakeCaService(*ca_, verifier_, authorizer_);
    auto token = issuer_.Issue("node1");
    ASSERT_TRUE(token.ok());
    std::ofstream(dir_.File("credential")) << *token << "\n";

    std::map<std::string, istio::workload::Address> addresses;
    addresses["Kubernetes//Pod/shop/client"] = WorkloadAddress("client", kIpClient, "client");
    addresses["Kubernetes//Pod/shop/server"] = WorkloadAddress("server", kIpServer, "server");
    std::map<std::string, const google::protobuf::Message*> view;
    for (auto& [name, a] : addresses) view[name] = &a;
    ASSERT_TRUE(store_.SetAll(xds::kAddressTypeUrl, view).ok());

    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + dir_.File("ambitd.sock"), grpc::InsecureServerCredentials());
    builder.RegisterService(ads_.service());
    builder.RegisterService(ca_service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);

    // The node agent's side.
    inpod::ZdsServerOptions zds_options;
    zds_options.socket_path = dir_.File("zds.sock");
    auto zds = inpod::ZdsServer::Start(zds_options);
    ASSERT_TRUE(zds.ok()) << zds.error().ToString();
    zds_ = std::move(zds).value();

    ZtunnelConfig config;
    config.node_name = "node1";
    config.xds_address = "unix:" + dir_.File("ambitd.sock");
    config.credential_file = dir_.File("credential");
    config.zds_socket = dir_.File("zds.sock");
    config.admin_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
    config.metrics_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
    config.readiness_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
    config.drain = milliseconds(500);
    auto zt = Ztunnel::Start(config);
    ASSERT_TRUE(zt.ok()) << zt.error().ToString();
    ztunnel_ = std::move(zt).value();
  }

  void TearDown() override {
    if (ztunnel_) ztunnel_->Shutdown(milliseconds(200));
    ztunnel_.reset();
    zds_.reset();
    ads_.Stop();
    if (server_) server_->Shutdown();
    rules_.clear();
  }

  nlohmann::json Dump() {
    auto r = ambit::testing::HttpGet(ztunnel_->admin_address(), "/config_dump");
    if (!r.ok() || r->status != 200) return nlohmann::json::object();
    return nlohmann::json::parse(r->body);
  }
  int Readiness() {
    auto r = ambit::testing::HttpGet(ztunnel_->readiness_address(), "/healthz/ready");
    return r.ok() ? r->status : 0;
  }

  ::ambit::testing::TempDir dir_;
  std::unique_ptr<NamedNetns> client_ns_, server_ns_;
  std::vector<redirect::RuleSet> rules_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
  ca::NodeCredentialIssuer issuer_{"test", kSecret};
  ca::NodeCredentialVerifier verifier_{"test", kSecret};
  ca::InMemoryNodeAuthorizer authorizer_;
  std::unique_ptr<grpc::Service> ca_service_;
  xds::ResourceStore store_;
  xds::FunctionNodeAuthenticator auth_{[this](std::string_view token) -> Result<std::string> {
    AMBIT_ASSIGN_OR_RETURN(auto cred, verifier_.Verify(token));
    return cred.node;
  }};
  xds::DeltaAdsServer ads_{store_, auth_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<inpod::ZdsServer> zds_;
  std::unique_ptr<Ztunnel> ztunnel_;
};

TEST_F(ZtunnelProcessE2e, EnrollsPodsFetchesCertificatesAndCarriesTraffic) {
  // Not ready before the node agent's snapshot.
  ASSERT_TRUE(WaitUntil([&] { return zds_->ReadyConnections() == 1; }));
  ASSERT_TRUE(WaitUntil([&] { return Readiness() == 200; })) << Dump()["readiness"].dump();

  ASSERT_TRUE(zds_->AddPod("uid-client", {"client", "shop", "client"}, client_ns_->Dup()).ok());
  ASSERT_TRUE(zds_->AddPod("uid-server", {"server", "shop", "server"}, server_ns_->Dup()).ok());

  EchoServer app(server_ns_->netns(), "0.0.0.0", 8080);
  ASSERT_TRUE(app.ok());
  const std::string payload = RandomBytes(256 * 1024);
  UniqueFd c = ConnectFrom(client_ns_->netns(), kIpServer, 8080);
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(RoundTrip(c.get(), payload), payload);
  EXPECT_EQ(app.peers(), std::set<std::string>{kIpClient});

  nlohmann::json dump = Dump();
  ASSERT_EQ(dump["certificates"].size(), 2u) << dump["certificates"].dump(2);
  for (const auto& cert : dump["certificates"]) {
    EXPECT_EQ(cert["state"], "Available") << cert.dump(2);
    EXPECT_EQ(cert["certChain"].size(), 1u);
    EXPECT_EQ(cert["rootCerts"].size(), 1u);
  }
  EXPECT_EQ(dump["workloads"].size(), 2u);
  EXPECT_EQ(dump["pods"].size(), 2u);
  EXPECT_EQ(dump["xds"]["synced"], true);
  EXPECT_EQ(dump["zds"]["ready"], true);
  EXPECT_EQ(dump["counters"]["outbound"]["hbone"], 1) << dump["counters"].dump(2);
  EXPECT_EQ(dump["counters"]["outbound"]["tlsConnectionsOpened"], 1);
  EXPECT_EQ(dump["counters"]["inbound"]["status200"], 1);

  auto metrics = ambit::testing::HttpGet(ztunnel_->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("istio_tcp_connections_opened_total{reporter=\"source\","
                               "source_workload=\"client\""),
            std::string::npos)
      << metrics->body;

  // The node agent releases the server pod: ztunnel stops serving it.
  ASSERT_TRUE(zds_->DelPod("uid-server").ok());
  ASSERT_TRUE(WaitUntil([&] { return Dump()["pods"].size() == 1u; }));
  ASSERT_TRUE(WaitUntil([&] { return Dump()["certificates"].size() == 1u; }));
}

TEST_F(ZtunnelProcessE2e, PodsAddedBeforeZtunnelConnectsArriveInTheSnapshot) {
  // Restart ztunnel's side: pods enrolled while it is away come in the
  // snapshot of its next connection.
  ztunnel_->Shutdown(milliseconds(0));
  ztunnel_.reset();
  Status st = zds_->AddPod("uid-client", {"client", "shop", "client"}, client_ns_->Dup());
  EXPECT_FALSE(st.ok());  // no ztunnel connected: kept for the next snapshot
  ZtunnelConfig config;
  config.node_name = "node1";
  config.xds_address = "unix:" + dir_.File("ambitd.sock");
  config.credential_file = dir_.File("credential");
  config.zds_socket = dir_.File("zds.sock");
  config.admin_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
  config.metrics_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
  config.readiness_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
  auto zt = Ztunnel::Start(config);
  ASSERT_TRUE(zt.ok()) << zt.error().ToString();
  ztunnel_ = std::move(zt).value();
  ASSERT_TRUE(WaitUntil([&] { return Readiness() == 200; }));
  EXPECT_EQ(Dump()["pods"].size(), 1u);
}

TEST_F(ZtunnelProcessE2e, KeepsServingKnownPodsWhileTheControlPlaneIsDown) {
  ASSERT_TRUE(WaitUntil([&] { return zds_->ReadyConnections() == 1; }));
  ASSERT_TRUE(zds_->AddPod("uid-client", {"client", "shop", "client"}, client_ns_->Dup()).ok());
  ASSERT_TRUE(zds_->AddPod("uid-server", {"server", "shop", "server"}, server_ns_->Dup()).ok());
  ASSERT_TRUE(WaitUntil([&] { return Readiness() == 200; }));
  EchoServer app(server_ns_->netns(), "0.0.0.0", 8080);
  ASSERT_TRUE(app.ok());
  UniqueFd established = ConnectFrom(client_ns_->netns(), kIpServer, 8080);
  ASSERT_TRUE(established.valid());
  ASSERT_EQ(::send(established.get(), "ping", 4, MSG_NOSIGNAL), 4);
  char buf[4];
  ASSERT_EQ(::recv(established.get(), buf, 4, MSG_WAITALL), 4);

  // ambitd goes away (xDS and CA).
  ads_.Stop();
  server_->Shutdown();
  server_.reset();
  ASSERT_TRUE(WaitUntil([&] { return Dump()["xds"]["connected"] == false; }));

  // The established connection keeps working, and new ones work too.
  ASSERT_EQ(::send(established.get(), "pong", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(::recv(established.get(), buf, 4, MSG_WAITALL), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
  UniqueFd fresh = ConnectFrom(client_ns_->netns(), kIpServer, 8080);
  ASSERT_TRUE(fresh.valid());
  EXPECT_EQ(RoundTrip(fresh.get(), "still here"), "still here");
}

TEST_F(ZtunnelProcessE2e, NoPlaintextBeforeTheFirstDiscoveryPush) {
  // A ztunnel that reaches the CA and the node agent but not xDS.
  ztunnel_->Shutdown(milliseconds(0));
  ztunnel_.reset();
  ZtunnelConfig config;
  config.node_name = "node1";
  config.xds_address = "unix:" + dir_.File("no-xds-here.sock");
  config.ca_address = "unix:" + dir_.File("ambitd.sock");
  config.credential_file = dir_.File("credential");
  config.zds_socket = dir_.File("zds.sock");
  config.admin_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
  config.metrics_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
  config.readiness_address = net::SocketAddress(net::IpAddress::Loopback4(), 0);
  auto zt = Ztunnel::Start(config);
  ASSERT_TRUE(zt.ok()) << zt.error().ToString();
  ztunnel_ = std::move(zt).value();
  ASSERT_TRUE(WaitUntil([&] { return zds_->ReadyConnections() == 1; }));
  ASSERT_TRUE(zds_->AddPod("uid-client", {"client", "shop", "client"}, client_ns_->Dup()).ok());
  ASSERT_TRUE(zds_->AddPod("uid-server", {"server", "shop", "server"}, server_ns_->Dup()).ok());
  EXPECT_EQ(Readiness(), 503);

  EchoServer app(server_ns_->netns(), "0.0.0.0", 8080);
  ASSERT_TRUE(app.ok());
  UniqueFd c = ConnectFrom(client_ns_->netns(), kIpServer, 8080);
  // The app never sees the connection: ztunnel resets it rather than
  // forwarding it in plaintext against an empty state.
  if (c.valid()) {
    EXPECT_EQ(RoundTrip(c.get(), "secret"), "");
  }
  EXPECT_TRUE(app.peers().empty());
  nlohmann::json dump = Dump();
  EXPECT_EQ(dump["counters"]["outbound"]["passthrough"], 0) << dump["counters"].dump(2);
  EXPECT_EQ(dump["counters"]["outbound"]["rejected"], 1);
}

}  // namespace
}  // namespace ambit::node
