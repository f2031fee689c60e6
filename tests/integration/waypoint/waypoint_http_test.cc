// The waypoint's HTTP path on loopback, in one process, with real HBONE on
// both sides:
//   client -> outbound proxy (ztunnel stand-in; the service has a waypoint)
//          -> HBONE to the waypoint (:authority = service VIP:port)
//          -> waypoint (xDS from an in-process ambitd ADS server: services
//             with appProtocol; certificate from a real CA): parses HTTP/1.1,
//             routes each request by the Service's route table
//          -> HBONE to the chosen endpoint's server (127.0.0.1 or 127.0.0.2)
//          -> an HTTP/1.1 backend that answers with what it received.
// Checks the path split, keep-alive on both sides (the upstream connection
// reused), chunked bodies both ways, 404 NR, 503 without endpoints, the
// proxy headers, that a port not declared HTTP stays the L4 relay, fault
// injection (abort, delay) and request mirroring.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "ca/certificate_authority.h"
#include "caclient/local_ca_client.h"
#include "hbone/inbound_server.h"
#include "hbone/outbound_path.h"
#include "hbone/pool.h"
#include "http1/parser.h"
#include "http1/writer.h"
#include "net/listener.h"
#include "proxy/tls_secret.h"
#include "route/retry.h"
#include "route/table.h"
#include "route/wire.h"
#include "support/temp_dir.h"
#include "test_resources.h"
#include "waypoint/http_proxy.h"
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

constexpr char kReviewsVip[] = "10.96.0.20";  // reviews: HTTP, bound; endpoints v1 + v2
constexpr char kV1Vip[] = "10.96.0.21";       // reviews-v1: endpoint v1
constexpr char kV2Vip[] = "10.96.0.22";       // reviews-v2: endpoint v2
constexpr char kTcpVip[] = "10.96.0.23";      // raw: no appProtocol, bound; endpoint v1
constexpr char kEmptyVip[] = "10.96.0.24";    // empty: no endpoints
constexpr char kOpaqueVip[] = "10.96.0.25";   // opaque: HTTP, bound; endpoint an echo server
constexpr char kWaypointIp[] = "127.0.0.5";
constexpr char kReviews[] = "reviews.default.svc.cluster.local";

net::SocketAddress Addr(const std::string& ip, std::uint16_t port) {
  return net::SocketAddress(*net::IpAddress::Parse(ip), port);
}

