// hbone_throughput [total_MiB] [connections] [workers]
//
// Pushes total_MiB through `connections` parallel TCP connections:
//   client -> hbone::OutboundPath -> HBONE (mTLS 1.3 + HTTP/2 CONNECT) -> inbound
//   server -> sink
// all on loopback in one process, and prints the goodput next to a plain
// TCP baseline (client -> sink directly). Certificates come from a throwaway
// test root. Numbers are for spotting regressions, not for publication.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "hbone/inbound_server.h"
#include "hbone/outbound_path.h"
#include "net/connect.h"
#include "net/listener.h"
#include "support/test_mesh.h"

using namespace ambit;
using asio::ip::tcp;

namespace {

class OneWorkload : public hbone::DestinationLookup {
 public:
  explicit OneWorkload(hbone::WorkloadTarget w) : w_(std::move(w)) {}
  std::optional<hbone::ServiceTarget> FindService(const net::SocketAddress&, std::uint64_t) const override { return std::nullopt; }
  std::optional<hbone::WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    if (ip == w_.ip) return w_;
    return std::nullopt;
  }

 private:
  hbone::WorkloadTarget w_;
};

asio::awaitable<void> Sink(tcp::socket s) {
  std::vector<char> buf(256 * 1024);
  asio::error_code ec;
  while (!ec) co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  asio::error_code ignored;
  co_await asio::async_write(s, asio::buffer("k", 1), asio::redirect_error(asio::use_awaitable, ignored));
}

// Sends |bytes| to |to|, half-closes, waits for the sink's 1-byte ack.
asio::awaitable<void> Push(net::SocketAddress to, std::uint64_t bytes) {
  net::DefaultSocketFactory f;
  auto s = co_await net::Connect(f, to, {});
  if (!s.ok()) {
    std::fprintf(stderr, "connect: %s\n", s.error().ToString().c_str());
    co_return;
  }
  std::vector<char> buf(256 * 1024, 'x');
  asio::error_code ec;
  for (std::uint64_t sent = 0; sent < bytes && !ec; sent += buf.size()) {
    co_await asio::async_write(*s, asio::buffer(buf.data(), std::min<std::uint64_t>(buf.size(), bytes - sent)),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  s->shutdown(tcp::socket::shutdown_send, ec);
  char ack;
  co_await s->async_read_some(asio::buffer(&ack, 1), asio::redirect_error(asio::use_awaitable, ec));
}

double Run(net::SocketAddress via, std::uint64_t total, int conns) {
  asio::io_context io;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < conns; ++i) asio::co_spawn(io, Push(via, total / conns), asio::detached);
  io.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(total) * 8 / secs / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t total = (argc > 1 ? std::stoull(argv[1]) : 1024) << 20;
  const int conns = argc > 2 ? std::stoi(argv[2]) : 1;
  const std::size_t workers_n = argc > 3 ? std::stoul(argv[3]) : 2;

  auto mesh = testing::TestMesh::Create("cluster.local").value();
  auto client_ctx = tls::TlsContext::Client(mesh.Issue("default", "client").value()).value();
  auto server_ctx = tls::TlsContext::Server(mesh.Issue("default", "server").value()).value();
  auto sockets = std::make_shared<net::DefaultSocketFactory>();

  // Sink on its own thread (the "app").
  asio::io_context app_io;
  tcp::acceptor acceptor(app_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const net::SocketAddress sink(net::IpAddress::Loopback4(), acceptor.local_endpoint().port());
  asio::co_spawn(app_io, [&]() -> asio::awaitable<void> {
    for (;;) {
      tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
      asio::co_spawn(app_io, Sink(std::move(s)), asio::detached);
    }
  }, asio::detached);
  std::thread app_thread([&] { app_io.run(); });

  net::WorkerPool workers(workers_n);
  hbone::Stats stats(workers_n);
  hbone::PoolSet pools(workers, {}, &stats);
  auto inbound = std::make_shared<hbone::InboundServer>(
      [server_ctx] { return server_ctx; }, sockets, std::make_shared<hbone::AllowAllAuthorizer>(), &stats,
      hbone::InboundServer::Options{});
  auto hbone_listener = net::Listener::Start(workers, *sockets, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                             {}, [inbound](tcp::socket s) { inbound->Serve(std::move(s)); })
                            .value();
  auto lookup = std::make_shared<OneWorkload>(
      hbone::WorkloadTarget{net::IpAddress::Loopback4(), mesh.Id("default", "server"), true});
  hbone::OutboundPath::Options options;
  options.route.hbone_port = hbone_listener->local_address().port();
  options.original_destination = [sink](tcp::socket&) -> Result<net::SocketAddress> { return sink; };
  auto outbound = std::make_shared<hbone::OutboundPath>(lookup, &pools, &stats, options);
  const hbone::OutboundSource source{client_ctx->local_identity(), client_ctx, sockets, ""};
  auto out_listener = net::Listener::Start(workers, *sockets, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                           {}, [outbound, source](tcp::socket s) { outbound->Serve(std::move(s), source); })
                          .value();
  workers.Start();

  const double direct = Run(sink, total, conns);
  const double meshed = Run(out_listener->local_address(), total, conns);
  const auto s = stats.Snapshot();
  std::printf("%llu MiB over %d connection(s), %zu worker loops\n",
              static_cast<unsigned long long>(total >> 20), conns, workers_n);
  std::printf("  plain TCP   : %6.2f Gbit/s\n", direct);
  std::printf("  through HBONE: %6.2f Gbit/s  (tls connections %llu, streams %llu)\n", meshed,
              static_cast<unsigned long long>(s.tls_connections_opened),
              static_cast<unsigned long long>(s.streams_opened));

  out_listener->Close();
  hbone_listener->Close();
  for (std::size_t i = 0; i < workers.size(); ++i) workers.Post(i, [&pools, i] { pools.At(i).Shutdown(); });
  workers.Stop();
  app_io.stop();
  app_thread.join();
  return 0;
}
