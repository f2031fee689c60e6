// ztunnel's HBONE inbound with L4 authorization on loopback (no namespaces,
// no root): a real HBONE server (hbone::InboundServer) with the per-pod
// PodAuthorizer over a StateStore that a test publishes snapshots to, the
// PolicyWatcher on that store, and a real client (hbone::Pool, mTLS with
// certificates from a test CA).
//
// Checks: a denied CONNECT is answered 401 and never reaches the app; an
// allowed one flows; a policy published while a stream is open closes it
// (stream reset to the client, RST to the app) with the deciding policy as
// the reason; an unrelated publication leaves it alone.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "authz/string_pattern.h"
#include "core/netns.h"
#include "hbone/connect_headers.h"
#include "hbone/inbound_server.h"
#include "hbone/pool.h"
#include "istio/security/authorization.pb.h"
#include "net/listener.h"
#include "proxy/authorization.h"
#include "node/pod_authorizer.h"
#include "node/policy_watcher.h"
#include "proxy/state_lookup.h"
#include "state/ip_bytes.h"
#include "support/test_mesh.h"

namespace ambit::node {
namespace {

using asio::ip::tcp;
using identity::SpiffeId;
namespace pb = istio::security;
using std::chrono::milliseconds;

// Records what the server reported (the destination's telemetry hook).
class RecordingObserver final : public hbone::InboundObserver {
 public:
  std::unique_ptr<hbone::InboundStreamObserver> StreamAccepted(
      const hbone::InboundRequestInfo&) override {
    return std::make_unique<Stream>(this);
  }
  std::vector<std::pair<int, std::string>> refused() {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::vector<std::string> closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }
  int opened() const { return opened_.load(); }

 private:
  class Stream final : public hbone::InboundStreamObserver {
   public:
    explicit Stream(RecordingObserver* owner) : owner_(owner) {}
    void Refused(int status, std::string_view reason) override {
      std::lock_guard lock(owner_->mu_);
      owner_->refused_.emplace_back(status, std::string(reason));
    }
    void Opened() override { owner_->opened_.fetch_add(1); }
    void Closed(std::uint64_t, std::uint64_t, bool, std::string_view revoked) override {
      std::lock_guard lock(owner_->mu_);
      owner_->closed_.emplace_back(revoked);
    }

   private:
    RecordingObserver* owner_;
  };

  std::mutex mu_;
  std::vector<std::pair<int, std::string>> refused_;
  std::vector<std::string> closed_;
  std::atomic<int> opened_{0};
};

std::shared_ptr<const pb::Authorization> DenyPrincipal(const std::string& name,
                                                       const std::string& sa) {
  auto p = std::make_shared<pb::Authorization>();
  p->set_namespace_("default");
  p->set_name(name);
  p->set_scope(pb::WORKLOAD_SELECTOR);
  p->set_action(pb::DENY);
  *p->add_rules()->add_clauses()->add_matches()->add_principals() =
      authz::StringMatchFromPattern("cluster.local/ns/default/sa/" + sa);
  return p;
}

class PolicyEnforcementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mesh = testing::TestMesh::Create("cluster.local");
    ASSERT_TRUE(mesh.ok()) << mesh.error().ToString();
    mesh_ = std::make_unique<testing::TestMesh>(std::move(*mesh));
    client_ctx_ = *tls::TlsContext::Client(*mesh_->Issue("default", "client"));
    intruder_ctx_ = *tls::TlsContext::Client(*mesh_->Issue("default", "intruder"));
    auto server_ctx = *tls::TlsContext::Server(*mesh_->Issue("default", "server"));

    // The destination workload: the server at 127.0.0.1, listing one key.
    auto w = std::make_shared<state::Workload>();
    w->uid = "Kubernetes//Pod/default/server";
    w->name = "server";
    w->ns = "default";
    w->addresses = {*state::PackIp("127.0.0.1")};
    w->tunnel_protocol = state::TunnelProtocol::kHbone;
    w->service_account = "server";
    w->authorization_policies = {"default/deny-intruder"};
    contents_.workloads[w->uid] = w;
    contents_.policies["default/deny-intruder"] = DenyPrincipal("deny-intruder", "intruder");
    Publish();

