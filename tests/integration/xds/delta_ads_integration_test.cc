// A real gRPC delta ADS server and client in one process over a unix socket:
// what goes on the wire, and what the client's state shows, across changes,
// removals, NACKs and server restarts.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "metrics/registry.h"
#include "state/ip_bytes.h"
#include "test_resources.h"
#include "xds/delta_ads_client.h"
#include "xds/delta_ads_server.h"
#include "xds/type_urls.h"

namespace ambit::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using std::chrono::milliseconds;
using testing::ServiceAddress;
using testing::ServiceKey;
using testing::WorkloadAddress;
using testing::WorkloadUid;

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(10'000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

std::string Ip(const char* text) { return state::PackIp(text).value(); }

// Everything the server wrote, in order.
class WireLog {
 public:
  void Record(const DeltaDiscoveryResponse& r) {
    std::lock_guard lock(mu_);
    responses_.push_back(r);
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return responses_.size();
  }
  // Names of resources sent / removed in responses [from, end) of |type_url|.
  std::multiset<std::string> SentSince(size_t from, std::string_view type_url = kAddressTypeUrl) const {
    std::lock_guard lock(mu_);
    std::multiset<std::string> out;
    for (size_t i = from; i < responses_.size(); ++i) {
      if (responses_[i].type_url() != type_url) continue;
      for (const auto& r : responses_[i].resources()) out.insert(r.name());
    }
    return out;
  }
  std::multiset<std::string> RemovedSince(size_t from) const {
    std::lock_guard lock(mu_);
    std::multiset<std::string> out;
    for (size_t i = from; i < responses_.size(); ++i) {
      for (const auto& r : responses_[i].removed_resources()) out.insert(r);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<DeltaDiscoveryResponse> responses_;
};

// One running control plane: store + ADS service + gRPC server on a unix socket.
class ControlPlane {
 public:
  ControlPlane(ResourceStore& store, const std::string& socket_path,
               const NodeAuthenticator& auth, WireLog& log)
      : ads_(store, auth) {
    ads_.EnableMetrics(registry_);
    ads_.SetSendObserver([&log](const ProxyNode&, const DeltaDiscoveryResponse& r) { log.Record(r); });
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
    builder.RegisterService(ads_.service());
    server_ = builder.BuildAndStart();
  }
  ~ControlPlane() { Shutdown(); }
  void Shutdown() {
    if (!server_) return;
    ads_.Stop();
    server_->Shutdown();
    server_.reset();
  }
  bool running() const { return server_ != nullptr; }
  DeltaAdsServer& ads() { return ads_; }
  std::string Metrics() const { return registry_.Render(); }

 private:
  metrics::Registry registry_;  // outlives ads_
  DeltaAdsServer ads_;
  std::unique_ptr<grpc::Server> server_;
};

class DeltaAdsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ambit-xds-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/ambitd.sock";
    Populate(store_);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  static void Populate(ResourceStore& store) {
    for (auto [name, ip] : {std::pair{"a", "10.1.0.1"}, {"b", "10.1.0.2"}, {"c", "10.1.0.3"}}) {
      auto w = WorkloadAddress("shop", name, ip);
      (*w.mutable_workload()->mutable_services())[ServiceKey("shop", "web")].add_ports()->set_service_port(80);
      ASSERT_TRUE(store.Set(kAddressTypeUrl, WorkloadUid("shop", name), w).ok());
    }
    ASSERT_TRUE(store.Set(kAddressTypeUrl, ServiceKey("shop", "web"),
                          ServiceAddress("shop", "web", "10.96.0.10"))
                    .ok());
  }

  void StartServer(ResourceStore& store) {
    server_ = std::make_unique<ControlPlane>(store, socket_, auth_, log_);
    ASSERT_TRUE(server_->running());
  }
  void StartClient(std::function<Result<std::string>()> token = nullptr,
                   std::string node_name = "node1") {
    DeltaAdsClientOptions options;
    options.node = ProxyNode{"10.0.0.1", "ztunnel-" + node_name, "istio-system", node_name,
                             "Kubernetes"};
    options.token_source = std::move(token);
    client_ = std::make_unique<DeltaAdsClient>(MakeXdsChannel("unix:" + socket_).value(), options, state_);
    client_->Start();
  }
  uint64_t Applied() const { return client_->stats().responses_applied; }

  std::string dir_, socket_;
  ResourceStore store_;
  ResourceStore restarted_store_;  // a second control plane's store; outlives server_
  InsecureNodeAuthenticator auth_;
  WireLog log_;
  state::StateStore state_;
  std::unique_ptr<ControlPlane> server_;
  std::unique_ptr<DeltaAdsClient> client_;
};

TEST_F(DeltaAdsIntegrationTest, InitialSyncDeliversEverything) {
  StartServer(store_);
  StartClient();
  ASSERT_TRUE(client_->WaitForSync(milliseconds(10'000)));
  auto s = state_.Snapshot();
  EXPECT_EQ(s->workload_count(), 3u);
  EXPECT_EQ(s->service_count(), 1u);
  auto ep = s->PickServiceEndpoint("", Ip("10.96.0.10"), 80, 0);
  ASSERT_TRUE(ep.has_value());
  EXPECT_EQ(ep->target_port, 8080);
  EXPECT_EQ(log_.SentSince(0).size(), 4u);
  EXPECT_TRUE(WaitUntil([&] { return server_->ads().stats().acks >= 2; }));  // both types ACKed
  EXPECT_EQ(server_->ads().ConnectedNodes().at(0).node_name, "node1");
  // istiod's metrics: one proxy connected, one response per type so far (the
  // four resources are Addresses), sizes observed.
  const std::string metrics = server_->Metrics();
  EXPECT_NE(metrics.find("\npilot_xds 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\npilot_xds_pushes{type=\"wds\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\npilot_xds_config_size_bytes_count{type=\"wds\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("pilot_total_xds_rejects{"), std::string::npos) << metrics;
}

TEST_F(DeltaAdsIntegrationTest, WhenSyncedWakesOnceTheFirstPushIsApplied) {
  StartClient();  // no server yet: the client retries
  std::mutex mu;
  std::condition_variable cv;
  int woken = 0;
  ASSERT_TRUE(client_->WhenSynced([&] {
    std::lock_guard lock(mu);
    ++woken;
    cv.notify_all();
  }));
  EXPECT_FALSE(client_->synced());
  StartServer(store_);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, milliseconds(10'000), [&] { return woken > 0; }));
  }
  EXPECT_TRUE(client_->synced());
  EXPECT_EQ(state_.Snapshot()->workload_count(), 3u);
  // Synced now: nothing is kept, and the first callback never runs again.
  EXPECT_FALSE(client_->WhenSynced([&] { ++woken; }));
  client_->Stop();
  EXPECT_EQ(woken, 1);
}

TEST_F(DeltaAdsIntegrationTest, StopWakesWhoWaitsForSync) {
  StartClient();  // never synced: no server
  std::atomic<int> woken{0};
  ASSERT_TRUE(client_->WhenSynced([&] { ++woken; }));
  client_->Stop();
  EXPECT_EQ(woken.load(), 1);
  EXPECT_FALSE(client_->WhenSynced([&] { ++woken; }));
  EXPECT_EQ(woken.load(), 1);
}

TEST_F(DeltaAdsIntegrationTest, OnePodChangeSendsExactlyThatResource) {
  StartServer(store_);
  StartClient();
  ASSERT_TRUE(client_->WaitForSync(milliseconds(10'000)));
  size_t mark = log_.size();
  uint64_t applied = Applied();

  ASSERT_TRUE(store_.Set(kAddressTypeUrl, WorkloadUid("shop", "b"),
                         WorkloadAddress("shop", "b", "10.1.0.22"))
                  .ok());
  ASSERT_TRUE(WaitUntil([&] { return Applied() > applied; }));
  EXPECT_EQ(log_.SentSince(mark), std::multiset<std::string>{WorkloadUid("shop", "b")});
  EXPECT_TRUE(log_.RemovedSince(mark).empty());
  EXPECT_EQ(log_.size(), mark + 1);  // one response on the wire
  auto s = state_.Snapshot();
  EXPECT_NE(s->FindWorkloadByAddress("", Ip("10.1.0.22")), nullptr);
  EXPECT_EQ(s->FindWorkloadByAddress("", Ip("10.1.0.2")), nullptr);
  EXPECT_NE(s->FindWorkloadByAddress("", Ip("10.1.0.1")), nullptr);
}

TEST_F(DeltaAdsIntegrationTest, RemovalReachesTheClient) {
  StartServer(store_);
  StartClient();
  ASSERT_TRUE(client_->WaitForSync(milliseconds(10'000)));
  size_t mark = log_.size();
  store_.Remove(kAddressTypeUrl, WorkloadUid("shop", "c"));
  ASSERT_TRUE(WaitUntil([&] { return state_.Snapshot()->workload_count() == 2; }));
  EXPECT_EQ(log_.RemovedSince(mark), std::multiset<std::string>{WorkloadUid("shop", "c")});
  EXPECT_TRUE(log_.SentSince(mark).empty());
  EXPECT_EQ(state_.Snapshot()->FindWorkloadByUid(WorkloadUid("shop", "c")), nullptr);
}

TEST_F(DeltaAdsIntegrationTest, NackKeepsTheLastGoodState) {
  StartServer(store_);
  StartClient();
  ASSERT_TRUE(client_->WaitForSync(milliseconds(10'000)));
  auto good = state_.Snapshot();

  auto broken = WorkloadAddress("shop", "a", "10.1.0.1");
  broken.mutable_workload()->set_addresses(0, "12345");  // 5 bytes: not an IP
  ASSERT_TRUE(store_.Set(kAddressTypeUrl, WorkloadUid("shop", "a"), broken).ok());
  ASSERT_TRUE(WaitUntil([&] { return server_->ads().stats().nacks == 1; }));
  EXPECT_EQ(client_->stats().responses_rejected, 1u);
  EXPECT_NE(client_->stats().last_error.find("5 bytes"), std::string::npos);
  EXPECT_NE(server_->Metrics().find("\npilot_total_xds_rejects{type=\"wds\"} 1\n"), std::string::npos)
      << server_->Metrics();
  EXPECT_EQ(state_.Snapshot(), good);  // the very same snapshot: nothing was published
  EXPECT_NE(state_.Snapshot()->FindWorkloadByAddress("", Ip("10.1.0.1")), nullptr);

  // The control plane fixes it: the next version is applied.
  ASSERT_TRUE(store_.Set(kAddressTypeUrl, WorkloadUid("shop", "a"),
                         WorkloadAddress("shop", "a", "10.1.0.11"))
                  .ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return state_.Snapshot()->FindWorkloadByAddress("", Ip("10.1.0.11")) != nullptr; }));
}

TEST_F(DeltaAdsIntegrationTest, ClientServesWhileServerIsDownAndResumesWithoutResending) {
  StartServer(store_);
  StartClient();
  ASSERT_TRUE(client_->WaitForSync(milliseconds(10'000)));
  server_->Shutdown();
  ASSERT_TRUE(WaitUntil([&] { return !client_->stats().connected; }));

  // The data path keeps answering from the last good state.
  state::StateReader reader(state_);
  std::this_thread::sleep_for(milliseconds(100));  // several reconnect attempts fail meanwhile
  EXPECT_EQ(reader.Get().workload_count(), 3u);
  EXPECT_NE(reader.Get().PickServiceEndpoint("", Ip("10.96.0.10"), 80, 1), std::nullopt);
  EXPECT_GT(client_->stats().attempts, 1u);

  // A restarted control plane rebuilds its store from config; one pod changed
  // and one was deleted while it was away.
  ResourceStore& restarted = restarted_store_;
  Populate(restarted);
  ASSERT_TRUE(restarted.Set(kAddressTypeUrl, WorkloadUid("shop", "a"),
                            WorkloadAddress("shop", "a", "10.1.0.111"))
                  .ok());
  restarted.Remove(kAddressTypeUrl, WorkloadUid("shop", "c"));
  size_t mark = log_.size();
  uint64_t connects = client_->stats().connects;
  server_.reset();
  StartServer(restarted);
  ASSERT_TRUE(WaitUntil([&] { return client_->stats().connects > connects; }));
  ASSERT_TRUE(WaitUntil(
      [&] { return reader.Get().FindWorkloadByAddress("", Ip("10.1.0.111")) != nullptr; }));
  // Only the changed workload and the removal went on the wire: b and the
  // service were not sent again.
  EXPECT_EQ(log_.SentSince(mark), std::multiset<std::string>{WorkloadUid("shop", "a")});
  EXPECT_EQ(log_.RemovedSince(mark), std::multiset<std::string>{WorkloadUid("shop", "c")});
  EXPECT_EQ(reader.Get().workload_count(), 2u);
  EXPECT_EQ(reader.Get().service_count(), 1u);
}

TEST_F(DeltaAdsIntegrationTest, StreamsNeedAValidNodeCredential) {
  FunctionNodeAuthenticator auth([](std::string_view token) -> Result<std::string> {
    if (token == "token-for-node1") return std::string("node1");
    return Error(ErrorCode::kUnauthenticated, "unknown token");
  });
  WireLog log;
  ControlPlane server(store_, socket_, auth, log);

  StartClient([] { return Result<std::string>(std::string("wrong")); });
  ASSERT_TRUE(WaitUntil([&] { return server.ads().stats().streams_rejected >= 2; }));
  EXPECT_FALSE(client_->synced());
  EXPECT_TRUE(WaitUntil(
      [&] { return client_->stats().last_error.find("unknown token") != std::string::npos; }))
      << client_->stats().last_error;

  // A valid credential for another node than the one the stream claims.
  uint64_t rejected = server.ads().stats().streams_rejected;
  StartClient([] { return Result<std::string>(std::string("token-for-node1")); }, "node2");
  ASSERT_TRUE(WaitUntil([&] { return server.ads().stats().streams_rejected > rejected; }));
  EXPECT_FALSE(client_->synced());

  StartClient([] { return Result<std::string>(std::string("token-for-node1")); }, "node1");
  EXPECT_TRUE(client_->WaitForSync(milliseconds(10'000)));
  EXPECT_EQ(log.SentSince(0).size(), 4u);
  client_.reset();
}

}  // namespace
}  // namespace ambit::xds
