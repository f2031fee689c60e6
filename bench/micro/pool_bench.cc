// HBONE connection pool (src/hbone/pool.*), per worker loop:
//   BM_PoolFindReady   - the pool's lookup on a hit (Pool::FindReady: PoolKey
//                        hash + compare, then the capacity check of that
//                        key's connections) with M keys pooled, cycling
//                        through the keys;
//   BM_PoolConnectWarm - a whole Pool::Connect on a warm pool: lookup, a new
//                        CONNECT stream on the pooled mTLS connection, the
//                        inbound server's checks and its connect to the app,
//                        the 200 back (loopback; no TLS handshake).
// The pooled connections are real: mTLS 1.3 + HTTP/2 to an InboundServer on
// loopback with throwaway certificates; keys differ by source IP.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <benchmark/benchmark.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "hbone/connect_headers.h"
#include "hbone/inbound_server.h"
#include "hbone/pool.h"
#include "net/listener.h"
#include "net/socket_factory.h"
#include "net/worker_pool.h"
#include "support/test_mesh.h"

namespace ambit {
namespace {

using asio::ip::tcp;

// Holds an app connection open until the peer closes it.
asio::awaitable<void> AppHold(tcp::socket s) {
  char buf[4096];
  asio::error_code ec;
  while (!ec) co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
}

// An app listener, an HBONE server and a client pool, on two worker loops;
// |keys| pooled connections dialed on loop 0.
class Mesh {
 public:
  Mesh() : workers_(2), stats_(2) {}

