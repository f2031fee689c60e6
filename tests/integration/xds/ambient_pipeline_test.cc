// The whole discovery pipeline in one process, the way ambitd and ztunnel
// wire it: Kubernetes YAML -> config -> ambient model -> ResourceStore ->
// DeltaAdsServer ==unix socket==> DeltaAdsClient -> StateStore -> lookups the
// route decision makes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "config/parse.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "model/ambient_model.h"
#include "state/ip_bytes.h"
#include "xds/delta_ads_client.h"
#include "xds/delta_ads_server.h"
#include "xds/type_urls.h"

namespace ambit {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kManifests = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  labels: {app: web}
spec:
  serviceAccountName: web
  containers:
  - name: nginx
    image: nginx
    ports:
    - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: shop
  labels: {app: client}
spec:
  containers:
  - name: curl
    image: curl
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
)";

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(10'000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

std::string Ip(const char* text) { return state::PackIp(text).value(); }

class AmbientPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ambit-xds-pipeline-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config::ParseResult parsed = config::ParseManifests(kManifests, "test.yaml");
    ASSERT_TRUE(parsed.ok());
    for (config::Resource& r : parsed.resources) {
      if (auto* ns = std::get_if<config::Namespace>(&r)) namespace_ = *ns;
      if (auto* pod = std::get_if<config::Pod>(&r)) pods_.push_back(*pod);
      if (auto* svc = std::get_if<config::Service>(&r)) service_ = *svc;
    }
    ASSERT_EQ(pods_.size(), 2u);
    runtime_ = {{"10.1.0.11", "node2", model::PodPhase::kRunning, true},
                {"10.1.0.20", "node1", model::PodPhase::kRunning, true}};
    Publish();

    builder_.AddListeningPort("unix:" + dir_ + "/ambitd.sock", grpc::InsecureServerCredentials());
    builder_.RegisterService(ads_.service());
    server_ = builder_.BuildAndStart();
    ASSERT_NE(server_, nullptr);

    // The node credential as the cluster writes it.
    std::ofstream(dir_ + "/credential") << "token-node1\n";
    xds::DeltaAdsClientOptions options;
    options.node = xds::ProxyNode{"10.0.1.1", "ztunnel", "istio-system", "node1", "Kubernetes"};
    options.token_source = xds::TokenFromFile(dir_ + "/credential");
    client_ = std::make_unique<xds::DeltaAdsClient>(
        xds::MakeXdsChannel("unix:" + dir_ + "/ambitd.sock").value(), options, state_);
    client_->Start();
    ASSERT_TRUE(client_->WaitForSync(milliseconds(10'000)));
    // The server counts a write after it returns, which may trail the client.
    ASSERT_TRUE(WaitUntil([&] { return ads_.stats().resources_sent == 3; }));
  }
  void TearDown() override {
    client_.reset();
    ads_.Stop();
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  // What ambitd does after any config or pod-status change.
  xds::StoreChange Publish() {
    model::AmbientInput input;
    input.namespaces = {&namespace_};
    for (size_t i = 0; i < pods_.size(); ++i) input.pods.push_back({&pods_[i], runtime_[i]});
    input.services = {{&service_, "10.96.0.10"}};
    model::AddressSet addresses = model::BuildAddresses(input);
    EXPECT_TRUE(addresses.warnings.empty());
    auto change = store_.SetAll(xds::kAddressTypeUrl, addresses.MessageView());
    EXPECT_TRUE(change.ok());
    return change.ok() ? *change : xds::StoreChange{};
  }

  std::string dir_;
  config::Namespace namespace_;
  std::vector<config::Pod> pods_;
  std::vector<model::PodRuntime> runtime_;
  config::Service service_;

  xds::ResourceStore store_;
  xds::FunctionNodeAuthenticator auth_{[](std::string_view token) -> Result<std::string> {
    if (token == "token-node1") return std::string("node1");
    return Error(ErrorCode::kUnauthenticated, "bad token");
  }};
  xds::DeltaAdsServer ads_{store_, auth_};
  grpc::ServerBuilder builder_;
  std::unique_ptr<grpc::Server> server_;
  state::StateStore state_;
  std::unique_ptr<xds::DeltaAdsClient> client_;
};

TEST_F(AmbientPipelineTest, ZtunnelResolvesAServiceVipToAnEnrolledPodAndNamedPort) {
  state::StateReader reader(state_);
  const state::WorkloadState& s = reader.Get();
  // Outbound from the client pod: who is the source, where does 10.96.0.10:80 go?
  const state::Workload* source = s.FindWorkloadByAddress("", Ip("10.1.0.20"));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->Identity().ToString(), "spiffe://cluster.local/ns/shop/sa/default");
  auto endpoint = s.PickServiceEndpoint("", Ip("10.96.0.10"), 80, 12345);
  ASSERT_TRUE(endpoint.has_value());
  EXPECT_EQ(state::FormatIp(endpoint->address), "10.1.0.11");
  EXPECT_EQ(endpoint->target_port, 8080);  // targetPort "http" resolved on the pod
  EXPECT_EQ(endpoint->workload->tunnel_protocol, state::TunnelProtocol::kHbone);
  EXPECT_EQ(endpoint->workload->Identity().ToString(), "spiffe://cluster.local/ns/shop/sa/web");
  EXPECT_EQ(endpoint->workload->node, "node2");
}

TEST_F(AmbientPipelineTest, RelabellingTheNamespaceReleasesItsPods) {
  namespace_.metadata.labels.clear();
  xds::StoreChange change = Publish();
  EXPECT_EQ(change.upserted.size(), 2u);  // both pods; the service is unchanged
  ASSERT_TRUE(WaitUntil([&] {
    auto s = state_.Snapshot();
    const state::Workload* w = s->FindWorkloadByAddress("", Ip("10.1.0.11"));
    return w != nullptr && w->tunnel_protocol == state::TunnelProtocol::kNone;
  }));
  namespace_.metadata.labels["istio.io/dataplane-mode"] = "ambient";
  Publish();
  ASSERT_TRUE(WaitUntil([&] {
    return state_.Snapshot()->FindWorkloadByAddress("", Ip("10.1.0.11"))->tunnel_protocol ==
           state::TunnelProtocol::kHbone;
  }));
}

TEST_F(AmbientPipelineTest, AnUnreadyPodStopsReceivingServiceTrafficAfterOneResourcePush) {
  uint64_t resources_before = ads_.stats().resources_sent;
  runtime_[0].ready = false;
  xds::StoreChange change = Publish();
  EXPECT_EQ(change.upserted, std::vector<std::string>{"Kubernetes//Pod/shop/web-1"});
  ASSERT_TRUE(WaitUntil(
      [&] { return !state_.Snapshot()->PickServiceEndpoint("", Ip("10.96.0.10"), 80, 0); }));
  EXPECT_TRUE(WaitUntil([&] { return ads_.stats().resources_sent == resources_before + 1; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(ads_.stats().resources_sent, resources_before + 1);
}

}  // namespace
}  // namespace ambit
