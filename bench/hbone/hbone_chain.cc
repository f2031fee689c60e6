// hbone_chain: two HBONE proxies as two processes on loopback, for
// side-by-side comparison with other proxy chains (haproxy, stunnel):
//
//   client -> 127.0.0.1:<listen> (outbound process, plain)
//          == HBONE (mTLS 1.3 + HTTP/2 CONNECT) ==> 127.0.0.1:<hbone> (inbound process)
//          -> <dest>
//
// Usage: hbone_chain <listen port> <hbone port> <dest port> [workers] [pool max streams]
//                    [early data limit]   (0 = the copy waits for the CONNECT's 200)
// The destination is 127.0.0.1:<dest port>. Certificates come from a
// throwaway root made at start. Prints "outbound <pid>" and "inbound <pid>"
// on stdout (for CPU accounting and profiling), then runs until SIGINT or
// SIGTERM, after which each process prints its per-worker counters
// ("<role> worker <i> connections <n> bytes <n>") on stderr.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "hbone/inbound_server.h"
#include "hbone/open_tunnel.h"
#include "hbone/outbound_path.h"
#include "net/listener.h"
#include "support/test_mesh.h"

using namespace ambit;
using asio::ip::tcp;

namespace {

class OneWorkload : public hbone::DestinationLookup {
 public:
  explicit OneWorkload(hbone::WorkloadTarget w) : w_(std::move(w)) {}
  std::optional<hbone::ServiceTarget> FindService(const net::SocketAddress&, std::uint64_t) const override {
    return std::nullopt;
  }
  std::optional<hbone::WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    if (ip == w_.ip) return w_;
    return std::nullopt;
  }

 private:
  hbone::WorkloadTarget w_;
};

void WaitForSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
}

void PrintWorkers(const char* role, const hbone::Stats& stats, std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i) {
    const hbone::StatsSnapshot s = stats.ShardSnapshot(i + 1);
    std::fprintf(stderr, "%s worker %zu connections %llu bytes %llu\n", role, i,
                 static_cast<unsigned long long>(s.app_connections),
                 static_cast<unsigned long long>(s.bytes_downstream_to_upstream +
                                                 s.bytes_upstream_to_downstream));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s <listen port> <hbone port> <dest port> [workers] [pool max streams] "
                 "[early data limit]\n",
                 argv[0]);
    return 2;
  }
  const auto listen_port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  const auto hbone_port = static_cast<std::uint16_t>(std::stoi(argv[2]));
  const auto dest_port = static_cast<std::uint16_t>(std::stoi(argv[3]));
  const std::size_t workers_n = argc > 4 ? std::stoul(argv[4]) : 2;
  const std::size_t max_streams = argc > 5 ? std::stoul(argv[5]) : 100;
  const std::size_t early_data_limit = argc > 6 ? std::stoul(argv[6]) : hbone::kEarlyDataLimit;

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto mesh = testing::TestMesh::Create("cluster.local").value();
  auto client_cred = mesh.Issue("default", "client").value();
  auto server_cred = mesh.Issue("default", "server").value();
  const identity::SpiffeId server_id = mesh.Id("default", "server");
  auto sockets = std::make_shared<net::DefaultSocketFactory>();
  const net::SocketAddress dest(net::IpAddress::Loopback4(), dest_port);

  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    // Inbound process.
    auto server_ctx = tls::TlsContext::Server(server_cred).value();
    net::WorkerPool workers(workers_n);
    hbone::Stats stats(workers_n);
    auto inbound = std::make_shared<hbone::InboundServer>(
        [server_ctx] { return server_ctx; }, sockets, std::make_shared<hbone::AllowAllAuthorizer>(),
        &stats, hbone::InboundServer::Options{});
    net::Listener::Options listen_options;
    listen_options.placement = net::Listener::Placement::kLeastLoaded;  // as ztunnel's 15008
    auto listener = net::Listener::Start(workers, *sockets,
                                         net::SocketAddress(net::IpAddress::Loopback4(), hbone_port),
                                         listen_options,
                                         [inbound](tcp::socket s) { inbound->Serve(std::move(s)); });
    if (!listener.ok()) {
      std::fprintf(stderr, "inbound listener: %s\n", listener.error().ToString().c_str());
      return 1;
    }
    workers.Start();
    WaitForSignal();
    (*listener)->Close();
    workers.Stop();
    PrintWorkers("inbound", stats, workers_n);
    return 0;
  }

  auto client_ctx = tls::TlsContext::Client(client_cred).value();
  net::WorkerPool workers(workers_n);
  hbone::Stats stats(workers_n);
  hbone::Pool::Options pool_options;
  pool_options.max_streams_per_connection = max_streams;
  hbone::PoolSet pools(workers, pool_options, &stats);
  auto lookup = std::make_shared<OneWorkload>(hbone::WorkloadTarget{dest.ip(), server_id, true});
  hbone::OutboundPath::Options options;
  options.route.hbone_port = hbone_port;
  options.early_data_limit = early_data_limit;
  options.original_destination = [dest](tcp::socket&) -> Result<net::SocketAddress> { return dest; };
  auto outbound = std::make_shared<hbone::OutboundPath>(lookup, &pools, &stats, options);
  const hbone::OutboundSource source{client_ctx->local_identity(), client_ctx, sockets, ""};
  auto listener = net::Listener::Start(workers, *sockets,
                                       net::SocketAddress(net::IpAddress::Loopback4(), listen_port), {},
                                       [outbound, source](tcp::socket s) { outbound->Serve(std::move(s), source); });
  if (!listener.ok()) {
    std::fprintf(stderr, "outbound listener: %s\n", listener.error().ToString().c_str());
    kill(child, SIGTERM);
    return 1;
  }
  workers.Start();
  std::printf("outbound %d\ninbound %d\n", static_cast<int>(getpid()), static_cast<int>(child));
  std::fflush(stdout);
  WaitForSignal();
  (*listener)->Close();
  for (std::size_t i = 0; i < workers.size(); ++i) workers.Post(i, [&pools, i] { pools.At(i).Shutdown(); });
  workers.Stop();
  PrintWorkers("outbound", stats, workers_n);
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}