    // The app: reports how each connection ended ("eof" or "reset").
    app_acceptor_ = std::make_unique<tcp::acceptor>(
        app_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    app_port_ = app_acceptor_->local_endpoint().port();
    asio::co_spawn(app_io_, [this]() -> asio::awaitable<void> {
      for (;;) {
        asio::error_code ec;
        tcp::socket s = co_await app_acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        app_accepts_.fetch_add(1);
        asio::co_spawn(app_io_, [this, s = std::move(s)]() mutable -> asio::awaitable<void> {
          std::array<char, 4096> buf;
          asio::error_code rec;
          for (;;) {
            co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, rec));
            if (rec) break;
          }
          std::lock_guard lock(app_mu_);
          app_endings_.push_back(rec == asio::error::eof ? "eof" : "reset");
        }, asio::detached);
      }
    }, asio::detached);
    app_guard_.emplace(app_io_.get_executor());
    app_thread_ = std::thread([this] { app_io_.run(); });

    workers_ = std::make_unique<net::WorkerPool>(2);
    stats_ = std::make_unique<hbone::Stats>(2);
    pools_ = std::make_unique<hbone::PoolSet>(*workers_, hbone::Pool::Options{}, stats_.get());
    sockets_ = std::make_shared<net::DefaultSocketFactory>();
    lookup_ = std::make_shared<proxy::StateLookup>(store_, workers_->size());

    // The pod (only its spec and connection tracker are used here).
    auto netns = Netns::Current();
    ASSERT_TRUE(netns.ok());
    pod_ = std::make_shared<Pod>(
        PodSpec{"uid-server", "server", "default", "server"}, mesh_->Id("default", "server"),
        std::make_shared<const Netns>(std::move(*netns)), 0, proxy::CertLease());
    watcher_ = std::make_unique<PolicyWatcher>(store_, [this] {
      return std::vector<std::shared_ptr<Pod>>{pod_};
    });

    hbone::InboundServer::Options options;
    options.observer = observer_;
    server_ = std::make_shared<hbone::InboundServer>(
        [server_ctx] { return server_ctx; }, sockets_,
        std::make_shared<PodAuthorizer>("default", lookup_, pod_->tracker()), stats_.get(), options);
    auto listener = net::Listener::Start(*workers_, *sockets_,
                                         net::SocketAddress(net::IpAddress::Loopback4(), 0), {},
                                         [this](tcp::socket s) { server_->Serve(std::move(s)); });
    ASSERT_TRUE(listener.ok()) << listener.error().ToString();
    listener_ = *listener;
    workers_->Start();
  }

  void TearDown() override {
    if (listener_) listener_->Close();
    if (workers_) {
      // GOAWAY both ways and let the connections close before the loops
      // stop, so no coroutine is left holding what the fixture destroys.
      for (std::size_t i = 0; i < workers_->size(); ++i) {
        workers_->Post(i, [this, i] { pools_->At(i).Shutdown(); });
      }
      if (server_) {
        server_->Shutdown();
        (void)server_->WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2));
      }
      workers_->Shutdown();  // pending frames refer to pools_ and stats_
    }
    pools_.reset();
    watcher_.reset();
    app_guard_.reset();
    app_io_.stop();
    if (app_thread_.joinable()) app_thread_.join();
  }

  void Publish() {
    store_.Publish(std::make_shared<const state::WorkloadState>(contents_, store_.Snapshot().get()));
  }

  h2::Headers ConnectHeaders() {
    hbone::ConnectRequest r;
    r.target = net::SocketAddress(net::IpAddress::Loopback4(), app_port_);
    r.downstream = net::SocketAddress(net::IpAddress::Loopback4(), 40000);
    return hbone::BuildConnectHeaders(r);
  }

  // Opens a CONNECT as |ctx| on loop 0. On success the stream is kept open
  // until it ends; |ended| then gets "reset" or "closed".
  // The coroutine outlives this call: it captures nothing of its frame.
  Status Open(std::shared_ptr<const tls::TlsContext> ctx, std::promise<std::string>* ended) {
    auto opened = std::make_shared<std::promise<Status>>();
    auto result = opened->get_future();
    workers_->Post(0, [this, ctx, opened, ended] {
      asio::co_spawn(workers_->loop(0), [this, ctx, opened, ended]() -> asio::awaitable<void> {
        hbone::PoolKey key{ctx->local_identity(), net::IpAddress::Loopback4(),
                           listener_->local_address(), {mesh_->Id("default", "server")}};
        auto r = co_await pools_->At(0).Connect(key, hbone::DialParams{ctx, sockets_},
                                                ConnectHeaders());
        if (!r.ok()) {
          opened->set_value(r.error());
          co_return;
        }
        std::shared_ptr<h2::Stream> stream = *r;
        opened->set_value(Ok());
        if (ended == nullptr) {
          stream->Reset();
          co_return;
        }
        while (!stream->reset() && !stream->closed()) co_await stream->WaitReadable();
        ended->set_value(stream->reset() ? "reset" : "closed");
      }, asio::detached);
    });
    return result.get();
  }

  std::vector<std::string> AppEndings() {
    std::lock_guard lock(app_mu_);
    return app_endings_;
  }

  std::unique_ptr<testing::TestMesh> mesh_;
  std::shared_ptr<const tls::TlsContext> client_ctx_, intruder_ctx_;
  state::WorkloadState::Contents contents_;
  state::StateStore store_;
  std::unique_ptr<net::WorkerPool> workers_;
  std::unique_ptr<hbone::Stats> stats_;
  std::unique_ptr<hbone::PoolSet> pools_;
  std::shared_ptr<net::DefaultSocketFactory> sockets_;
  std::shared_ptr<proxy::StateLookup> lookup_;
  std::shared_ptr<Pod> pod_;
  std::unique_ptr<PolicyWatcher> watcher_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  std::shared_ptr<hbone::InboundServer> server_;
  std::shared_ptr<net::Listener> listener_;
  asio::io_context app_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> app_guard_;
  std::unique_ptr<tcp::acceptor> app_acceptor_;
  std::uint16_t app_port_ = 0;
  std::atomic<int> app_accepts_{0};
  std::mutex app_mu_;
  std::vector<std::string> app_endings_;
  std::thread app_thread_;
};

