// The waypoint on loopback, in one process, with the real pieces around it:
//   app -> outbound proxy (ztunnel stand-in; route: service has a waypoint)
//       -> HBONE to the waypoint (:authority = service VIP:port)
//       -> waypoint (xDS from an in-process ambitd ADS server, certificate
//          from a real CA) -> HBONE to the endpoint's server -> TCP echo app.
// Checks bytes (exact, both ways), the identities each hop saw, and the
// refusals (not served here -> 400, unknown / no endpoint -> 503).
#include <grpcpp/grpcpp.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "ca/certificate_authority.h"
#include "caclient/local_ca_client.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "hbone/inbound_server.h"
#include "hbone/outbound_path.h"
#include "hbone/pool.h"
#include "istio/security/authorization.pb.h"
#include "net/connect.h"
#include "net/listener.h"
#include "proxy/tls_secret.h"
#include "state/ip_bytes.h"
#include "test_resources.h"
#include "support/temp_dir.h"
#include "waypoint/waypoint.h"
#include "xds/delta_ads_server.h"
#include "xds/node_authenticator.h"
#include "xds/resource_store.h"
#include "xds/type_urls.h"

namespace ambit::waypoint {
namespace {

using asio::ip::tcp;
using identity::SpiffeId;
namespace wl = istio::workload;

constexpr char kVip[] = "10.96.0.10";       // echo: bound to the waypoint
constexpr char kOtherVip[] = "10.96.0.11";  // other: no waypoint
constexpr char kEmptyVip[] = "10.96.0.12";  // empty: bound, no endpoints
constexpr char kWaypointIp[] = "127.0.0.5";  // the waypoint's own pod (its Workload)

net::SocketAddress Addr(const std::string& ip, std::uint16_t port) {
  return net::SocketAddress(*net::IpAddress::Parse(ip), port);
}

// Records who connected to the endpoint's HBONE server (the destination
// ztunnel stand-in); allows everyone.
class RecordingAuthorizer final : public hbone::Authorizer {
 public:
  hbone::AuthorizationResult Authorize(const hbone::InboundRequestInfo& r) const override {
    std::lock_guard lock(mu_);
    peers_.insert(r.peer_identity.ToString());
    targets_.insert(r.target.ToString());
    return {};
  }
  std::set<std::string> peers() const {
    std::lock_guard lock(mu_);
    return peers_;
  }
  std::set<std::string> targets() const {
    std::lock_guard lock(mu_);
    return targets_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::set<std::string> peers_;
  mutable std::set<std::string> targets_;
};

// The client's view of discovery: the echo service has a waypoint at the
// waypoint under test.
class ClientLookup final : public hbone::DestinationLookup {
 public:
  ClientLookup(net::SocketAddress vip, hbone::WaypointTarget waypoint)
      : vip_(vip), waypoint_(std::move(waypoint)) {}
  std::optional<hbone::ServiceTarget> FindService(const net::SocketAddress& vip, std::uint64_t /*pick*/) const override {
    if (vip != vip_) return std::nullopt;
    hbone::ServiceTarget t;
    t.hostname = "echo.default.svc.cluster.local";
    t.waypoint = hbone::WaypointRef{"default/waypoint.default.svc.cluster.local", std::nullopt, 0};
    return t;
  }
  std::optional<hbone::WorkloadTarget> FindWorkload(const net::IpAddress&) const override {
    return std::nullopt;
  }
  std::optional<hbone::WaypointTarget> FindWaypoint(const hbone::WaypointRef& ref) const override {
    if (ref.service_key != "default/waypoint.default.svc.cluster.local") return std::nullopt;
    return waypoint_;
  }

