// L4 authorization in ztunnel's in-pod data path, as root, in real network
// namespaces: pods A (10.254.92.1, "client") and B (10.254.92.2 "server",
// also 10.254.92.3 which is no mesh workload) joined by a veth pair, each
// with the real in-pod redirection rules, served by one in-process ztunnel
// core (PodManager + DataPath + PolicyWatcher + SecretManager over an
// in-process CA). Workloads, services and Authorization policies come from
// hand-built snapshots published to the StateStore, as the xDS client would.
//
// Checks: a DENY on B's workload makes A's HBONE connection fail (401 at B,
// reset at A, nothing reaches the app) and counts flag DENY; plaintext into
// B (15006) is reset by a STRICT-style policy while HBONE passes; a policy
// published while connections are open closes them (HBONE and plaintext);
// a service that requires its waypoint is refused while the waypoint is down.
//
// Namespaces are uniquely named (pid + random) and deleted pass or fail.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "authz/string_pattern.h"
#include "ca/certificate_authority.h"
#include "caclient/local_ca_client.h"
#include "istio/security/authorization.pb.h"
#include "net/worker_pool.h"
#include "netns_fixture.h"
#include "node/data_path.h"
#include "node/pod_manager.h"
#include "node/policy_watcher.h"
#include "proxy/secret_manager.h"
#include "httpd/service_loop.h"
#include "telemetry/tcp_metrics.h"
#include "proxy/tls_secret.h"
#include "redirect/rule_set.h"
#include "state/ip_bytes.h"
#include "state/state_store.h"
#include "support/temp_dir.h"

namespace ambit::node {
namespace {

using namespace e2e;
namespace pb = istio::security;

constexpr const char* kIpA = "10.254.92.1";
constexpr const char* kIpB = "10.254.92.2";
constexpr const char* kIpOutside = "10.254.92.3";  // on B's veth, not a mesh workload
constexpr const char* kVip = "10.96.92.10";          // echo: requires its waypoint
constexpr std::uint16_t kAppPort = 8080;
constexpr std::uint16_t kVipPort = 80;
constexpr const char* kServerUid = "Kubernetes//Pod/default/server";

std::shared_ptr<const state::Workload> MakeWorkload(const std::string& name, const char* ip,
                                                    std::vector<std::string> policies = {}) {
  auto w = std::make_shared<state::Workload>();
  w->uid = "Kubernetes//Pod/default/" + name;
  w->name = name;
  w->ns = "default";
  w->addresses = {*state::PackIp(ip)};
  w->tunnel_protocol = state::TunnelProtocol::kHbone;
  w->trust_domain = "cluster.local";
  w->service_account = name;
  w->node = "node1";
  w->workload_name = name;
  w->authorization_policies = std::move(policies);
  return w;
}

std::shared_ptr<const pb::Authorization> DenyFrom(const std::string& name, const std::string& sa) {
  auto p = std::make_shared<pb::Authorization>();
  p->set_namespace_("default");
  p->set_name(name);
  p->set_scope(pb::WORKLOAD_SELECTOR);
  p->set_action(pb::DENY);
  *p->add_rules()->add_clauses()->add_matches()->add_principals() =
      authz::StringMatchFromPattern("cluster.local/ns/default/sa/" + sa);
  return p;
}

// What istiod sends for a mesh-wide PeerAuthentication STRICT.
std::shared_ptr<const pb::Authorization> Strict() {
  auto p = std::make_shared<pb::Authorization>();
  p->set_namespace_("istio-system");
  p->set_name("istio_converted_static_strict");
  p->set_scope(pb::GLOBAL);
  p->set_action(pb::DENY);
  p->add_rules()->add_clauses()->add_matches()->add_not_principals()->mutable_presence();
  return p;
}

// True when a "ping" on |fd| gets no echo: the connection was reset (or
// closed) instead; waits up to the socket's receive timeout.
bool Refused(int fd) {
  char buf[16];
  ::send(fd, "ping", 4, MSG_NOSIGNAL);
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  return n <= 0;
}

class PolicyE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suffix = Suffix();
    a_ = std::make_unique<NamedNetns>("ambit-e2e-pol-a-" + suffix);
    b_ = std::make_unique<NamedNetns>("ambit-e2e-pol-b-" + suffix);
    ASSERT_TRUE(a_->ok() && b_->ok()) << "cannot create network namespaces (need root)";
    ASSERT_TRUE(LinkPods(*a_, kIpA, *b_, {kIpB, kIpOutside}).ok());
    for (auto* ns : {a_.get(), b_.get()}) {
      auto rules = redirect::RuleSet::Install(Netns(ns->Dup(), ns->name()), {});
      ASSERT_TRUE(rules.ok()) << rules.error().ToString();
      rules_.push_back(std::move(rules).value());
    }
    contents_.workloads[kServerUid] = MakeWorkload("server", kIpB);
    auto client = MakeWorkload("client", kIpA);
    contents_.workloads[client->uid] = client;
    Publish();

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
    pod_options.drain_grace = std::chrono::milliseconds(500);
    pods_ = std::make_unique<PodManager>(*workers_, *secrets_, *data_path_, service_.context(),
                                         pod_options);
    PodManager* pods = pods_.get();
    watcher_ = std::make_unique<PolicyWatcher>(store_, [pods] { return pods->LivePods(); });
    workers_->Start();
    ASSERT_TRUE(pods_->AddPod({"uid-a", "client", "default", "client"}, a_->Dup()).ok());
    ASSERT_TRUE(pods_->AddPod({"uid-b", "server", "default", "server"}, b_->Dup()).ok());
    ASSERT_TRUE(pods_->WaitForCertificate("uid-a", std::chrono::seconds(10)));
    ASSERT_TRUE(pods_->WaitForCertificate("uid-b", std::chrono::seconds(10)));
  }

