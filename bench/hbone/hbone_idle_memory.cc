// hbone_idle_memory [connections] [workers] [exit-held]
//
// Heap cost of idle tunneled connections, both proxy ends together:
//   client -> outbound proxy -> HBONE (mTLS 1.3 + HTTP/2 CONNECT, pooled) ->
//   inbound server -> holder
// all on loopback in one process. Opens N connections (one byte each way so
// every hop has carried data), holds them, and prints malloc's in-use bytes
// and VmRSS before, while held and after they close, minus the same
// connections made directly (the app's own sockets). Run it under heaptrack to
// see who allocates what ("exit-held" exits while the tunneled connections are
// held, so heaptrack's leak report is what they own). Numbers are for
// spotting regressions.
#include <malloc.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
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

// The app end: echoes one byte, then holds the connection until EOF.
asio::awaitable<void> Hold(tcp::socket s) {
  char c;
  asio::error_code ec;
  co_await asio::async_read(s, asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_await asio::async_write(s, asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
  while (!ec) co_await asio::async_read(s, asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
}

std::size_t InUse() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(500)); }

struct Sample {
  long in_use;
  long rss_kb;
};
Sample Take() {
  Settle();
  return {static_cast<long>(InUse()), RssKb()};
}

// Opens |n| connections to |to|, one byte round trip on each; keeps them in |out|.
void OpenAll(asio::io_context& io, net::SocketAddress to, int n, std::vector<tcp::socket>& out) {
  int done = 0;
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(io, [&, to]() -> asio::awaitable<void> {
      net::DefaultSocketFactory f;
      auto s = co_await net::Connect(f, to, {});
      if (!s.ok()) {
        std::fprintf(stderr, "connect: %s\n", s.error().ToString().c_str());
        ++done;
        co_return;
      }
      char c = 'x';
      asio::error_code ec;
      co_await asio::async_write(*s, asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
      co_await asio::async_read(*s, asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) std::fprintf(stderr, "round trip: %s\n", ec.message().c_str());
      out.push_back(std::move(*s));
      ++done;
    }, asio::detached);
    // A few at a time, like clients arriving.
    if (i % 50 == 49) {
      io.restart();
      io.run_for(std::chrono::milliseconds(20));
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (done < n && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  if (done < n) std::fprintf(stderr, "only %d of %d connections finished opening\n", done, n);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int n = argc > 1 ? std::stoi(argv[1]) : 1000;
  const std::size_t workers_n = argc > 2 ? std::stoul(argv[2]) : 2;
  const bool exit_while_held = argc > 3 && std::string(argv[3]) == "exit-held";

  auto mesh = testing::TestMesh::Create("cluster.local").value();
  auto client_ctx = tls::TlsContext::Client(mesh.Issue("default", "client").value()).value();
  auto server_ctx = tls::TlsContext::Server(mesh.Issue("default", "server").value()).value();
  auto sockets = std::make_shared<net::DefaultSocketFactory>();

  asio::io_context app_io;
  tcp::acceptor acceptor(app_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.listen(4096);
  const net::SocketAddress holder(net::IpAddress::Loopback4(), acceptor.local_endpoint().port());
  asio::co_spawn(app_io, [&]() -> asio::awaitable<void> {
    for (;;) {
      tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
      asio::co_spawn(app_io, Hold(std::move(s)), asio::detached);
    }
  }, asio::detached);
  auto app_guard = asio::make_work_guard(app_io);
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
  options.original_destination = [holder](tcp::socket&) -> Result<net::SocketAddress> { return holder; };
  auto outbound = std::make_shared<hbone::OutboundPath>(lookup, &pools, &stats, options);
  const hbone::OutboundSource source{client_ctx->local_identity(), client_ctx, sockets, ""};
  auto out_listener = net::Listener::Start(workers, *sockets, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                           {}, [outbound, source](tcp::socket s) { outbound->Serve(std::move(s), source); })
                          .value();
  workers.Start();

  asio::io_context client_io;
  auto measure = [&](net::SocketAddress to, const char* what) {
    std::vector<tcp::socket> conns;
    conns.reserve(static_cast<std::size_t>(n));
    const Sample before = Take();
    OpenAll(client_io, to, n, conns);
    const Sample held = Take();
    if (exit_while_held && to == out_listener->local_address()) {
      // For heaptrack: what is still allocated at exit is what the held
      // connections (plus the process's fixed state) own.
      std::printf("held: heap in use %+.2f KB/conn, RSS %+.2f KB/conn; exiting while held\n",
                  static_cast<double>(held.in_use - before.in_use) / 1024 / n,
                  static_cast<double>(held.rss_kb - before.rss_kb) / n);
      std::fflush(stdout);
      std::_Exit(0);
    }
    for (auto& s : conns) s.close();
    conns.clear();
    client_io.restart();
    client_io.run_for(std::chrono::milliseconds(100));
    const Sample after = Take();
    std::printf("%-8s heap in use %+8.2f KB/conn, RSS %+8.2f KB/conn; after close: heap %+8.2f, RSS %+8.2f KB/conn\n",
                what, static_cast<double>(held.in_use - before.in_use) / 1024 / n,
                static_cast<double>(held.rss_kb - before.rss_kb) / n,
                static_cast<double>(after.in_use - before.in_use) / 1024 / n,
                static_cast<double>(after.rss_kb - before.rss_kb) / n);
    return held.in_use - before.in_use;
  };
  // Warm-up: pooled TLS connections dialled, caches filled.
  {
    std::vector<tcp::socket> warm;
    OpenAll(client_io, out_listener->local_address(), 8, warm);
  }
  std::printf("%d idle connections, %zu worker loops\n", n, workers_n);
  const long direct = measure(holder, "direct");
  const long meshed = measure(out_listener->local_address(), "mesh");
  std::printf("both proxy ends: %.2f KB of heap per idle connection (mesh minus direct); "
              "tls connections %llu, streams %llu\n",
              static_cast<double>(meshed - direct) / 1024 / n,
              static_cast<unsigned long long>(stats.Snapshot().tls_connections_opened),
              static_cast<unsigned long long>(stats.Snapshot().streams_opened));

  out_listener->Close();
  hbone_listener->Close();
  for (std::size_t i = 0; i < workers.size(); ++i) workers.Post(i, [&pools, i] { pools.At(i).Shutdown(); });
  workers.Stop();
  app_guard.reset();
  app_io.stop();
  app_thread.join();
  return 0;
}
