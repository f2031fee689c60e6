// hbone::OutboundPath's Plan and Open steps on loopback: the discovery wait,
// hostname resolution, rejection, and a passthrough leg copied end to end.
#include "hbone/outbound_path.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ambit::hbone {
namespace {

using asio::ip::tcp;

const net::IpAddress kDb = *net::IpAddress::Parse("10.0.0.7");
const net::IpAddress kReject = *net::IpAddress::Parse("10.0.0.8");

// 10.0.0.7: a workload outside the mesh known only as db.example; a service
// VIP 10.0.0.8 with no endpoints (a rejecting route).
class Lookup : public DestinationLookup {
 public:
  std::optional<ServiceTarget> FindService(const net::SocketAddress& vip, std::uint64_t) const override {
    if (vip.ip() != kReject) return std::nullopt;
    ServiceTarget s;
    s.hostname = "empty.default.svc.cluster.local";
    return s;
  }
  std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    if (ip != kDb) return std::nullopt;
    return WorkloadTarget{net::IpAddress(), identity::SpiffeId("cluster.local", "default", "db"), false,
                          std::nullopt, false, "db.example"};
  }
};

// A connected pair on loopback: |app| (the client) and |downstream| (what
// the outbound listener accepted), plus the listener for an upstream.
struct Fixture {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket app{io};
  tcp::socket downstream{io};
  Stats stats{1};
  Fixture() {
    app.connect(acceptor.local_endpoint());
    downstream = acceptor.accept();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  std::shared_ptr<OutboundPath> Path(net::IpAddress original, OutboundPath::Options options = {}) {
    const std::uint16_t p = port();
    options.original_destination = [original, p](tcp::socket&) -> Result<net::SocketAddress> {
      return net::SocketAddress(original, p);
    };
    return std::make_shared<OutboundPath>(std::make_shared<Lookup>(), nullptr, &stats, options);
  }
};

template <typename T>
T RunTask(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  auto into = [](asio::awaitable<T> t, std::optional<T>* o) -> asio::awaitable<void> {
    o->emplace(co_await std::move(t));
  };
  asio::co_spawn(io, into(std::move(task), &out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  io.restart();
  return std::move(*out);
}

TEST(OutboundPath, PlanWithoutDiscoveryDataResetsTheConnection) {
  Fixture f;
  OutboundPath::Options options;
  options.ready = [] { return false; };
  auto path = f.Path(kDb, options);
  const OutboundPlan plan = RunTask(f.io, path->Plan(f.downstream, HostnameResolver()));
  EXPECT_EQ(plan.outcome, OutboundPlan::Outcome::kNotReady);
  EXPECT_FALSE(f.downstream.is_open());
  EXPECT_EQ(f.stats.Snapshot().outbound_connections, 1u);
}

TEST(OutboundPath, PlanWithoutAResolverCannotRouteAHostnameEndpoint) {
  Fixture f;
  auto path = f.Path(kDb);
  const OutboundPlan plan = RunTask(f.io, path->Plan(f.downstream, HostnameResolver()));
  EXPECT_EQ(plan.outcome, OutboundPlan::Outcome::kUnresolved);
  EXPECT_NE(plan.error.find("db.example"), std::string::npos) << plan.error;
  EXPECT_FALSE(f.downstream.is_open());
}

TEST(OutboundPath, OpenRefusesARejectingRoute) {
  Fixture f;
  auto path = f.Path(kReject);
  const OutboundPlan plan = RunTask(f.io, path->Plan(f.downstream, HostnameResolver()));
  ASSERT_TRUE(plan.routed()) << plan.error;
  EXPECT_EQ(plan.route.kind, RouteDecision::Kind::kReject);
  EXPECT_TRUE(f.downstream.is_open());  // left to the caller until Open
  OutboundSource source{identity::SpiffeId("cluster.local", "default", "app"), nullptr,
                        std::make_shared<net::DefaultSocketFactory>(), ""};
  auto leg = RunTask(f.io, path->Open(f.downstream, plan, source));
  EXPECT_FALSE(leg.ok());
  EXPECT_FALSE(f.downstream.is_open());
}

TEST(OutboundPath, ResolvedPassthroughCarriesTheBytes) {
  Fixture f;
  auto path = f.Path(kDb);
  std::string asked;
  HostnameResolver resolve = [&asked](std::string hostname, bool) -> asio::awaitable<Result<net::IpAddress>> {
    asked = hostname;
    co_return net::IpAddress::Loopback4();
  };
  const OutboundPlan plan = RunTask(f.io, path->Plan(f.downstream, resolve));
  ASSERT_TRUE(plan.routed()) << plan.error;
  EXPECT_EQ(asked, "db.example");
  ASSERT_EQ(plan.route.kind, RouteDecision::Kind::kPassthrough);
  EXPECT_EQ(plan.route.next_hop, net::SocketAddress(net::IpAddress::Loopback4(), f.port()));

  OutboundSource source{identity::SpiffeId("cluster.local", "default", "app"), nullptr,
                        std::make_shared<net::DefaultSocketFactory>(), ""};
  auto leg = RunTask(f.io, path->Open(f.downstream, plan, source));
  ASSERT_TRUE(leg.ok()) << leg.error().ToString();
  ASSERT_FALSE(leg->hbone());
  tcp::socket db = f.acceptor.accept();

  // app -> db, then db -> app, each half-closed; Copy ends with both.
  CopyResult result;
  bool copied = false;
  asio::co_spawn(f.io, path->Copy(f.downstream, *leg), [&](std::exception_ptr e, CopyResult r) {
    EXPECT_FALSE(e);
    result = r;
    copied = true;
  });
  std::string got_db, got_app;
  auto peer = [](tcp::socket& s, std::string send, std::string& got) -> asio::awaitable<void> {
    co_await asio::async_write(s, asio::buffer(send), asio::use_awaitable);
    s.shutdown(tcp::socket::shutdown_send);
    asio::error_code ec;
    got.resize(64);
    const std::size_t n = co_await asio::async_read(s, asio::buffer(got), asio::redirect_error(asio::use_awaitable, ec));
    got.resize(n);
  };
  asio::co_spawn(f.io, peer(f.app, "ping", got_app), asio::detached);
  asio::co_spawn(f.io, peer(db, "pong!", got_db), asio::detached);
  f.io.run();
  EXPECT_TRUE(copied);
  EXPECT_EQ(got_db, "ping");
  EXPECT_EQ(got_app, "pong!");
  EXPECT_EQ(result.socket_to_peer, 4u);
  EXPECT_EQ(result.peer_to_socket, 5u);
  EXPECT_FALSE(result.aborted);
  EXPECT_EQ(f.stats.Snapshot().passthrough_connections, 1u);
}

}  // namespace
}  // namespace ambit::hbone