// One parsed HTTP message (either direction).
struct Message final : http1::Sink {
  h2::RequestHead request;
  h2::ResponseHead response;
  http1::MessageInfo info;
  std::string body;
  h2::Headers trailers;
  bool done = false;
  void OnRequest(h2::RequestHead head, const http1::MessageInfo& i) override {
    request = std::move(head);
    info = i;
  }
  void OnResponse(h2::ResponseHead head, const http1::MessageInfo& i) override {
    response = std::move(head);
    info = i;
  }
  void OnBody(std::span<const std::uint8_t> bytes) override {
    body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  void OnTrailers(h2::Headers t) override { trailers = std::move(t); }
  void OnMessageEnd() override { done = true; }
};

// Failures shared by both backends (the endpoints of reviews), for the
// timeout and retry tests:
//   /flaky?fail=N  the first N such requests (over both backends) get 503
//   /stall         never answered; the backend waits for the connection to end
//   /slow-once     the first such request is never answered, later ones are
struct Script {
  std::atomic<int> flaky{0};    // /flaky requests seen
  std::atomic<int> slow{0};     // /slow-once requests seen
  std::atomic<int> stalled{0};  // requests left unanswered
  std::atomic<int> cut{0};      // of those, connections the waypoint ended
  std::mutex mu;
  std::vector<std::string> flaky_backends;  // who answered each /flaky (guarded by mu)
};

// A backend: answers each request with a text body naming itself, the
// connection's number, the request line, the body and the header fields.
// GET /chunked answers with a chunked body.
class Backend {
 public:
  Backend(asio::io_context& io, std::string name, const std::string& ip, Script* script)
      : io_(io),
        script_(script),
        name_(std::move(name)),
        acceptor_(io, tcp::endpoint(asio::ip::make_address(ip), 0)) {
    asio::co_spawn(io_, Accept(), asio::detached);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_.load(); }
  // The answers' bodies so far (each describes the request it answers).
  std::vector<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  void Close() {
    asio::error_code ec;
    acceptor_.close(ec);
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      asio::error_code ec;
      tcp::socket s =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(s), ++connections_), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket s, int connection) {
    std::vector<std::uint8_t> buf(16 * 1024);
    for (;;) {
      Message m;
      http1::Parser parser(http1::Parser::Kind::kRequests, m);
      while (!m.done) {
        asio::error_code ec;
        std::size_t n = co_await s.async_read_some(asio::buffer(buf),
                                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !parser.Feed(std::span<const std::uint8_t>(buf.data(), n)).ok()) co_return;
      }
      ++requests_;
      const std::string& path = m.request.path;
      bool stall = path == "/stall" || (path == "/slow-once" && ++script_->slow == 1);
      if (stall) {
        ++script_->stalled;
        for (;;) {  // until the waypoint ends the connection
          asio::error_code ec;
          co_await s.async_read_some(asio::buffer(buf),
                                     asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
        ++script_->cut;
        co_return;
      }
      int status = 200;
      if (path.starts_with("/flaky?fail=")) {
        const int n = ++script_->flaky;
        if (n <= std::stoi(path.substr(12))) status = 503;
        std::lock_guard lock(script_->mu);
        script_->flaky_backends.push_back(name_);
      }
      std::string text = "backend=" + name_ + "\nconnection=" + std::to_string(connection) +
                         "\nrequest=" + m.request.method + " " + m.request.path +
                         "\nauthority=" + m.request.authority + "\nbody=" + m.body + "\n";
      for (const auto& f : m.request.fields) text += f.name + ": " + f.value + "\n";
      for (const auto& f : m.trailers) text += "trailer " + f.name + ": " + f.value + "\n";
      {
        std::lock_guard lock(mu_);
        seen_.push_back(text);
      }
      std::string out;
      h2::ResponseHead head{status, {{"x-backend", name_}}};
      if (m.request.path == "/chunked") {
        http1::AppendResponseHead(out, head, {http1::Framing::Kind::kChunked, 0});
        const std::string half = text.substr(0, text.size() / 2),
                          rest = text.substr(text.size() / 2);
        http1::AppendChunk(out, {reinterpret_cast<const std::uint8_t*>(half.data()), half.size()});
        http1::AppendChunk(out, {reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()});
        http1::AppendLastChunk(out);
      } else {
        http1::HeadOptions options;
        options.keep_alive = m.request.path != "/v2/close";  // GET /v2/close: Connection: close
        http1::AppendResponseHead(out, head, {http1::Framing::Kind::kContentLength, text.size()},
                                  options);
        out += text;
      }
      asio::error_code ec;
      co_await asio::async_write(s, asio::buffer(out),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !m.info.keep_alive || m.request.path == "/v2/close") co_return;
    }
  }

  asio::io_context& io_;
  Script* script_;
  std::string name_;
  tcp::acceptor acceptor_;
  int connections_ = 0;
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<std::string> seen_;
};

// Echoes every byte until EOF, then half-closes (an h2c stand-in: it answers
// HTTP/2's preface with the preface).
asio::awaitable<void> Echo(tcp::socket s) {
  std::vector<char> buf(16 * 1024);
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

// The client's view of discovery: every test VIP has the waypoint.
class ClientLookup final : public hbone::DestinationLookup {
 public:
  explicit ClientLookup(hbone::WaypointTarget waypoint) : waypoint_(std::move(waypoint)) {}
  std::optional<hbone::ServiceTarget> FindService(const net::SocketAddress& vip,
                                                  std::uint64_t) const override {
    hbone::ServiceTarget t;
    t.hostname = vip.ip().ToString();
    t.waypoint = hbone::WaypointRef{"default/waypoint.default.svc.cluster.local", std::nullopt, 0};
    return t;
  }
  std::optional<hbone::WorkloadTarget> FindWorkload(const net::IpAddress&) const override {
    return std::nullopt;
  }
  std::optional<hbone::WaypointTarget> FindWaypoint(const hbone::WaypointRef&) const override {
    return waypoint_;
  }

 private:
  hbone::WaypointTarget waypoint_;
};

// A blocking HTTP/1.1 client connection (through the outbound proxy).
class Client {
 public:
  explicit Client(net::SocketAddress proxy) : socket_(io_) {
    asio::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address(proxy.ip().ToString()), proxy.port()), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  // Sends |request| bytes and reads one response (nullopt: the connection ended first).
  std::optional<Message> Exchange(const std::string& request, bool head = false) {
    asio::error_code ec;
    asio::write(socket_, asio::buffer(request), ec);
    if (ec) return std::nullopt;
    return Read(head);
  }
  std::optional<Message> Read(bool head = false) {
    Message m;
    http1::Parser parser(http1::Parser::Kind::kResponses, m);
    parser.ExpectResponseToHead(head);
    if (!pending_.empty()) {
      std::string bytes = std::move(pending_);
      pending_.clear();
      if (!Feed(parser, m, bytes)) return std::nullopt;
    }
    std::vector<char> buf(16 * 1024);
    while (!m.done) {
      asio::error_code ec;
      std::size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) {
        if (!parser.Finish().ok() || !m.done) {
          ADD_FAILURE() << "connection ended: " << ec.message();
          return std::nullopt;
        }
        break;
      }
      if (!Feed(parser, m, std::string(buf.data(), n))) return std::nullopt;
    }
    return m;
  }
  // True when the server closed the connection (EOF) within a second.
  bool Closed() {
    asio::error_code ec;
    char c;
    socket_.non_blocking(false);
    ::timeval tv{1, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof;
  }

 private:
  // Feeds |bytes| one message at a time (bytes past this message are kept).
  bool Feed(http1::Parser& parser, Message& m, const std::string& bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (m.done) {
        pending_ = bytes.substr(i);
        return true;
      }
      auto r = parser.Feed({reinterpret_cast<const std::uint8_t*>(bytes.data() + i), 1});
      if (!r.ok()) {
        ADD_FAILURE() << "bad response: " << r.error().ToString() << " in: " << bytes;
        return false;
      }
    }
    return true;
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string pending_;
};

std::map<std::string, std::string> Lines(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(start, end - start);
    auto sep = line.find('=');
    auto colon = line.find(": ");
    if (colon != std::string::npos && (sep == std::string::npos || colon < sep)) {
      out[line.substr(0, colon)] = line.substr(colon + 2);
    } else if (sep != std::string::npos) {
      out[line.substr(0, sep)] = line.substr(sep + 1);
    }
    start = end + 1;
  }
  return out;
}

route::Route PrefixRoute(std::string name, std::string prefix, std::string backend_host) {
  route::Route r;
  r.name = std::move(name);
  r.hosts = {kReviews};
  route::RouteMatch m;
  m.path = route::PathMatch{route::PathMatch::Kind::kPathPrefix, std::move(prefix)};
  r.matches = {m};
  route::Backend b;
  b.host = std::move(backend_host);
  r.backends = {b};
  return r;
}

class WaypointHttpTest : public ::testing::Test {
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

    v1_ = std::make_unique<Backend>(app_io_, "v1", "127.0.0.1", &script_);
    v2_ = std::make_unique<Backend>(app_io_, "v2", "127.0.0.2", &script_);
    echo_ = std::make_unique<tcp::acceptor>(app_io_,
                                            tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(
        app_io_,
        [this]() -> asio::awaitable<void> {
          for (;;) {
            asio::error_code ec;
            tcp::socket s =
                co_await echo_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            asio::co_spawn(app_io_, Echo(std::move(s)), asio::detached);
          }
        },
        asio::detached);
    app_guard_.emplace(app_io_.get_executor());
    app_thread_ = std::thread([this] { app_io_.run(); });

    // The endpoints' HBONE server (their node's ztunnel), on both pod IPs.
    workers_ = std::make_unique<net::WorkerPool>(2);
    stats_ = std::make_unique<hbone::Stats>(2);
    sockets_ = std::make_shared<net::DefaultSocketFactory>();
    auto server_ctx = server_secret_->server_context;
    server_ = std::make_shared<hbone::InboundServer>([server_ctx] { return server_ctx; }, sockets_,
                                                     std::make_shared<hbone::AllowAllAuthorizer>(),
                                                     stats_.get(), hbone::InboundServer::Options{});
    auto serve = [this](tcp::socket s) { server_->Serve(std::move(s)); };
    auto l1 = net::Listener::Start(*workers_, *sockets_, Addr("127.0.0.1", 0), {}, serve);
    ASSERT_TRUE(l1.ok()) << l1.error().ToString();
    hbone_port_ = (*l1)->local_address().port();
    auto l2 = net::Listener::Start(*workers_, *sockets_, Addr("127.0.0.2", hbone_port_), {}, serve);
    ASSERT_TRUE(l2.ok()) << l2.error().ToString();
    server_listeners_ = {*l1, *l2};
    workers_->Start();

    Publish();
    ads_ = std::make_unique<xds::DeltaAdsServer>(store_, auth_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + dir_.File("ambitd.sock"), grpc::InsecureServerCredentials());
    builder.RegisterService(ads_->service());
    grpc_ = builder.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);

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
    config.hbone_port = hbone_port_;
    config.instance_ip = kWaypointIp;
    auto waypoint = Waypoint::Start(config);
    ASSERT_TRUE(waypoint.ok()) << waypoint.error().ToString();
    waypoint_ = std::move(*waypoint);
    for (int i = 0; i < 200 && !waypoint_->ready(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(waypoint_->ready()) << waypoint_->ConfigDump();

    // The client side: one outbound listener per service VIP.
    client_stats_ = std::make_unique<hbone::Stats>(2);
    client_pools_ =
        std::make_unique<hbone::PoolSet>(*workers_, hbone::Pool::Options{}, client_stats_.get());
    hbone::WaypointTarget wp;
    wp.pods.push_back(hbone::WorkloadTarget{net::IpAddress::Loopback4(), WaypointId(), true});
    wp.hbone_port = waypoint_->hbone_address().port();
    auto lookup = std::make_shared<ClientLookup>(wp);
    auto client_ctx = client_secret_->client_context;
    hbone::OutboundSource source{client_ctx->local_identity(), client_ctx, sockets_,
                                 "k8s.namespace.name=default"};
    for (const char* vip : {kReviewsVip, kTcpVip, kEmptyVip, kOpaqueVip}) {
      hbone::OutboundPath::Options options;
      // The client is not a waypoint pod, though both are on 127.0.0.1.
      options.route.source_ip = *net::IpAddress::Parse("10.244.0.5");
      const net::SocketAddress target = Addr(vip, 80);
      options.original_destination = [target](tcp::socket&) -> Result<net::SocketAddress> {
        return target;
      };
      auto path = std::make_shared<hbone::OutboundPath>(lookup, client_pools_.get(),
                                                        client_stats_.get(), options);
      auto outbound = net::Listener::Start(
          *workers_, *sockets_, Addr("127.0.0.1", 0), {},
          [path, source](tcp::socket s) { path->Serve(std::move(s), source); });
      ASSERT_TRUE(outbound.ok()) << outbound.error().ToString();
      outbound_[vip] = *outbound;
    }
  }

  void TearDown() override {
    if (waypoint_) waypoint_->Shutdown(std::chrono::milliseconds(0));
    waypoint_.reset();
    for (auto& [vip, l] : outbound_) l->Close();
    for (auto& l : server_listeners_) l->Close();
    if (client_pools_) {
      for (std::size_t i = 0; i < workers_->size(); ++i) {
        workers_->Post(i, [this, i] { client_pools_->At(i).Shutdown(); });
      }
    }
    if (workers_) workers_->Stop();
    client_pools_.reset();
    if (ads_) ads_->Stop();
    if (grpc_) grpc_->Shutdown();
    if (v1_) {
      asio::post(app_io_, [this] {
        v1_->Close(), v2_->Close();
        asio::error_code ec;
        echo_->close(ec);
      });
    }
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

  static wl::Address Service(const std::string& name, const std::string& vip, bool http) {
    wl::Address a = xds::testing::ServiceAddress("default", name, vip);
    a.mutable_service()->mutable_ports(0)->set_target_port(0);  // per workload
    if (http) a.mutable_service()->mutable_ports(0)->set_app_protocol(wl::HTTP11);
    *a.mutable_service()->mutable_waypoint() = Me();
    return a;
  }

  void Publish() {
    auto put = [this](const std::string& name, const wl::Address& a) {
      ASSERT_TRUE(store_.Set(xds::kAddressTypeUrl, name, a).ok());
    };
    put(xds::testing::ServiceKey("default", "reviews"), Service("reviews", kReviewsVip, true));
    put(xds::testing::ServiceKey("default", "reviews-v1"), Service("reviews-v1", kV1Vip, true));
    put(xds::testing::ServiceKey("default", "reviews-v2"), Service("reviews-v2", kV2Vip, true));
    put(xds::testing::ServiceKey("default", "raw"), Service("raw", kTcpVip, false));
    put(xds::testing::ServiceKey("default", "empty"), Service("empty", kEmptyVip, true));
    put(xds::testing::ServiceKey("default", "opaque"), Service("opaque", kOpaqueVip, true));
    auto pod = [&](const std::string& name, const std::string& ip,
                   std::vector<std::pair<std::string, std::uint16_t>> services) {
      wl::Address w = xds::testing::WorkloadAddress("default", name, ip);
      w.mutable_workload()->set_service_account("server");
      for (const auto& [svc, app_port] : services) {
        auto* port =
            (*w.mutable_workload()->mutable_services())[xds::testing::ServiceKey("default", svc)]
                .add_ports();
        port->set_service_port(80);
        port->set_target_port(app_port);
      }
      put(xds::testing::WorkloadUid("default", name), w);
    };
    const std::uint16_t echo_port = echo_->local_endpoint().port();
    pod("reviews-v1", "127.0.0.1",
        {{"reviews", v1_->port()},
         {"reviews-v1", v1_->port()},
         {"raw", v1_->port()},
         {"opaque", echo_port}});
    pod("reviews-v2", "127.0.0.2", {{"reviews", v2_->port()}, {"reviews-v2", v2_->port()}});
    wl::Address self = xds::testing::WorkloadAddress("default", "waypoint-0", kWaypointIp);
    self.mutable_workload()->set_service_account("waypoint");
    put(xds::testing::WorkloadUid("default", "waypoint-0"), self);
  }

  void InstallRoutes(std::vector<route::Route> routes) {
    route::RouteRules rules;
    rules.precedence = route::Precedence::kGatewayApi;
    rules.routes = std::move(routes);
    auto table = route::Compile(std::move(rules));
    ASSERT_TRUE(table.ok()) << table.error().ToString();
    RouteTables::Map map;
    map[kReviews] = std::make_shared<const route::RouteTable>(std::move(*table));
    waypoint_->route_tables().Publish(std::move(map));
  }

  // The reviews table: /v2 -> reviews-v2, everything else -> reviews-v1.
  void InstallSplit() {
    InstallRoutes({PrefixRoute("v2", "/v2", "reviews-v2.default.svc.cluster.local"),
                   PrefixRoute("rest", "/", "reviews-v1.default.svc.cluster.local")});
  }

  net::SocketAddress Via(const char* vip) { return outbound_.at(vip)->local_address(); }

  nlohmann::json Counters() { return nlohmann::json::parse(waypoint_->ConfigDump())["counters"]; }

  ::ambit::testing::TempDir dir_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
  std::shared_ptr<caclient::LocalCaClient> ca_client_;
  std::shared_ptr<const proxy::Secret> client_secret_, server_secret_;
  Script script_;
  asio::io_context app_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> app_guard_;
  std::thread app_thread_;
  std::unique_ptr<Backend> v1_, v2_;
  std::unique_ptr<tcp::acceptor> echo_;
  std::unique_ptr<net::WorkerPool> workers_;
  std::unique_ptr<hbone::Stats> stats_;
  std::shared_ptr<net::DefaultSocketFactory> sockets_;
  std::shared_ptr<hbone::InboundServer> server_;
  std::vector<std::shared_ptr<net::Listener>> server_listeners_;
  std::uint16_t hbone_port_ = 0;
  xds::ResourceStore store_;
  xds::InsecureNodeAuthenticator auth_;
  std::unique_ptr<xds::DeltaAdsServer> ads_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<Waypoint> waypoint_;
  std::unique_ptr<hbone::Stats> client_stats_;
  std::unique_ptr<hbone::PoolSet> client_pools_;
  std::map<std::string, std::shared_ptr<net::Listener>> outbound_;
};

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: reviews\r\n" + extra + "\r\n";
}

TEST_F(WaypointHttpTest, PathSplitOnOneKeepAliveConnectionReusesUpstreams) {
  InstallSplit();
  Client client(Via(kReviewsVip));
  std::vector<std::map<std::string, std::string>> seen;
  for (const char* path : {"/v2/reviews/1", "/reviews/2", "/v2/reviews/3", "/ratings"}) {
    auto r = client.Exchange(Get(path));
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->response.status, 200) << path;
    EXPECT_NE(h2::FindField(r->response.fields, "x-envoy-upstream-service-time"), "") << path;
    seen.push_back(Lines(r->body));
  }
  EXPECT_EQ(seen[0]["backend"], "v2");
  EXPECT_EQ(seen[1]["backend"], "v1");
  EXPECT_EQ(seen[2]["backend"], "v2");
  EXPECT_EQ(seen[3]["backend"], "v1");
  EXPECT_EQ(seen[0]["request"], "GET /v2/reviews/1");
  EXPECT_EQ(seen[0]["authority"], "reviews");
  // The upstream connection to each endpoint was kept and reused.
  EXPECT_EQ(seen[0]["connection"], seen[2]["connection"]);
  EXPECT_EQ(seen[1]["connection"], seen[3]["connection"]);
  // The proxy headers: a generated x-request-id (one per request), the
  // client's address, the try number.
  EXPECT_EQ(seen[0]["x-request-id"].size(), 36u);
  EXPECT_NE(seen[0]["x-request-id"], seen[1]["x-request-id"]);
  EXPECT_EQ(seen[0]["x-forwarded-for"], "127.0.0.1");
  EXPECT_EQ(seen[0]["x-envoy-attempt-count"], "1");
  EXPECT_EQ(seen[0]["x-forwarded-proto"], "http");

  // A request id the client sent is kept.
  auto kept = client.Exchange(Get("/v2/x", "x-request-id: my-id\r\n"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(Lines(kept->body)["x-request-id"], "my-id");

  nlohmann::json c = Counters();
  EXPECT_EQ(c["relayed"]["http"], 1);  // one tunnel for all five requests
  EXPECT_EQ(v1_->requests() + v2_->requests(), 5);
}

TEST_F(WaypointHttpTest, AnUpstreamThatSaysCloseIsNotReused) {
  InstallSplit();
  Client client(Via(kReviewsVip));
  auto closing = client.Exchange(Get("/v2/close"));
  ASSERT_TRUE(closing.has_value());
  EXPECT_EQ(closing->response.status, 200);
  // The client's own connection stays up; the next request gets a new
  // upstream connection at once (no race with the backend's close).
  auto next = client.Exchange(Get("/v2/next"));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->response.status, 200);
  EXPECT_NE(Lines(closing->body)["connection"], Lines(next->body)["connection"]);
}

TEST_F(WaypointHttpTest, ChunkedAndContentLengthBodiesBothWays) {
  InstallSplit();
  Client client(Via(kReviewsVip));
  auto chunked = client.Exchange(
      "POST /v2/upload HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 11\r\n\r\n");
  ASSERT_TRUE(chunked.has_value());
  EXPECT_EQ(chunked->response.status, 200);
  auto lines = Lines(chunked->body);
  EXPECT_EQ(lines["backend"], "v2");
  EXPECT_EQ(lines["body"], "hello world");
  EXPECT_EQ(lines["trailer x-sum"], "11");

  auto sized = client.Exchange(
      "PUT /reviews/9 HTTP/1.1\r\nHost: reviews\r\nContent-Length: 7\r\n\r\npayload");
  ASSERT_TRUE(sized.has_value());
  EXPECT_EQ(Lines(sized->body)["body"], "payload");
  EXPECT_EQ(Lines(sized->body)["backend"], "v1");

  // A chunked answer reaches the client whole (re-chunked), then the
  // connection still serves.
  auto answer = client.Exchange(Get("/chunked"));
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->info.chunked);
  EXPECT_EQ(Lines(answer->body)["request"], "GET /chunked");
  auto after = client.Exchange(Get("/v2/after"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(Lines(after->body)["request"], "GET /v2/after");

  // Expect: 100-continue is answered by the waypoint, not forwarded.
  auto continued = client.Exchange(
      "POST /v2/c HTTP/1.1\r\nHost: reviews\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(continued.has_value());
  EXPECT_EQ(continued->response.status, 100);
  auto final_answer = client.Exchange("ok");
  ASSERT_TRUE(final_answer.has_value());
  EXPECT_EQ(final_answer->response.status, 200);
  EXPECT_EQ(Lines(final_answer->body)["body"], "ok");
  EXPECT_EQ(Lines(final_answer->body).count("expect"), 0u);
}

TEST_F(WaypointHttpTest, NoRouteIs404AndTheConnectionGoesOn) {
  InstallRoutes({PrefixRoute("v2", "/v2", "reviews-v2.default.svc.cluster.local")});
  Client client(Via(kReviewsVip));
  auto missing =
      client.Exchange("POST /other HTTP/1.1\r\nHost: reviews\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->response.status, 404);
  EXPECT_EQ(v1_->requests() + v2_->requests(), 0);
  auto found = client.Exchange(Get("/v2"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->response.status, 200);
  EXPECT_EQ(Lines(found->body)["backend"], "v2");
}

TEST_F(WaypointHttpTest, WithoutATableTheServiceEndpointsServe) {
  std::map<std::string, int> backends;
  Client client(Via(kReviewsVip));
  for (int i = 0; i < 40; ++i) {
    auto r = client.Exchange(Get("/any/" + std::to_string(i)));
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->response.status, 200);
    ++backends[Lines(r->body)["backend"]];
  }
  // Each request picks an endpoint of reviews: both serve.
  EXPECT_GT(backends["v1"], 0);
  EXPECT_GT(backends["v2"], 0);
}

// Route tables from the control plane: an ambit.route.v1.RouteTable served
// over delta ADS changes where the waypoint sends requests; one that does not
// compile is NACKed and the previous table keeps serving; removing it returns
// the Service to the default route (every endpoint of reviews).
TEST_F(WaypointHttpTest, RouteTableFromXdsRoutesAndItsRemovalRestoresTheDefault) {
  auto wait = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  };
  auto dump = [&] { return nlohmann::json::parse(waypoint_->ConfigDump())["routeTables"]; };
  route::RouteRules rules;
  rules.precedence = route::Precedence::kGatewayApi;
  rules.routes = {PrefixRoute("v2", "/v2", "reviews-v2.default.svc.cluster.local"),
                  PrefixRoute("rest", "/", "reviews-v1.default.svc.cluster.local")};
  ASSERT_TRUE(store_.Set(route::kRouteTableTypeUrl, kReviews, route::EncodeRouteTable(rules)).ok());
  ASSERT_TRUE(wait([&] { return waypoint_->route_tables().Find(kReviews) != nullptr; }))
      << waypoint_->ConfigDump();
  EXPECT_EQ(dump()["tables"][kReviews]["routes"], 2) << dump();
  EXPECT_NE(dump()["tables"][kReviews]["version"], "") << dump();

  Client client(Via(kReviewsVip));
  for (int i = 0; i < 10; ++i) {
    auto v2 = client.Exchange(Get("/v2/reviews/" + std::to_string(i)));
    ASSERT_TRUE(v2.has_value());
    EXPECT_EQ(Lines(v2->body)["backend"], "v2");
    auto v1 = client.Exchange(Get("/reviews/" + std::to_string(i)));
    ASSERT_TRUE(v1.has_value());
    EXPECT_EQ(Lines(v1->body)["backend"], "v1");
  }

  // A table the waypoint cannot compile: rejected, the split stays.
  route::RouteRules bad = rules;
  bad.routes[0].matches[0].path = route::PathMatch{route::PathMatch::Kind::kRegex, "("};
  ASSERT_TRUE(store_.Set(route::kRouteTableTypeUrl, kReviews, route::EncodeRouteTable(bad)).ok());
  ASSERT_TRUE(wait([&] { return dump()["lastRejection"] != ""; })) << dump();
  EXPECT_NE(dump()["lastRejection"].get<std::string>().find(kReviews), std::string::npos) << dump();
  auto still = client.Exchange(Get("/v2/after-nack"));
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(Lines(still->body)["backend"], "v2");

  // Deleted: the default route again, both endpoints serve /v2 paths.
  store_.Remove(route::kRouteTableTypeUrl, kReviews);
  ASSERT_TRUE(wait([&] { return waypoint_->route_tables().Find(kReviews) == nullptr; }));
  EXPECT_TRUE(dump()["tables"].empty()) << dump();
  std::map<std::string, int> backends;
  for (int i = 0; i < 40; ++i) {
    auto r = client.Exchange(Get("/v2/" + std::to_string(i)));
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->response.status, 200);
    ++backends[Lines(r->body)["backend"]];
  }
  EXPECT_GT(backends["v1"], 0);
  EXPECT_GT(backends["v2"], 0);
}

TEST_F(WaypointHttpTest, RedirectDirectResponseAnd503WithoutEndpoints) {
  route::Route moved = PrefixRoute("moved", "/old", "");
  moved.backends.clear();
  moved.redirect = route::Redirect{};
  moved.redirect->path = route::PathRewrite{route::PathRewrite::Kind::kPrefix, "/new"};
  route::Route direct = PrefixRoute("health", "/health", "");
  direct.backends.clear();
  direct.direct_response = route::DirectResponse{200, "fine"};
  InstallRoutes({moved, direct, PrefixRoute("empty", "/empty", "empty.default.svc.cluster.local"),
                 PrefixRoute("nowhere", "/nowhere", "nowhere.default.svc.cluster.local")});
  Client client(Via(kReviewsVip));
  auto r = client.Exchange(Get("/old/page"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 302);
  EXPECT_EQ(h2::FindField(r->response.fields, "location"), "http://reviews/new/page");
  auto d = client.Exchange(Get("/health"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->response.status, 200);
  EXPECT_EQ(d->body, "fine");
  auto e = client.Exchange(Get("/empty"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->response.status, 503);
  EXPECT_EQ(e->body, "no healthy upstream");
  auto n = client.Exchange(Get("/nowhere"));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->response.status, 503);
  EXPECT_EQ(v1_->requests() + v2_->requests(), 0);
}

TEST_F(WaypointHttpTest, BadRequestIsAnsweredAndTheTunnelClosed) {
  Client client(Via(kReviewsVip));
  auto r = client.Exchange(
      "POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 3\r\nTransfer-Encoding: "
      "chunked\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 400);
  EXPECT_TRUE(client.Closed());
  EXPECT_EQ(v1_->requests() + v2_->requests(), 0);
}

TEST_F(WaypointHttpTest, APortNotDeclaredHttpStaysL4) {
  InstallSplit();
  Client client(Via(kTcpVip));
  auto r = client.Exchange(Get("/v2/raw"));
  ASSERT_TRUE(r.has_value());
  auto lines = Lines(r->body);
  EXPECT_EQ(lines["backend"], "v1");           // raw's only endpoint; no route applies
  EXPECT_EQ(lines.count("x-request-id"), 0u);  // bytes relayed untouched
  EXPECT_EQ(lines.count("x-forwarded-for"), 0u);
  EXPECT_EQ(h2::FindField(r->response.fields, "x-envoy-upstream-service-time"), "");
  nlohmann::json c = Counters();
  EXPECT_EQ(c["relayed"]["hbone"], 1);
  EXPECT_EQ(c["relayed"]["http"], 0);
}

TEST_F(WaypointHttpTest, HttpTwoPriorKnowledgeIsDetectedAndRelayedWhole) {
  // The preface on an HTTP port: not parsed as HTTP/1.1 (that would be a 505)
  // but relayed byte for byte to the endpoint, which echoes it.
  const std::string bytes = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                            std::string("\0\0\0\4\0\0\0\0\0", 9) + "opaque after the preface";
  asio::io_context io;
  tcp::socket s(io);
  const net::SocketAddress via = Via(kOpaqueVip);
  s.connect(tcp::endpoint(asio::ip::make_address(via.ip().ToString()), via.port()));
  asio::write(s, asio::buffer(bytes.substr(0, 5)));  // the preface may arrive in pieces
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  asio::write(s, asio::buffer(bytes.substr(5)));
  s.shutdown(tcp::socket::shutdown_send);
  std::string reply;
  std::vector<char> buf(4096);
  asio::error_code ec;
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    reply.append(buf.data(), n);
  }
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_EQ(reply, bytes);
  nlohmann::json c = Counters();
  EXPECT_EQ(c["relayed"]["http"], 1);

  // An HTTP/1.1 request on the same port is parsed (the echo is no HTTP
  // server: its answer, the request itself, is not a response -> 503 UC).
  Client client(Via(kOpaqueVip));
  auto r = client.Exchange(Get("/x"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 503);
}

// ---- timeouts and retries ---------------------------------------------------

// Everything to reviews itself (endpoints v1 and v2), with |retry| and |timeouts|.
route::Route RetryRoute(std::optional<route::RetryPolicy> retry, route::Timeouts timeouts = {}) {
  route::Route r = PrefixRoute("retry", "/", kReviews);
  r.retry = std::move(retry);
  r.timeouts = timeouts;
  return r;
}

route::RetryPolicy Retry(std::uint32_t attempts, std::vector<std::string> on,
                         std::optional<std::chrono::milliseconds> per_try = std::nullopt) {
  route::RetryPolicy p;
  p.attempts = attempts;
  p.retry_on = std::move(on);
  p.per_try_timeout = per_try;
  p.backoff = std::chrono::milliseconds(5);
  return p;
}

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: reviews\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Polls |cond| for up to two seconds.
bool Eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 200; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

TEST_F(WaypointHttpTest, AFailingBackendIsRetriedOnAnotherEndpointUntilItAnswers) {
  InstallRoutes({RetryRoute(Retry(3, {"5xx"}))});
  Client client(Via(kReviewsVip));
  auto r = client.Exchange(Get("/flaky?fail=2"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 200);
  EXPECT_EQ(Lines(r->body)["x-envoy-attempt-count"], "3");
  EXPECT_EQ(script_.flaky, 3);
  {
    std::lock_guard lock(script_.mu);
    ASSERT_EQ(script_.flaky_backends.size(), 3u);
    // The retry went to the endpoint not tried yet.
    EXPECT_NE(script_.flaky_backends[0], script_.flaky_backends[1]);
  }
  // Bodies are sent again whole: Content-Length, then chunked with a trailer.
  auto post = client.Exchange(Post("/flaky?fail=4", "hello"));
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->response.status, 200);
  EXPECT_EQ(Lines(post->body)["body"], "hello");
  EXPECT_EQ(Lines(post->body)["x-envoy-attempt-count"], "2");
  auto chunked = client.Exchange(
      "POST /flaky?fail=6 HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n");
  ASSERT_TRUE(chunked.has_value());
  EXPECT_EQ(chunked->response.status, 200);
  EXPECT_EQ(Lines(chunked->body)["body"], "abcde");
  EXPECT_EQ(Lines(chunked->body)["trailer x-sum"], "5");
  EXPECT_EQ(Lines(chunked->body)["x-envoy-attempt-count"], "2");
  EXPECT_EQ(script_.flaky, 7);
}

TEST_F(WaypointHttpTest, RetriesExhaustedAnswerWithTheLastTry) {
  InstallRoutes({RetryRoute(Retry(1, {"5xx"}))});
  Client client(Via(kReviewsVip));
  auto r = client.Exchange(Get("/flaky?fail=100"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 503);
  EXPECT_NE(h2::FindField(r->response.fields, "x-backend"), "");  // the backend's own answer
  EXPECT_EQ(script_.flaky, 2);
  // attempts 0: one try only.
  InstallRoutes({RetryRoute(Retry(0, {"5xx"}))});
  auto once = client.Exchange(Get("/flaky?fail=100"));
  ASSERT_TRUE(once.has_value());
  EXPECT_EQ(once->response.status, 503);
  EXPECT_EQ(script_.flaky, 3);
  // A condition that does not hold is not retried (503 is not retriable-4xx).
  InstallRoutes({RetryRoute(Retry(2, {"retriable-4xx"}))});
  auto no = client.Exchange(Get("/flaky?fail=100"));
  ASSERT_TRUE(no.has_value());
  EXPECT_EQ(script_.flaky, 4);
  // No route table: Istio's default policy, 2 retries on 503.
  waypoint_->route_tables().Publish({});
  auto def = client.Exchange(Get("/flaky?fail=100"));
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->response.status, 503);
  EXPECT_EQ(Lines(def->body)["x-envoy-attempt-count"], "3");
  EXPECT_EQ(script_.flaky, 7);
}

TEST_F(WaypointHttpTest, AStalledBackendIs504AtTheRequestTimeoutAndItsStreamIsReset) {
  route::Timeouts timeouts;
  timeouts.request = std::chrono::milliseconds(300);
  InstallRoutes({RetryRoute(Retry(2, {"5xx"}), timeouts)});
  Client client(Via(kReviewsVip));
  const auto start = std::chrono::steady_clock::now();
  auto r = client.Exchange(Get("/stall"));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 504);
  EXPECT_EQ(r->body, "upstream request timeout");
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  EXPECT_EQ(script_.stalled, 1);  // the request timeout spans the retries: none after it
  // The timed-out try was cancelled: its upstream stream reset, so the
  // backend's connection ended.
  EXPECT_TRUE(Eventually([&] { return script_.cut == 1; })) << script_.cut;
  // The client's connection goes on (its request was read whole).
  auto next = client.Exchange(Get("/after"));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->response.status, 200);
}

TEST_F(WaypointHttpTest, AClientBodyThatStallsEndsAtTheRequestTimeout) {
  // The timeout counts from the request's head: a body that stops halfway
  // is cut there too (the try, waiting on the client, is cancelled).
  route::Timeouts timeouts;
  timeouts.request = std::chrono::milliseconds(300);
  InstallRoutes({RetryRoute(Retry(2, {"5xx"}), timeouts)});
  Client client(Via(kReviewsVip));
  auto r =
      client.Exchange("POST /half HTTP/1.1\r\nHost: reviews\r\nContent-Length: 10\r\n\r\nhello");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 504);
  EXPECT_EQ(r->body, "upstream request timeout");
  EXPECT_TRUE(client.Closed());                     // the rest of the body was never read
  EXPECT_EQ(v1_->requests() + v2_->requests(), 0);  // no backend saw a whole request
}

TEST_F(WaypointHttpTest, APerTryTimeoutIsRetriedAndTheNextTryAnswers) {
  InstallRoutes({RetryRoute(Retry(2, {"5xx"}, std::chrono::milliseconds(200)))});
  Client client(Via(kReviewsVip));
  auto r = client.Exchange(Get("/slow-once"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 200);
  EXPECT_EQ(Lines(r->body)["x-envoy-attempt-count"], "2");
  EXPECT_EQ(script_.slow, 2);
  EXPECT_TRUE(Eventually([&] { return script_.cut == 1; })) << script_.cut;

  // HTTPRoute timeouts.backendRequest is the per-try timeout too; Istio's
  // default conditions do not retry a per-try timeout: 504 UT after one try.
  route::Timeouts backend;
  backend.backend_request = std::chrono::milliseconds(200);
  route::RetryPolicy istio = route::IstioDefaultRetry();
  InstallRoutes({RetryRoute(istio, backend)});
  auto stalled = client.Exchange(Get("/stall"));
  ASSERT_TRUE(stalled.has_value());
  EXPECT_EQ(stalled->response.status, 504);
  EXPECT_EQ(stalled->body, "upstream request timeout");
  EXPECT_EQ(script_.stalled, 2);
  EXPECT_TRUE(Eventually([&] { return script_.cut == 2; })) << script_.cut;
}

TEST_F(WaypointHttpTest, ABodyOverTheReplayLimitIsSentOnceAndNotRetried) {
  InstallRoutes({RetryRoute(Retry(2, {"5xx"}))});
  Client client(Via(kReviewsVip));
  const std::string big(100 * 1024, 'b');  // over the 64 KiB kept for a retry
  auto r = client.Exchange(Post("/flaky?fail=1", big));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 503);
  EXPECT_EQ(script_.flaky, 1);
  // Within the limit the same failure is retried.
  const std::string small(1000, 's');
  auto ok = client.Exchange(Post("/flaky?fail=2", small));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->response.status, 200);
  EXPECT_EQ(Lines(ok->body)["body"], small);
  EXPECT_EQ(script_.flaky, 3);
}

// Fault injection (VirtualService fault): an abort is answered by the
// waypoint with Envoy's body before any upstream is contacted; the tunnel
// serves on.
TEST_F(WaypointHttpTest, FaultAbortAnswersWithoutTouchingTheBackend) {
  route::Route aborted = PrefixRoute("ratings", "/ratings", "reviews-v1.default.svc.cluster.local");
  aborted.fault = route::Fault{};
  aborted.fault->abort = route::Fault::Abort{503, "", 100};
  route::Route grpc = PrefixRoute("grpc", "/grpc.Svc", "reviews-v1.default.svc.cluster.local");
  grpc.fault = route::Fault{};
  grpc.fault->abort = route::Fault::Abort{0, "UNAVAILABLE", 100};
  InstallRoutes({aborted, grpc, PrefixRoute("rest", "/", "reviews-v2.default.svc.cluster.local")});
  Client client(Via(kReviewsVip));
  auto r =
      client.Exchange("POST /ratings/1 HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\n\r\nbody");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 503);
  EXPECT_EQ(r->body, "fault filter abort");
  auto g = client.Exchange(Get("/grpc.Svc/Call", "content-type: application/grpc\r\n"));
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->response.status, 200);
  EXPECT_EQ(h2::FindField(g->response.fields, "grpc-status"), "14");
  EXPECT_EQ(h2::FindField(g->response.fields, "content-type"), "application/grpc");
  EXPECT_EQ(v1_->requests() + v2_->requests(), 0);
  // No upstream connection was opened for either.
  EXPECT_EQ(Counters()["upstream"]["streamsOpened"], 0) << Counters();
  EXPECT_EQ(Counters()["http"]["faultsAborted"], 2) << Counters();
  auto after = client.Exchange(Get("/reviews/2"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->response.status, 200);
  EXPECT_EQ(Lines(after->body)["backend"], "v2");
}

TEST_F(WaypointHttpTest, FaultDelayHoldsTheRequestAtLeastTheFixedDelay) {
  constexpr auto kDelay = std::chrono::milliseconds(400);
  route::Route slow = PrefixRoute("slow", "/slow", "reviews-v1.default.svc.cluster.local");
  slow.fault = route::Fault{};
  slow.fault->delay = route::Fault::Delay{kDelay, 100};
  InstallRoutes({slow, PrefixRoute("rest", "/", "reviews-v2.default.svc.cluster.local")});
  Client client(Via(kReviewsVip));
  const auto start = std::chrono::steady_clock::now();
  auto r =
      client.Exchange("PUT /slow/1 HTTP/1.1\r\nHost: reviews\r\nContent-Length: 7\r\n\r\npayload");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 200);
  EXPECT_EQ(Lines(r->body)["backend"], "v1");
  EXPECT_EQ(Lines(r->body)["body"], "payload");  // read during the delay, then sent whole
  EXPECT_GE(elapsed, kDelay);

  // A delay plus an abort: the abort comes after the delay.
  route::Route both = slow;
  both.fault->abort = route::Fault::Abort{500, "", 100};
  InstallRoutes({both});
  const auto start2 = std::chrono::steady_clock::now();
  auto a = client.Exchange(Get("/slow/2"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->response.status, 500);
  EXPECT_GE(std::chrono::steady_clock::now() - start2, kDelay);
  EXPECT_EQ(v1_->requests(), 1);
  EXPECT_EQ(Counters()["http"]["faultsDelayed"], 2) << Counters();
  EXPECT_EQ(Counters()["http"]["faultsAborted"], 1) << Counters();
}

TEST_F(WaypointHttpTest, FaultDelayIsDroppedWhenTheClientGoesAway) {
  route::Route slow = PrefixRoute("slow", "/", "reviews-v1.default.svc.cluster.local");
  slow.fault = route::Fault{};
  slow.fault->delay = route::Fault::Delay{std::chrono::milliseconds(500), 100};
  InstallRoutes({slow});
  {
    asio::io_context io;
    tcp::socket s(io);
    const net::SocketAddress via = Via(kReviewsVip);
    s.connect(tcp::endpoint(asio::ip::make_address(via.ip().ToString()), via.port()));
    asio::write(s, asio::buffer(Get("/gone")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // closed during the delay
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EXPECT_EQ(v1_->requests(), 0);  // the delayed request never went upstream
}

// Mirroring: the client gets the primary's answer; the mirror backend gets
// a copy (body included) with Host "<host>-shadow".
TEST_F(WaypointHttpTest, MirrorSendsACopyWithShadowHost) {
  route::Route mirrored = PrefixRoute("m", "/m", "reviews-v1.default.svc.cluster.local");
  route::Mirror copy;
  copy.backend.host = "reviews-v2.default.svc.cluster.local";
  mirrored.mirrors = {copy};
  route::Route never = PrefixRoute("never", "/never", "reviews-v1.default.svc.cluster.local");
  copy.percentage = 0;
  never.mirrors = {copy};
  InstallRoutes({mirrored, never});
  Client client(Via(kReviewsVip));
  auto n = client.Exchange(Get("/never/1"));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(Lines(n->body)["backend"], "v1");
  auto r =
      client.Exchange("POST /m/1 HTTP/1.1\r\nHost: reviews:80\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->response.status, 200);
  EXPECT_EQ(Lines(r->body)["backend"], "v1");
  EXPECT_EQ(Lines(r->body)["authority"], "reviews:80");
  for (int i = 0; i < 500 && v2_->requests() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a stray second copy
  std::vector<std::string> seen = v2_->seen();
  ASSERT_EQ(seen.size(), 1u);  // /m/1 only: the 0 % mirror sent nothing
  auto shadow = Lines(seen[0]);
  EXPECT_EQ(shadow["request"], "POST /m/1");
  EXPECT_EQ(shadow["authority"], "reviews-shadow:80");
  EXPECT_EQ(shadow["body"], "hello");
  EXPECT_EQ(shadow["x-request-id"], Lines(r->body)["x-request-id"]);  // the same request
  for (int i = 0; i < 500 && Counters()["http"]["mirrorsSent"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Counters()["http"]["mirrorsSent"], 1) << Counters();
}

// A body over the mirror bound (1 MiB) is not mirrored, and is counted; the
// request itself is served whole.
TEST_F(WaypointHttpTest, ABodyOverTheBoundIsNotMirrored) {
  route::Route r = PrefixRoute("m", "/", "reviews-v1.default.svc.cluster.local");
  route::Mirror copy;
  copy.backend.host = "reviews-v2.default.svc.cluster.local";
  r.mirrors = {copy};
  InstallRoutes({r});
  const std::string big((1 << 20) + 1, 'b');
  Client client(Via(kReviewsVip));
  auto a = client.Exchange("POST /big HTTP/1.1\r\nHost: reviews\r\nContent-Length: " +
                           std::to_string(big.size()) + "\r\n\r\n" + big);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->response.status, 200);
  EXPECT_EQ(Lines(a->body)["body"].size(), big.size());
  auto small = client.Exchange(Get("/small"));  // mirrored: the copy is not stuck behind
  ASSERT_TRUE(small.has_value());
  for (int i = 0; i < 500 && v2_->requests() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::string> seen = v2_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(Lines(seen[0])["request"], "GET /small");
  EXPECT_EQ(Counters()["http"]["mirrorsTooLarge"], 1) << Counters();
}

TEST_F(WaypointHttpTest, AMirrorThatIsDownDoesNotAffectTheRequest) {
  route::Route r = PrefixRoute("m", "/", "reviews-v1.default.svc.cluster.local");
  route::Mirror none, down;
  none.backend.host = "empty.default.svc.cluster.local";       // no endpoints
  down.backend.host = "reviews-v2.default.svc.cluster.local";  // its app refuses
  r.mirrors = {none, down};
  InstallRoutes({r});
  std::promise<void> closed;
  asio::post(app_io_, [&] {
    v2_->Close();
    closed.set_value();
  });
  closed.get_future().wait();
  Client client(Via(kReviewsVip));
  for (int i = 0; i < 5; ++i) {
    auto a = client.Exchange(Get("/x/" + std::to_string(i)));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->response.status, 200);
    EXPECT_EQ(Lines(a->body)["backend"], "v1");
  }
  EXPECT_EQ(v1_->requests(), 5);
  EXPECT_EQ(v2_->requests(), 0);
  // Every copy was tried and failed on its own: 5 requests x 2 mirrors.
  for (int i = 0; i < 500 && Counters()["http"]["mirrorsFailed"] != 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Counters()["http"]["mirrorsFailed"], 10) << Counters();
  EXPECT_EQ(Counters()["http"]["mirrorsSent"], 0) << Counters();
}

// ---- load balancing (DestinationRule trafficPolicy.loadBalancer) ------------

// Everything to reviews itself (endpoints v1 and v2) under |lb|.
route::Route BalancedRoute(route::LoadBalancer lb) {
  route::Route r = PrefixRoute("lb", "/", kReviews);
  r.backends[0].load_balancer = std::move(lb);
  return r;
}

TEST_F(WaypointHttpTest, ConsistentHashByHeaderPinsAUserToOneEndpoint) {
  route::LoadBalancer lb;
  lb.hash = route::LoadBalancer::Hash::kHeader;
  lb.hash_key = "end-user";
  InstallRoutes({BalancedRoute(lb)});
  std::set<std::string> seen_by_users;
  for (const char* user : {"jason", "alice", "bob", "carol", "dave", "erin", "frank", "grace"}) {
    std::set<std::string> backends;
    for (int i = 0; i < 20; ++i) {
      Client client(Via(kReviewsVip));  // a new connection each time: any loop may serve it
      auto r = client.Exchange(
          Get("/r/" + std::to_string(i), std::string("end-user: ") + user + "\r\n"));
      ASSERT_TRUE(r.has_value());
      ASSERT_EQ(r->response.status, 200);
      backends.insert(Lines(r->body)["backend"]);
    }
    EXPECT_EQ(backends.size(), 1u) << user << " was spread over endpoints";
    seen_by_users.insert(backends.begin(), backends.end());
  }
  // Different users land on both endpoints (8 users over a 2-endpoint ring).
  EXPECT_EQ(seen_by_users.size(), 2u);
}

TEST_F(WaypointHttpTest, RoundRobinSpreadsEvenlyOverTwoEndpoints) {
  InstallRoutes({BalancedRoute(route::LoadBalancer{})});
  std::map<std::string, int> backends;
  Client client(Via(kReviewsVip));  // one connection: one loop, one round robin
  std::string previous;
  for (int i = 0; i < 20; ++i) {
    auto r = client.Exchange(Get("/rr/" + std::to_string(i)));
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->response.status, 200);
    const std::string backend = Lines(r->body)["backend"];
    EXPECT_NE(backend, previous) << "request " << i << " did not take the next turn";
    previous = backend;
    ++backends[backend];
  }
  EXPECT_EQ(backends["v1"], 10);
  EXPECT_EQ(backends["v2"], 10);
}

}  // namespace
}  // namespace ambit::waypoint