TEST_F(PolicyEnforcementTest, DeniedConnectIsAnswered401AndNeverReachesTheApp) {
  Status denied = Open(intruder_ctx_, nullptr);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied) << denied.error().ToString();
  EXPECT_EQ(stats_->Snapshot().inbound_status_401, 1u);
  EXPECT_EQ(app_accepts_.load(), 0);
  const auto refused = observer_->refused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].first, 401);
  EXPECT_EQ(refused[0].second, "explicitly denied by: default/deny-intruder");
  // An allowed client gets through to the app.
  EXPECT_TRUE(Open(client_ctx_, nullptr).ok());
  for (int i = 0; i < 200 && app_accepts_.load() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(app_accepts_.load(), 1);
}

TEST_F(PolicyEnforcementTest, APolicyAddedWhileAStreamIsOpenClosesIt) {
  std::promise<std::string> ended;
  auto ended_future = ended.get_future();
  ASSERT_TRUE(Open(client_ctx_, &ended).ok());
  for (int i = 0; i < 200 && observer_->opened() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_EQ(observer_->opened(), 1);

  // Publications that change nothing authorization sees leave it open.
  auto svc = std::make_shared<state::Service>();
  svc->name = "web";
  svc->ns = "default";
  svc->hostname = "web.default.svc.cluster.local";
  contents_.services[svc->Key()] = svc;
  Publish();
  EXPECT_EQ(ended_future.wait_for(milliseconds(300)), std::future_status::timeout);

  // Now the client is denied too.
  contents_.policies["default/deny-client"] = DenyPrincipal("deny-client", "client");
  contents_.workloads["Kubernetes//Pod/default/server"] = [&] {
    auto w = std::make_shared<state::Workload>(*contents_.workloads["Kubernetes//Pod/default/server"]);
    w->authorization_policies.push_back("default/deny-client");
    return std::shared_ptr<const state::Workload>(w);
  }();
  Publish();
  ASSERT_EQ(ended_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(ended_future.get(), "reset");
  for (int i = 0; i < 200 && AppEndings().empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(AppEndings(), std::vector<std::string>{"reset"});
  for (int i = 0; i < 200 && observer_->closed().empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(observer_->closed(),
            std::vector<std::string>{"explicitly denied by: default/deny-client"});
  EXPECT_GE(watcher_->pod_rechecks(), 1u);
  // New CONNECTs from the client are refused now.
  Status again = Open(client_ctx_, nullptr);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace ambit::node