 private:
  net::SocketAddress vip_;
  hbone::WaypointTarget waypoint_;
};

// Echoes everything until EOF, then half-closes.
asio::awaitable<void> Echo(tcp::socket s) {
  std::vector<char> buf(64 * 1024);
  asio::error_code ec;
  for (;;) {
    std::size_t n = co_await s.async_read_some(asio::buffer(buf),
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(s, asio::buffer(buf.data(), n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
  s.shutdown(tcp::socket::shutdown_send, ec);
}

std::string Pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + (i >> 12)) & 0xff);
  return s;
}

class WaypointRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(dir_.File("ca"), {});
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(*ca);
    ca_client_ = std::make_shared<caclient::LocalCaClient>(*ca_);
    client_secret_ = Secret(SpiffeId("cluster.local", "default", "client"));
    server_secret_ = Secret(SpiffeId("cluster.local", "default", "server"));
    ASSERT_NE(client_secret_, nullptr);
    ASSERT_NE(server_secret_, nullptr);

    // The echo app.
    app_acceptor_ = std::make_unique<tcp::acceptor>(
        app_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    app_port_ = app_acceptor_->local_endpoint().port();
    asio::co_spawn(app_io_, [this]() -> asio::awaitable<void> {
      for (;;) {
        asio::error_code ec;
        tcp::socket s = co_await app_acceptor_->async_accept(
            asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        asio::co_spawn(app_io_, Echo(std::move(s)), asio::detached);
      }
    }, asio::detached);
    app_guard_.emplace(app_io_.get_executor());
    app_thread_ = std::thread([this] { app_io_.run(); });

    // The endpoint's HBONE server (the destination ztunnel stand-in).
    workers_ = std::make_unique<net::WorkerPool>(2);
    stats_ = std::make_unique<hbone::Stats>(2);
    sockets_ = std::make_shared<net::DefaultSocketFactory>();
    auto server_ctx = server_secret_->server_context;
    server_ = std::make_shared<hbone::InboundServer>(
        [server_ctx] { return server_ctx; }, sockets_, authorizer_, stats_.get(),
        hbone::InboundServer::Options{});
    auto listener = net::Listener::Start(*workers_, *sockets_, Addr("127.0.0.1", 0), {},
                                         [this](tcp::socket s) { server_->Serve(std::move(s)); });
    ASSERT_TRUE(listener.ok()) << listener.error().ToString();
    server_listener_ = *listener;
    workers_->Start();

    // ambitd's xDS side.
    Publish();
    ads_ = std::make_unique<xds::DeltaAdsServer>(store_, auth_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + dir_.File("ambitd.sock"), grpc::InsecureServerCredentials());
    builder.RegisterService(ads_->service());
    grpc_ = builder.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);

    // The waypoint under test.
    WaypointConfig config;
    config.name = "waypoint";
    config.ns = "default";
    config.node_name = "node1";
    config.xds_address = "unix:" + dir_.File("ambitd.sock");
    config.ca_client = ca_client_;
    config.hbone_address = Addr("127.0.0.1", 0);
    config.admin_address = Addr("127.0.0.1", 0);
    config.metrics_address = Addr("127.0.0.1", 0);
    config.readiness_address = Addr("127.0.0.1", 0);
    config.hbone_port = server_listener_->local_address().port();
    config.instance_ip = kWaypointIp;
    auto waypoint = Waypoint::Start(config);
    ASSERT_TRUE(waypoint.ok()) << waypoint.error().ToString();
    waypoint_ = std::move(*waypoint);
    for (int i = 0; i < 200 && !waypoint_->ready(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(waypoint_->ready()) << waypoint_->ConfigDump();

    // The client side (source ztunnel stand-in): its pool and an outbound
    // proxy whose every connection "originally" went to the echo VIP.
    client_stats_ = std::make_unique<hbone::Stats>(2);
    client_pools_ = std::make_unique<hbone::PoolSet>(*workers_, hbone::Pool::Options{},
                                                     client_stats_.get());
    hbone::WaypointTarget wp;
    wp.pods.push_back(hbone::WorkloadTarget{net::IpAddress::Loopback4(), WaypointId(), true});
    wp.hbone_port = waypoint_->hbone_address().port();
    auto lookup = std::make_shared<ClientLookup>(Addr(kVip, 80), wp);
    auto client_ctx = client_secret_->client_context;
    hbone::OutboundSource source{client_ctx->local_identity(), client_ctx, sockets_,
                                 "k8s.namespace.name=default"};
    hbone::OutboundPath::Options options;
    // The client is not a waypoint pod, though both are on 127.0.0.1.
    options.route.source_ip = *net::IpAddress::Parse("10.244.0.5");
    options.original_destination = [](tcp::socket&) -> Result<net::SocketAddress> {
      return Addr(kVip, 80);
    };
    auto path = std::make_shared<hbone::OutboundPath>(lookup, client_pools_.get(), client_stats_.get(),
                                                      options);
    auto outbound = net::Listener::Start(*workers_, *sockets_, Addr("127.0.0.1", 0), {},
                                         [path, source](tcp::socket s) { path->Serve(std::move(s), source); });
    ASSERT_TRUE(outbound.ok()) << outbound.error().ToString();
    outbound_listener_ = *outbound;
  }

  void TearDown() override {
    if (waypoint_) waypoint_->Shutdown(std::chrono::milliseconds(0));
    waypoint_.reset();
    if (outbound_listener_) outbound_listener_->Close();
    if (server_listener_) server_listener_->Close();
    if (client_pools_) {
      for (std::size_t i = 0; i < workers_->size(); ++i) {
        workers_->Post(i, [this, i] { client_pools_->At(i).Shutdown(); });
      }
    }
    if (workers_) workers_->Shutdown();  // pending frames refer to the pools and stats_
    client_pools_.reset();
    if (ads_) ads_->Stop();
    if (grpc_) grpc_->Shutdown();
    app_guard_.reset();
    app_io_.stop();
    if (app_thread_.joinable()) app_thread_.join();
  }

  std::shared_ptr<const proxy::Secret> Secret(const SpiffeId& id) {
    auto cert = ca_client_->Fetch(id);
    EXPECT_TRUE(cert.ok()) << cert.error().ToString();
    if (!cert.ok()) return nullptr;
    auto secret = proxy::BuildTlsSecret(*cert);
    EXPECT_TRUE(secret.ok()) << secret.error().ToString();
    return secret.ok() ? *secret : nullptr;
  }

  static SpiffeId WaypointId() { return SpiffeId("cluster.local", "default", "waypoint"); }

  static wl::GatewayAddress Me() {
    wl::GatewayAddress gw;
    gw.mutable_hostname()->set_namespace_("default");
    gw.mutable_hostname()->set_hostname("waypoint.default.svc.cluster.local");
    gw.set_hbone_mtls_port(15008);
    return gw;
  }

  static wl::Address Service(const std::string& name, const std::string& vip, bool bound) {
    wl::Address a = xds::testing::ServiceAddress("default", name, vip);
    a.mutable_service()->mutable_ports(0)->set_target_port(0);  // per workload
    if (bound) *a.mutable_service()->mutable_waypoint() = Me();
    return a;
  }

  // The echo pod at 127.0.0.1 (serves "echo" and "other"; pod-addressed
  // traffic also goes through the waypoint: waypoint-for all), and a pod at
  // 127.0.0.3 bound to no waypoint.
  void Publish() {
    auto put = [this](const std::string& name, const wl::Address& a) {
      ASSERT_TRUE(store_.Set(xds::kAddressTypeUrl, name, a).ok());
    };
    put(xds::testing::ServiceKey("default", "echo"), Service("echo", kVip, true));
    put(xds::testing::ServiceKey("default", "other"), Service("other", kOtherVip, false));
    put(xds::testing::ServiceKey("default", "empty"), Service("empty", kEmptyVip, true));
    wl::Address echo = xds::testing::WorkloadAddress("default", "echo-1", "127.0.0.1");
    echo.mutable_workload()->set_service_account("server");
    *echo.mutable_workload()->mutable_waypoint() = Me();
    for (const char* svc : {"echo", "other"}) {
      auto* port = (*echo.mutable_workload()->mutable_services())[xds::testing::ServiceKey(
                                                                       "default", svc)]
                       .add_ports();
      port->set_service_port(80);
      port->set_target_port(app_port_);
    }
    put(xds::testing::WorkloadUid("default", "echo-1"), echo);
    put(xds::testing::WorkloadUid("default", "lone"),
        xds::testing::WorkloadAddress("default", "lone", "127.0.0.3"));
    PublishWaypointWorkload({});
  }

  // The waypoint's own pod, listing |policies| (those that target it).
  void PublishWaypointWorkload(const std::vector<std::string>& policies) {
    wl::Address self = xds::testing::WorkloadAddress("default", "waypoint-0", kWaypointIp);
    self.mutable_workload()->set_service_account("waypoint");
    for (const auto& key : policies) self.mutable_workload()->add_authorization_policies(key);
    ASSERT_TRUE(
        store_.Set(xds::kAddressTypeUrl, xds::testing::WorkloadUid("default", "waypoint-0"), self)
            .ok());
  }

  // An app connection through the outbound proxy: sends |payload|,
  // half-closes, returns everything read until EOF (or "error: ...").
  std::string RoundTrip(const std::string& payload) {
    std::promise<std::string> done;
    asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
      net::DefaultSocketFactory f;
      auto s = co_await net::Connect(f, outbound_listener_->local_address(), {});
      if (!s.ok()) {
        done.set_value("error: " + s.error().ToString());
        co_return;
      }
      auto writer = [&]() -> asio::awaitable<void> {
        asio::error_code ec;
        co_await asio::async_write(*s, asio::buffer(payload),
                                   asio::redirect_error(asio::use_awaitable, ec));
        s->shutdown(tcp::socket::shutdown_send, ec);
      };
      asio::co_spawn(app_io_, writer(), asio::detached);
      std::string reply;
      std::vector<char> buf(64 * 1024);
      asio::error_code ec;
      for (;;) {
        std::size_t n = co_await s->async_read_some(asio::buffer(buf),
                                                    asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        reply.append(buf.data(), n);
      }
      done.set_value(ec == asio::error::eof ? reply : "error: " + ec.message());
    }, asio::detached);
    return done.get_future().get();
  }

  // |count| app connections at once, connection i sending |size| bytes of
  // pattern offset by i; returns how many got their own bytes back exactly.
  int ConcurrentRoundTrips(int count, std::size_t size) {
    auto ok = std::make_shared<std::atomic<int>>(0);
    auto left = std::make_shared<std::atomic<int>>(count);
    auto done = std::make_shared<std::promise<void>>();
    for (int i = 0; i < count; ++i) {
      asio::co_spawn(app_io_, [this, i, size, ok, left, done]() -> asio::awaitable<void> {
        auto payload = std::make_shared<const std::string>(
            std::to_string(i) + ":" + Pattern(size + static_cast<std::size_t>(i)));
        std::string reply;
        net::DefaultSocketFactory f;
        auto s = co_await net::Connect(f, outbound_listener_->local_address(), {});
        if (s.ok()) {
          auto sock = std::make_shared<tcp::socket>(std::move(*s));
          asio::co_spawn(app_io_, [sock, payload]() -> asio::awaitable<void> {
            asio::error_code ec;
            co_await asio::async_write(*sock, asio::buffer(*payload),
                                       asio::redirect_error(asio::use_awaitable, ec));
            sock->shutdown(tcp::socket::shutdown_send, ec);
          }, asio::detached);
          std::vector<char> buf(16 * 1024);
          asio::error_code ec;
          for (;;) {
            std::size_t n = co_await sock->async_read_some(
                asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            reply.append(buf.data(), n);
          }
          if (ec == asio::error::eof && reply == *payload) ok->fetch_add(1);
        }
        if (left->fetch_sub(1) == 1) done->set_value();
      }, asio::detached);
    }
    done->get_future().wait();
    return ok->load();
  }

  // A CONNECT to the waypoint with :authority |target|, as the client.
  Status ConnectVia(net::SocketAddress target) {
    hbone::PoolKey key{client_secret_->client_context->local_identity(),
                       net::IpAddress::Loopback4(), waypoint_->hbone_address(), {WaypointId()}};
    hbone::DialParams dial{client_secret_->client_context, sockets_};
    hbone::ConnectRequest request;
    request.target = target;
    request.downstream = Addr("127.0.0.1", 40000);
    std::promise<Status> p;
    workers_->Post(0, [&] {
      asio::co_spawn(workers_->loop(0), [&]() -> asio::awaitable<void> {
        auto r = co_await client_pools_->At(0).Connect(key, dial,
                                                       hbone::BuildConnectHeaders(request));
        if (r.ok()) {
          (*r)->Reset();
          p.set_value(Ok());
        } else {
          p.set_value(std::move(r).error());
        }
      }, asio::detached);
    });
    return p.get_future().get();
  }

  // GET |path| from |addr| (HTTP/1.0, whole body).
  static std::string HttpGet(net::SocketAddress addr, const std::string& path) {
    asio::io_context io;
    tcp::socket s(io);
    asio::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address(addr.ip().ToString()), addr.port()), ec);
    if (ec) return "connect: " + ec.message();
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
    asio::write(s, asio::buffer(req), ec);
    std::string out;
    char buf[4096];
    for (;;) {
      std::size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }

  nlohmann::json Counters() { return nlohmann::json::parse(waypoint_->ConfigDump())["counters"]; }

  ::ambit::testing::TempDir dir_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
  std::shared_ptr<caclient::LocalCaClient> ca_client_;
  std::shared_ptr<const proxy::Secret> client_secret_, server_secret_;
  asio::io_context app_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> app_guard_;
  std::unique_ptr<tcp::acceptor> app_acceptor_;
  std::uint16_t app_port_ = 0;
  std::thread app_thread_;
  std::unique_ptr<net::WorkerPool> workers_;
  std::unique_ptr<hbone::Stats> stats_;
  std::shared_ptr<net::DefaultSocketFactory> sockets_;
  std::shared_ptr<RecordingAuthorizer> authorizer_ = std::make_shared<RecordingAuthorizer>();
  std::shared_ptr<hbone::InboundServer> server_;
  std::shared_ptr<net::Listener> server_listener_;
  xds::ResourceStore store_;
  xds::InsecureNodeAuthenticator auth_;
  std::unique_ptr<xds::DeltaAdsServer> ads_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<Waypoint> waypoint_;
  std::unique_ptr<hbone::Stats> client_stats_;
  std::unique_ptr<hbone::PoolSet> client_pools_;
  std::shared_ptr<net::Listener> outbound_listener_;
};

TEST_F(WaypointRelayTest, ServiceTrafficGoesThroughTheWaypointByteExact) {
  EXPECT_EQ(RoundTrip("hello through the waypoint"), "hello through the waypoint");
  const std::string big = Pattern(3 * 1024 * 1024 + 17);
  const std::string reply = RoundTrip(big);
  EXPECT_EQ(reply.size(), big.size());
  EXPECT_TRUE(reply == big) << "3 MiB echo differs";

  // The endpoint saw the waypoint's identity, never the client's, and the
  // CONNECT named the endpoint (pod IP : target port), not the VIP.
  EXPECT_EQ(authorizer_->peers(), std::set<std::string>{WaypointId().ToString()});
  EXPECT_EQ(authorizer_->targets(),
            std::set<std::string>{Addr("127.0.0.1", app_port_).ToString()});

  nlohmann::json c = Counters();
  EXPECT_EQ(c["relayed"]["hbone"], 2);
  EXPECT_EQ(c["downstream"]["status200"], 2);
  EXPECT_GE(c["bytes"]["downstreamToUpstream"].get<std::uint64_t>(), big.size() + 26);
  EXPECT_GE(c["bytes"]["upstreamToDownstream"].get<std::uint64_t>(), big.size() + 26);
  EXPECT_GE(c["upstream"]["tlsConnectionsOpened"].get<std::uint64_t>(), 1u);

  // istio_tcp_* as a waypoint reports them: client -> echo service/pod.
  const std::string metrics = HttpGet(waypoint_->metrics_address(), "/metrics");
  EXPECT_NE(metrics.find("istio_tcp_connections_opened_total{reporter=\"waypoint\""),
            std::string::npos) << metrics;
  for (const char* want :
       {"source_principal=\"spiffe://cluster.local/ns/default/sa/client\"",
        "destination_service=\"echo.default.svc.cluster.local\"",
        "destination_workload=\"echo-1\"",
        "destination_principal=\"spiffe://cluster.local/ns/default/sa/server\"",
        "connection_security_policy=\"mutual_tls\""}) {
    EXPECT_NE(metrics.find(want), std::string::npos) << want << "\n" << metrics;
  }
  // Both connections opened and closed, in one series.
  for (const char* name : {"istio_tcp_connections_opened_total{reporter=\"waypoint\"",
                           "istio_tcp_connections_closed_total{reporter=\"waypoint\""}) {
    const auto at = metrics.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    const std::string line = metrics.substr(at, metrics.find('\n', at) - at);
    EXPECT_EQ(line.substr(line.rfind(' ') + 1), "2") << line;
  }
  // The relay's own counters, summed over its loops, as /config_dump has them.
  EXPECT_NE(metrics.find("\nambit_waypoint_relayed_total{via=\"hbone\"} 2\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\nambit_waypoint_relayed_total{via=\"tcp\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nambit_waypoint_connect_streams_total 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE ambit_waypoint_connect_streams_active gauge\n"),
            std::string::npos);
}

TEST_F(WaypointRelayTest, ConcurrentConnectionsShareFewTlsConnectionsEachWay) {
  constexpr int kConnections = 40;
  EXPECT_EQ(ConcurrentRoundTrips(kConnections, 64 * 1024), kConnections);
  nlohmann::json c = Counters();
  EXPECT_EQ(c["relayed"]["hbone"], kConnections);
  // One pooled connection per worker loop and key at most (single flight,
  // fewer than 100 streams each), downstream and upstream.
  EXPECT_LE(c["downstream"]["tlsConnectionsAccepted"].get<int>(), 2);
  EXPECT_LE(c["upstream"]["tlsConnectionsOpened"].get<int>(), 2);
  EXPECT_GE(c["upstream"]["tlsConnectionsOpened"].get<int>(), 1);
  // Every relay ends once both sides are done (the last may still be
  // unwinding when the clients have their bytes).
  for (int i = 0; i < 100 && Counters()["downstream"]["streamsActive"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Counters()["downstream"]["streamsActive"], 0);
}

TEST_F(WaypointRelayTest, AClientResetEndsTheRelayOnBothSides) {
  std::promise<std::string> echoed;
  std::shared_ptr<tcp::socket> sock;
  asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
    net::DefaultSocketFactory f;
    auto s = co_await net::Connect(f, outbound_listener_->local_address(), {});
    if (!s.ok()) {
      echoed.set_value("error: " + s.error().ToString());
      co_return;
    }
    sock = std::make_shared<tcp::socket>(std::move(*s));
    asio::error_code ec;
    co_await asio::async_write(*sock, asio::buffer(std::string("ping")),
                               asio::redirect_error(asio::use_awaitable, ec));
    char buf[4];
    co_await asio::async_read(*sock, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    echoed.set_value(ec ? "error: " + ec.message() : std::string(buf, 4));
  }, asio::detached);
  ASSERT_EQ(echoed.get_future().get(), "ping");
  EXPECT_EQ(Counters()["downstream"]["streamsActive"], 1);
  std::promise<void> closed;
  asio::post(app_io_, [&] {
    hbone::AbortSocket(*sock);  // RST, not FIN
    closed.set_value();
  });
  closed.get_future().wait();
  for (int i = 0; i < 100 && Counters()["downstream"]["streamsActive"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  nlohmann::json c = Counters();
  EXPECT_EQ(c["downstream"]["streamsActive"], 0);
  EXPECT_EQ(c["relayed"]["aborted"], 1);
}

TEST_F(WaypointRelayTest, ShutdownDrainsOpenStreamsToTheirEnd) {
  auto sock = std::make_shared<std::optional<tcp::socket>>();
  auto exchange = [&](std::string out, bool finish) {
    std::promise<std::string> got;
    asio::co_spawn(app_io_, [&, out, finish]() -> asio::awaitable<void> {
      asio::error_code ec;
      if (!sock->has_value()) {
        net::DefaultSocketFactory f;
        auto s = co_await net::Connect(f, outbound_listener_->local_address(), {});
        if (!s.ok()) {
          got.set_value("error: " + s.error().ToString());
          co_return;
        }
        sock->emplace(std::move(*s));
      }
      tcp::socket& so = **sock;
      co_await asio::async_write(so, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      std::string in(out.size(), '\0');
      co_await asio::async_read(so, asio::buffer(in), asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && finish) {
        so.shutdown(tcp::socket::shutdown_send, ec);
        char c;
        co_await so.async_read_some(asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
        in += ec == asio::error::eof ? "+eof" : "+" + ec.message();
        ec = {};
      }
      got.set_value(ec ? "error: " + ec.message() : in);
    }, asio::detached);
    return got.get_future().get();
  };
  ASSERT_EQ(exchange("before", false), "before");
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([this] { waypoint_->Shutdown(std::chrono::seconds(5)); });
  for (int i = 0; i < 100 && waypoint_->ready(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(waypoint_->ready());  // draining
  // The open stream still carries bytes both ways, and ends cleanly.
  EXPECT_EQ(exchange("during the drain", true), "during the drain+eof");
  stopper.join();
  // The drain ended with the last stream, not at the 5 s deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  // New connections are not taken any more.
  sock->reset();
  EXPECT_NE(exchange("after", false), "after");
}

TEST_F(WaypointRelayTest, PodAddressedTrafficBoundToTheWaypointIsRelayed) {
  EXPECT_TRUE(ConnectVia(Addr("127.0.0.1", app_port_)).ok());
  EXPECT_EQ(Counters()["relayed"]["hbone"], 1);
  EXPECT_EQ(authorizer_->peers(), std::set<std::string>{WaypointId().ToString()});
}

TEST_F(WaypointRelayTest, RefusesWhatItDoesNotServe) {
  // A service bound to no waypoint, and a pod bound to none: 400.
  Status other = ConnectVia(Addr(kOtherVip, 80));
  EXPECT_EQ(other.error().code(), ErrorCode::kInvalidArgument) << other.error().ToString();
  Status lone = ConnectVia(Addr("127.0.0.3", 80));
  EXPECT_EQ(lone.error().code(), ErrorCode::kInvalidArgument) << lone.error().ToString();
  // Unknown destination and a bound service without endpoints: 503.
  Status unknown = ConnectVia(Addr("10.96.0.99", 80));
  EXPECT_EQ(unknown.error().code(), ErrorCode::kUnavailable) << unknown.error().ToString();
  Status empty = ConnectVia(Addr(kEmptyVip, 80));
  EXPECT_EQ(empty.error().code(), ErrorCode::kUnavailable) << empty.error().ToString();
  // Its own port would loop: 503.
  Status self = ConnectVia(Addr(kVip, 15008));
  EXPECT_EQ(self.error().code(), ErrorCode::kUnavailable) << self.error().ToString();

  nlohmann::json c = Counters();
  EXPECT_EQ(c["refused"]["status400"], 2);
  EXPECT_EQ(c["refused"]["status503"], 3);
  EXPECT_EQ(c["relayed"]["hbone"], 0);
  EXPECT_TRUE(authorizer_->peers().empty());  // nothing reached the endpoint
}

TEST_F(WaypointRelayTest, AClientWithTheWrongExpectationRejectsTheWaypoint) {
  // The client expects the echo pod's identity, but the waypoint presents
  // its own: the TLS handshake fails on the client side.
  hbone::PoolKey key{client_secret_->client_context->local_identity(),
                     net::IpAddress::Loopback4(), waypoint_->hbone_address(),
                     {SpiffeId("cluster.local", "default", "server")}};
  hbone::DialParams dial{client_secret_->client_context, sockets_};
  hbone::ConnectRequest request;
  request.target = Addr(kVip, 80);
  request.downstream = Addr("127.0.0.1", 40000);
  std::promise<Status> p;
  workers_->Post(0, [&] {
    asio::co_spawn(workers_->loop(0), [&]() -> asio::awaitable<void> {
      auto r = co_await client_pools_->At(0).Connect(key, dial, hbone::BuildConnectHeaders(request));
      p.set_value(r.ok() ? Ok() : Status(std::move(r).error()));
    }, asio::detached);
  });
  Status s = p.get_future().get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnauthenticated) << s.error().ToString();
}

TEST_F(WaypointRelayTest, EnforcesThePoliciesItsOwnWorkloadListsWith401) {
  // DENY the client, targeting the waypoint (listed by its own workload).
  istio::security::Authorization deny;
  deny.set_namespace_("default");
  deny.set_name("deny-client-at-waypoint");
  deny.set_scope(istio::security::WORKLOAD_SELECTOR);
  deny.set_action(istio::security::DENY);
  deny.add_rules()->add_clauses()->add_matches()->add_principals()->set_exact(
      "cluster.local/ns/default/sa/client");
  ASSERT_TRUE(store_.Set(xds::kAuthorizationTypeUrl, "default/deny-client-at-waypoint", deny).ok());
  // Not listed yet: the policy does not apply to the waypoint.
  EXPECT_TRUE(ConnectVia(Addr(kVip, 80)).ok());
  PublishWaypointWorkload({"default/deny-client-at-waypoint"});
  Status denied = Ok();
  int relayed_before_policy = 1;  // the CONNECT above
  for (int i = 0; i < 100 && denied.ok(); ++i) {
    denied = ConnectVia(Addr(kVip, 80));
    if (denied.ok()) {
      ++relayed_before_policy;  // the policy had not reached the waypoint yet
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_FALSE(denied.ok()) << "the waypoint never applied its policy";
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied) << denied.error().ToString();
  // Through the outbound proxy the app connection is reset (nothing relayed).
  EXPECT_EQ(RoundTrip("hi").rfind("error: ", 0), 0u);
  nlohmann::json c = Counters();
  EXPECT_GE(c["refused"]["status401"].get<int>(), 2);
  EXPECT_EQ(c["refused"]["status401"], c["downstream"]["status401"]);
  const std::string metrics = HttpGet(waypoint_->metrics_address(), "/metrics");
  // The failed series of the denied client, flag DENY, counts both refusals.
  std::string denied_line;
  for (std::size_t at = 0; (at = metrics.find("istio_tcp_connections_failed_total{reporter=\"waypoint\"",
                                              at)) != std::string::npos;) {
    const std::string line = metrics.substr(at, metrics.find('\n', at) - at);
    at += line.size();
    if (line.find("response_flags=\"DENY\"") != std::string::npos) denied_line = line;
  }
  ASSERT_FALSE(denied_line.empty()) << metrics;
  EXPECT_NE(denied_line.find("source_principal=\"spiffe://cluster.local/ns/default/sa/client\""),
            std::string::npos) << denied_line;
  // (A relay still open when the policy arrived is closed by it and counts
  // there too.)
  EXPECT_EQ(denied_line.substr(denied_line.rfind(' ') + 1),
            std::to_string(c["refused"]["status401"].get<int>() + c["relayed"]["revoked"].get<int>()))
      << denied_line;
  // Only the CONNECTs made before the policy applied were relayed.
  EXPECT_EQ(c["relayed"]["hbone"], relayed_before_policy);
  // Unlisted again: allowed again.
  PublishWaypointWorkload({});
  Status allowed = denied;
  for (int i = 0; i < 100 && !allowed.ok(); ++i) {
    allowed = ConnectVia(Addr(kVip, 80));
    if (!allowed.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(allowed.ok()) << allowed.error().ToString();
}

TEST_F(WaypointRelayTest, APolicyChangeClosesOpenRelaysItNowDenies) {
  // One long-lived app connection through the waypoint; each exchange sends
  // |out| and reads as many bytes back (or says why it could not).
  auto sock = std::make_shared<std::optional<tcp::socket>>();
  auto exchange = [&](std::string out) {
    std::promise<std::string> got;
    asio::co_spawn(app_io_, [&, out]() -> asio::awaitable<void> {
      asio::error_code ec;
      if (!sock->has_value()) {
        net::DefaultSocketFactory f;
        auto s = co_await net::Connect(f, outbound_listener_->local_address(), {});
        if (!s.ok()) {
          got.set_value("error: " + s.error().ToString());
          co_return;
        }
        sock->emplace(std::move(*s));
      }
      tcp::socket& so = **sock;
      co_await asio::async_write(so, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      std::string in(out.size(), '\0');
      if (!ec) {
        co_await asio::async_read(so, asio::buffer(in), asio::redirect_error(asio::use_awaitable, ec));
      }
      got.set_value(ec ? "error: " + ec.message() : in);
    }, asio::detached);
    return got.get_future().get();
  };
  auto wait_updates = [&](int want) {
    for (int i = 0; i < 200 && Counters()["policyUpdates"].get<int>() < want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(Counters()["policyUpdates"].get<int>(), want);
  };
  auto deny = [](const std::string& name, const std::string& principal) {
    istio::security::Authorization p;
    p.set_namespace_("default");
    p.set_name(name);
    p.set_scope(istio::security::WORKLOAD_SELECTOR);
    p.set_action(istio::security::DENY);
    p.add_rules()->add_clauses()->add_matches()->add_principals()->set_exact(principal);
    return p;
  };
  ASSERT_EQ(exchange("before"), "before");
  const int updates = Counters()["policyUpdates"].get<int>();

  // A change that still allows the client: the relay stays open.
  ASSERT_TRUE(store_.Set(xds::kAuthorizationTypeUrl, "default/deny-other",
                         deny("deny-other", "cluster.local/ns/default/sa/other"))
                  .ok());
  PublishWaypointWorkload({"default/deny-other"});
  wait_updates(updates + 1);
  EXPECT_EQ(exchange("still allowed"), "still allowed");
  EXPECT_EQ(Counters()["relayed"]["revoked"], 0);

  // A DENY for the client that targets the waypoint: the open relay closes.
  ASSERT_TRUE(store_.Set(xds::kAuthorizationTypeUrl, "default/deny-client",
                         deny("deny-client", "cluster.local/ns/default/sa/client"))
                  .ok());
  PublishWaypointWorkload({"default/deny-other", "default/deny-client"});
  for (int i = 0; i < 200 && Counters()["relayed"]["revoked"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  nlohmann::json c = Counters();
  EXPECT_EQ(c["relayed"]["revoked"], 1);
  EXPECT_EQ(c["relayed"]["aborted"], 0);
  EXPECT_EQ(c["relayed"]["active"], 0);
  EXPECT_GE(c["relayed"]["policyRechecks"].get<int>(), 2);
  // The app connection is over: no more bytes come back.
  EXPECT_EQ(exchange("after").rfind("error: ", 0), 0u);
  for (int i = 0; i < 100 && Counters()["downstream"]["streamsActive"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Counters()["downstream"]["streamsActive"], 0);
  // Closed and failed under flag DENY (ztunnel's late rejection), once each.
  const std::string metrics = HttpGet(waypoint_->metrics_address(), "/metrics");
  for (const char* name : {"istio_tcp_connections_closed_total{reporter=\"waypoint\"",
                           "istio_tcp_connections_failed_total{reporter=\"waypoint\""}) {
    std::string line;
    for (std::size_t at = 0; (at = metrics.find(name, at)) != std::string::npos;) {
      const std::string l = metrics.substr(at, metrics.find('\n', at) - at);
      at += l.size();
      if (l.find("response_flags=\"DENY\"") != std::string::npos) line = l;
    }
    ASSERT_FALSE(line.empty()) << name << " with DENY missing:\n" << metrics;
    EXPECT_EQ(line.substr(line.rfind(' ') + 1), "1") << line;
  }
}

}  // namespace
}  // namespace ambit::waypoint