  // Empty on success, else what failed.
  std::string Setup(int keys) {
    auto mesh = testing::TestMesh::Create("cluster.local");
    if (!mesh.ok()) return mesh.error().ToString();
    auto client = mesh->Issue("default", "client");
    auto server = mesh->Issue("default", "server");
    if (!client.ok() || !server.ok()) return "issuing test certificates failed";
    auto client_ctx = tls::TlsContext::Client(*client);
    auto server_ctx = tls::TlsContext::Server(*server);
    if (!client_ctx.ok() || !server_ctx.ok()) return "building TLS contexts failed";
    client_ctx_ = *client_ctx;
    std::shared_ptr<const tls::TlsContext> server_shared = *server_ctx;
    server_id_ = mesh->Id("default", "server");

    app_ = std::make_unique<tcp::acceptor>(workers_.loop(1), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    app_addr_ = net::SocketAddress(net::IpAddress::Loopback4(), app_->local_endpoint().port());
    asio::co_spawn(workers_.loop(1), [this]() -> asio::awaitable<void> {
      for (;;) {
        asio::error_code ec;
        tcp::socket s = co_await app_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        asio::co_spawn(app_->get_executor(), AppHold(std::move(s)), asio::detached);
      }
    }, asio::detached);

    inbound_ = std::make_shared<hbone::InboundServer>(
        [server_shared] { return server_shared; }, sockets_, std::make_shared<hbone::AllowAllAuthorizer>(),
        &stats_, hbone::InboundServer::Options{});
    net::Listener::Options listen;
    listen.accept_loop = 1;
    auto listener = net::Listener::Start(workers_, *sockets_, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                         listen, [this](tcp::socket s) { inbound_->Serve(std::move(s)); });
    if (!listener.ok()) return listener.error().ToString();
    listener_ = *listener;
    pool_ = std::make_unique<hbone::Pool>(workers_.loop(0).get_executor(), hbone::Pool::Options{}, &stats_);
    workers_.Start();

    for (int i = 0; i < keys; ++i) {
      const std::array<std::uint8_t, 4> ip = {10, static_cast<std::uint8_t>(i >> 16),
                                              static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
      keys_.push_back(hbone::PoolKey{client_ctx_->local_identity(), net::IpAddress::V4(ip),
                                     listener_->local_address(), {server_id_}});
    }
    std::string error = OnLoop0<std::string>([this]() -> asio::awaitable<std::string> {
      for (const auto& key : keys_) {
        auto s = co_await pool_->Connect(key, Dial(), Headers());
        if (!s.ok()) co_return s.error().ToString();
        (*s)->Reset();
      }
      co_return std::string();
    });
    if (!error.empty()) return error;
    if (stats_.Snapshot().tls_connections_opened != keys_.size()) return "pool did not dial once per key";
    return "";
  }

  ~Mesh() {
    if (listener_) listener_->Close();
    if (pool_) {
      std::promise<void> done;
      workers_.Post(0, [&] {
        pool_->Shutdown();
        done.set_value();
      });
      done.get_future().wait();
    }
    if (app_) {
      std::promise<void> done;
      workers_.Post(1, [&] {
        asio::error_code ec;
        app_->close(ec);
        done.set_value();
      });
      done.get_future().wait();
    }
    workers_.Stop();
    pool_.reset();
  }

  template <typename T>
  T OnLoop0(std::function<asio::awaitable<T>()> body) {
    std::promise<T> p;
    workers_.Post(0, [&] {
      asio::co_spawn(workers_.loop(0), [&]() -> asio::awaitable<void> { p.set_value(co_await body()); },
                     asio::detached);
    });
    return p.get_future().get();
  }

  hbone::DialParams Dial() const { return hbone::DialParams{client_ctx_, sockets_}; }
  h2::Headers Headers() const {
    hbone::ConnectRequest r;
    r.target = app_addr_;
    r.downstream = net::SocketAddress(net::IpAddress::Loopback4(), 40000);
    r.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    return hbone::BuildConnectHeaders(r);
  }
  hbone::Pool& pool() { return *pool_; }
  const std::vector<hbone::PoolKey>& keys() const { return keys_; }

 private:
  net::WorkerPool workers_;
  hbone::Stats stats_;
  std::shared_ptr<net::DefaultSocketFactory> sockets_ = std::make_shared<net::DefaultSocketFactory>();
  std::shared_ptr<const tls::TlsContext> client_ctx_;
  identity::SpiffeId server_id_{"cluster.local", "default", "server"};
  std::unique_ptr<tcp::acceptor> app_;
  net::SocketAddress app_addr_;
  std::shared_ptr<hbone::InboundServer> inbound_;
  std::shared_ptr<net::Listener> listener_;
  std::unique_ptr<hbone::Pool> pool_;
  std::vector<hbone::PoolKey> keys_;
};

void BM_PoolFindReady(benchmark::State& st) {
  const int keys = static_cast<int>(st.range(0));
  Mesh mesh;
  if (std::string e = mesh.Setup(keys); !e.empty()) {
    st.SkipWithError(e.c_str());
    return;
  }
  const std::string error = mesh.OnLoop0<std::string>([&]() -> asio::awaitable<std::string> {
    const auto& all = mesh.keys();
    std::size_t i = 0;
    for (auto _ : st) {
      auto session = mesh.pool().FindReady(all[i]);
      if (session == nullptr) co_return "pool missed a pooled key";
      benchmark::DoNotOptimize(session);
      if (++i == all.size()) i = 0;
    }
    co_return std::string();
  });
  if (!error.empty()) st.SkipWithError(error.c_str());
}
BENCHMARK(BM_PoolFindReady)->ArgName("keys")->Arg(1)->Arg(16)->Arg(256)->UseRealTime();

void BM_PoolConnectWarm(benchmark::State& st) {
  Mesh mesh;
  if (std::string e = mesh.Setup(1); !e.empty()) {
    st.SkipWithError(e.c_str());
    return;
  }
  const hbone::DialParams dial = mesh.Dial();
  const h2::Headers headers = mesh.Headers();
  const std::string error = mesh.OnLoop0<std::string>([&]() -> asio::awaitable<std::string> {
    for (auto _ : st) {
      auto s = co_await mesh.pool().Connect(mesh.keys()[0], dial, headers);
      if (!s.ok()) co_return s.error().ToString();
      (*s)->Reset();
    }
    co_return std::string();
  });
  if (!error.empty()) st.SkipWithError(error.c_str());
}
BENCHMARK(BM_PoolConnectWarm)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ambit