  void TearDown() override {
    if (watcher_) watcher_->Detach();
    if (pods_) pods_->Shutdown(std::chrono::milliseconds(200));
    if (data_path_) data_path_->ShutdownPools();
    if (workers_) workers_->Stop();
    service_.Stop();
    if (secrets_) secrets_->Stop();
    rules_.clear();
  }

  void Publish() {
    store_.Publish(std::make_shared<const state::WorkloadState>(contents_, store_.Snapshot().get()));
  }
  // B's workload lists |keys|.
  void ServerLists(std::vector<std::string> keys) {
    contents_.workloads[kServerUid] = MakeWorkload("server", kIpB, std::move(keys));
  }

  nlohmann::json Counters() {
    nlohmann::json j;
    data_path_->DumpCounters(j);
    return j;
  }
  // The value of the first metrics line starting with |prefix| and
  // containing every one of |parts| (-1 when none).
  long Metric(const std::string& prefix, const std::vector<std::string>& parts) {
    const std::string text = metrics_.RenderPrometheus();
    std::size_t at = 0;
    while ((at = text.find(prefix, at)) != std::string::npos) {
      const std::string line = text.substr(at, text.find('\n', at) - at);
      at += line.size();
      bool all = true;
      for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
      if (all) return std::stol(line.substr(line.rfind(' ') + 1));
    }
    return -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<NamedNetns> a_, b_;
  std::vector<redirect::RuleSet> rules_;
  state::WorkloadState::Contents contents_;
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
  std::unique_ptr<PolicyWatcher> watcher_;
};

TEST_F(PolicyE2e, DeniedHboneConnectionIsRefusedAtTheDestinationAndCounted) {
  contents_.policies["default/deny-client"] = DenyFrom("deny-client", "client");
  ServerLists({"default/deny-client"});
  Publish();
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  UniqueFd c = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(c.valid());
  EXPECT_TRUE(Refused(c.get()));
  auto counters = Counters();
  EXPECT_EQ(counters["inbound"]["status401"], 1) << counters.dump(2);
  EXPECT_EQ(counters["inbound"]["status200"], 0);
  EXPECT_TRUE(app.peers().empty()) << "the denied connection reached the app";
  EXPECT_EQ(Metric("istio_tcp_connections_failed_total{reporter=\"destination\"",
                   {"response_flags=\"DENY\"", "destination_workload=\"server\"",
                    "source_principal=\"spiffe://cluster.local/ns/default/sa/client\""}),
            1);
  // Without the key on B's workload the same client passes.
  ServerLists({});
  Publish();
  UniqueFd ok = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(ok.valid());
  EXPECT_EQ(RoundTrip(ok.get(), "allowed"), "allowed");
}

TEST_F(PolicyE2e, StrictRefusesPlaintextWithAResetWhileHbonePasses) {
  contents_.policies["istio-system/istio_converted_static_strict"] = Strict();
  Publish();
  EchoServer outside(b_->netns(), kIpOutside, 9090);
  ASSERT_TRUE(outside.ok());
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  // A -> 10.254.92.3 is passthrough (not a mesh workload) and lands on B's
  // inbound plaintext port: no identity, denied, reset.
  UniqueFd plain = ConnectFrom(a_->netns(), kIpOutside, 9090);
  ASSERT_TRUE(plain.valid());
  EXPECT_TRUE(Refused(plain.get()));
  EXPECT_TRUE(outside.peers().empty());
  auto counters = Counters();
  EXPECT_EQ(counters["inboundPlaintext"]["denied"], 1) << counters.dump(2);
  EXPECT_EQ(Metric("istio_tcp_connections_failed_total{reporter=\"destination\"",
                   {"response_flags=\"DENY\"", "connection_security_policy=\"unknown\""}),
            1);
  // HBONE carries A's identity: allowed.
  UniqueFd mtls = ConnectFrom(a_->netns(), kIpB, kAppPort);
  ASSERT_TRUE(mtls.valid());
  EXPECT_EQ(RoundTrip(mtls.get(), "mutual tls"), "mutual tls");
}

TEST_F(PolicyE2e, APolicyAddedWhileConnectionsAreOpenClosesThem) {
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  EchoServer outside(b_->netns(), kIpOutside, 9090);
  ASSERT_TRUE(outside.ok());
  UniqueFd hbone = ConnectFrom(a_->netns(), kIpB, kAppPort);
  UniqueFd plain = ConnectFrom(a_->netns(), kIpOutside, 9090);
  ASSERT_TRUE(hbone.valid() && plain.valid());
  char buf[4];
  for (int fd : {hbone.get(), plain.get()}) {
    ASSERT_EQ(::send(fd, "ping", 4, MSG_NOSIGNAL), 4);
    ASSERT_EQ(::recv(fd, buf, 4, MSG_WAITALL), 4);
  }
  // A publication that changes nothing authorization sees leaves them be.
  auto svc = std::make_shared<state::Service>();
  svc->name = "other";
  svc->ns = "default";
  svc->hostname = "other.default.svc.cluster.local";
  contents_.services[svc->Key()] = svc;
  Publish();
  for (int fd : {hbone.get(), plain.get()}) {
    ASSERT_EQ(::send(fd, "pong", 4, MSG_NOSIGNAL), 4);
    ASSERT_EQ(::recv(fd, buf, 4, MSG_WAITALL), 4);
  }
  // Deny the client on B, and STRICT for the plaintext one.
  contents_.policies["default/deny-client"] = DenyFrom("deny-client", "client");
  contents_.policies["istio-system/istio_converted_static_strict"] = Strict();
  ServerLists({"default/deny-client"});
  const auto start = std::chrono::steady_clock::now();
  Publish();
  for (int fd : {hbone.get(), plain.get()}) {
    const ssize_t n = ::recv(fd, buf, 4, 0);  // blocks until closed (10 s timeout)
    EXPECT_LE(n, 0);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  for (int i = 0; i < 100 && Counters()["inboundPlaintext"]["revoked"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Counters()["inboundPlaintext"]["revoked"], 1);
  EXPECT_GE(watcher_->pod_rechecks(), 1u);
  // Closed by the policy change: closed and failed with flag DENY, on both paths.
  for (const char* security : {"mutual_tls", "unknown"}) {
    long closed = -1;
    for (int i = 0; i < 100 && closed != 1; ++i) {
      closed = Metric("istio_tcp_connections_closed_total{reporter=\"destination\"",
                      {"response_flags=\"DENY\"",
                       std::string("connection_security_policy=\"") + security + "\""});
      if (closed != 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(closed, 1) << security << "\n" << metrics_.RenderPrometheus();
  }
}

TEST_F(PolicyE2e, AServiceThatRequiresItsWaypointIsRefusedWhileTheWaypointIsDown) {
  // echo -> B:8080, bound to a waypoint Service that has no endpoint.
  auto svc = std::make_shared<state::Service>();
  svc->name = "echo";
  svc->ns = "default";
  svc->hostname = "echo.default.svc.cluster.local";
  svc->vips = {{"", *state::PackIp(kVip)}};
  svc->ports = {{kVipPort, kAppPort}};
  svc->waypoint = state::GatewayRef{"default/waypoint.default.svc.cluster.local", "", "", 15008};
  svc->waypoint_required = true;
  contents_.services[svc->Key()] = svc;
  auto server = std::make_shared<state::Workload>(*MakeWorkload("server", kIpB));
  server->services[svc->Key()] = {{kVipPort, kAppPort}};
  contents_.workloads[kServerUid] = server;
  Publish();
  EchoServer app(b_->netns(), "0.0.0.0", kAppPort);
  ASSERT_TRUE(app.ok());
  UniqueFd c = ConnectFrom(a_->netns(), kVip, kVipPort);
  ASSERT_TRUE(c.valid());
  EXPECT_TRUE(Refused(c.get()));
  EXPECT_TRUE(app.peers().empty()) << "reached the service around its waypoint";
  auto counters = Counters();
  EXPECT_EQ(counters["outbound"]["waypointUnavailable"], 1) << counters.dump(2);
  EXPECT_EQ(counters["outbound"]["hbone"], 0);
  // Without the requirement, Istio's fallback: direct to the endpoint.
  auto open = std::make_shared<state::Service>(*svc);
  open->waypoint_required = false;
  contents_.services[svc->Key()] = open;
  Publish();
  UniqueFd direct = ConnectFrom(a_->netns(), kVip, kVipPort);
  ASSERT_TRUE(direct.valid());
  EXPECT_EQ(RoundTrip(direct.get(), "direct"), "direct");
}

}  // namespace
}  // namespace ambit::node
