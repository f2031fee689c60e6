// End to end on loopback: client app -> plaintext outbound listener ->
// pooled HBONE (mTLS + HTTP/2 CONNECT) -> HBONE server -> app server.
// Certificates come from a test root made at test time; every port is 0.
//
// The app server speaks a one-byte command protocol:
//   'E' echo everything back;  'S' reply sha256(hex) of everything up to EOF;
//   'G' + 8-byte little-endian N: send N deterministic bytes, then close.
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "core/log.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "hbone/inbound_server.h"
#include "hbone/outbound_path.h"
#include "hbone/pool.h"
#include "net/connect.h"
#include "net/listener.h"
#include "support/test_mesh.h"

namespace ambit::hbone {
namespace {

using asio::ip::tcp;
using identity::SpiffeId;

std::string Hex(const unsigned char* d, std::size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += k[d[i] >> 4];
    s += k[d[i] & 15];
  }
  return s;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void Update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string Hex() {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    return hbone::Hex(md, len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Deterministic bytes: position-dependent so shifts or drops change the hash.
void Fill(std::uint8_t* p, std::size_t n, std::uint64_t offset) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t x = offset + i;
    p[i] = static_cast<std::uint8_t>((x * 2654435761u) >> 13 ^ (x >> 20));
  }
}

std::string ShaOfGenerated(std::uint64_t n) {
  Sha256 sha;
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::uint64_t off = 0; off < n; off += buf.size()) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
    Fill(buf.data(), len, off);
    sha.Update(buf.data(), len);
  }
  return sha.Hex();
}

// 'W' (watch): read until the connection ends and report "eof" or "reset".
std::promise<std::string>* g_watch_result = nullptr;

asio::awaitable<void> AppServe(tcp::socket s) {
  asio::error_code ec;
  char cmd = 0;
  co_await asio::async_read(s, asio::buffer(&cmd, 1), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::vector<std::uint8_t> buf(256 * 1024);
  if (cmd == 'E') {
    for (;;) {
      std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
    s.shutdown(tcp::socket::shutdown_send, ec);
  } else if (cmd == 'S') {
    Sha256 sha;
    std::uint64_t total = 0;
    for (;;) {
      std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      sha.Update(buf.data(), n);
      total += n;
    }
    if (ec != asio::error::eof) co_return;
    const std::string reply = sha.Hex() + " " + std::to_string(total);
    co_await asio::async_write(s, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
    s.shutdown(tcp::socket::shutdown_send, ec);
  } else if (cmd == 'W') {
    for (;;) {
      co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (g_watch_result != nullptr) g_watch_result->set_value(ec == asio::error::eof ? "eof" : "reset");
    co_return;
  } else if (cmd == 'G') {
    std::uint64_t n = 0;
    co_await asio::async_read(s, asio::buffer(&n, 8), asio::redirect_error(asio::use_awaitable, ec));
    for (std::uint64_t off = 0; off < n && !ec; off += buf.size()) {
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
      Fill(buf.data(), len, off);
      co_await asio::async_write(s, asio::buffer(buf.data(), len), asio::redirect_error(asio::use_awaitable, ec));
    }
    s.shutdown(tcp::socket::shutdown_send, ec);
  }
  // Drain until the client closes, so our FIN is not turned into an RST.
  while (!ec) co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
}

class StaticLookup : public DestinationLookup {
 public:
  std::optional<ServiceTarget> FindService(const net::SocketAddress&, std::uint64_t) const override { return std::nullopt; }
  std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    auto it = workloads.find(ip);
    if (it == workloads.end()) return std::nullopt;
    return it->second;
  }
  std::map<net::IpAddress, WorkloadTarget> workloads;
};

// Denies any client whose service account is "intruder".
class TestAuthorizer : public Authorizer {
 public:
  AuthorizationResult Authorize(const InboundRequestInfo& r) const override {
    if (r.peer_identity.service_account() == "intruder") return {false, "intruders are not allowed"};
    return {};
  }
};

struct AppResult {
  std::string error;  // empty on success
  std::string reply;  // what the app received
};

class HboneIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mesh = testing::TestMesh::Create("cluster.local");
    ASSERT_TRUE(mesh.ok()) << mesh.error().ToString();
    mesh_ = std::make_unique<testing::TestMesh>(std::move(*mesh));
    client_ctx_ = *tls::TlsContext::Client(*mesh_->Issue("default", "client"));
    auto server_ctx = *tls::TlsContext::Server(*mesh_->Issue("default", "server"));

    workers_ = std::make_unique<net::WorkerPool>(2);
    stats_ = std::make_unique<Stats>(2);
    pools_ = std::make_unique<PoolSet>(*workers_, pool_options_, stats_.get());
    sockets_ = std::make_shared<net::DefaultSocketFactory>();

    // The app server (its own loop, like a pod's process).
    app_acceptor_ = std::make_unique<tcp::acceptor>(app_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    app_addr_ = net::SocketAddress(net::IpAddress::Loopback4(), app_acceptor_->local_endpoint().port());
    asio::co_spawn(app_io_, [this]() -> asio::awaitable<void> {
      for (;;) {
        asio::error_code ec;
        tcp::socket s = co_await app_acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        app_accepts_.fetch_add(1);
        asio::co_spawn(app_io_, AppServe(std::move(s)), asio::detached);
      }
    }, asio::detached);
    app_guard_.emplace(app_io_.get_executor());
    app_thread_ = std::thread([this] { app_io_.run(); });

    // The HBONE server (15008 stand-in).
    inbound_ = std::make_shared<InboundServer>([server_ctx] { return server_ctx; }, sockets_,
                                               std::make_shared<TestAuthorizer>(), stats_.get(),
                                               InboundServer::Options{});
    net::Listener::Options hbone_options;
    hbone_options.placement = net::Listener::Placement::kLeastLoaded;  // as ztunnel's 15008
    auto listener = net::Listener::Start(*workers_, *sockets_, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                         hbone_options, [this](tcp::socket s) { inbound_->Serve(std::move(s)); });
    ASSERT_TRUE(listener.ok()) << listener.error().ToString();
    hbone_listener_ = *listener;
    workers_->Start();
  }

  void TearDown() override {
    for (auto& l : outbound_listeners_) l->Close();
    if (hbone_listener_) hbone_listener_->Close();
    // GOAWAY both ways and let the connections close before the loops stop:
    // a session left open keeps the coroutines suspended in it, and they keep
    // it (LeakSanitizer reports the cycle when a test leaves a pooled
    // connection open, e.g. after DirectConnect).
    for (std::size_t i = 0; i < workers_->size(); ++i) {
      workers_->Post(i, [this, i] { pools_->At(i).Shutdown(); });
    }
    inbound_->Shutdown();
    (void)inbound_->WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    // Pending frames refer to pools_, stats_ and inbound_: destroyed here,
    // while those and every loop still exist.
    workers_->Shutdown();
    pools_.reset();
    app_guard_.reset();
    app_io_.stop();
    if (app_thread_.joinable()) app_thread_.join();
  }

  // An outbound (15001 stand-in) listener for a client workload whose
  // connections all "originally" went to |target|; the server at 127.0.0.1
  // is believed to be |server_identity|.
  net::SocketAddress StartOutbound(net::SocketAddress target, SpiffeId server_identity,
                                   std::shared_ptr<const tls::TlsContext> client_ctx = nullptr,
                                   std::optional<SpiffeId> client_identity = std::nullopt,
                                   std::optional<std::uint16_t> hbone_port = std::nullopt) {
    auto lookup = std::make_shared<StaticLookup>();
    lookup->workloads.emplace(net::IpAddress::Loopback4(),
                              WorkloadTarget{net::IpAddress::Loopback4(), server_identity, true});
    if (!client_ctx) client_ctx = client_ctx_;
    OutboundSource source{client_identity.value_or(client_ctx->local_identity()), client_ctx, sockets_,
                          "k8s.namespace.name=default"};
    OutboundPath::Options options;
    options.route.hbone_port = hbone_port.value_or(hbone_listener_->local_address().port());
    options.original_destination = [target](tcp::socket&) -> Result<net::SocketAddress> { return target; };
    auto path = std::make_shared<OutboundPath>(lookup, pools_.get(), stats_.get(), options);
    auto listener = net::Listener::Start(*workers_, *sockets_, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                         {}, [path, source](tcp::socket s) { path->Serve(std::move(s), source); });
    EXPECT_TRUE(listener.ok());
    outbound_listeners_.push_back(*listener);
    return (*listener)->local_address();
  }

  // A client app: connects to |via|, sends |cmd| then |payload| (generated
  // bytes of that size), half-closes, and reads the reply to EOF. With
  // |hash_reply| the reply is returned as its sha256.
  asio::awaitable<AppResult> App(net::SocketAddress via, std::string cmd, std::uint64_t payload, bool hash_reply) {
    AppResult r;
    net::DefaultSocketFactory f;
    auto s = co_await net::Connect(f, via, {});
    if (!s.ok()) {
      r.error = s.error().ToString();
      co_return r;
    }
    asio::error_code ec;
    co_await asio::async_write(*s, asio::buffer(cmd), asio::redirect_error(asio::use_awaitable, ec));
    std::vector<std::uint8_t> buf(256 * 1024);
    for (std::uint64_t off = 0; off < payload && !ec; off += buf.size()) {
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), payload - off));
      Fill(buf.data(), len, off);
      co_await asio::async_write(*s, asio::buffer(buf.data(), len), asio::redirect_error(asio::use_awaitable, ec));
    }
    s->shutdown(tcp::socket::shutdown_send, ec);
    Sha256 sha;
    for (;;) {
      std::size_t n = co_await s->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (hash_reply) {
        sha.Update(buf.data(), n);
      } else {
        r.reply.append(reinterpret_cast<char*>(buf.data()), n);
      }
    }
    if (ec != asio::error::eof) r.error = "read: " + ec.message();
    if (hash_reply) r.reply = sha.Hex();
    co_return r;
  }

  AppResult RunApp(net::SocketAddress via, std::string cmd, std::uint64_t payload, bool hash_reply) {
    std::promise<AppResult> p;
    asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
      p.set_value(co_await App(via, cmd, payload, hash_reply));
    }, asio::detached);
    return p.get_future().get();
  }

  // A CONNECT through loop 0's pool with explicit headers, as |client_ctx|.
  Result<std::shared_ptr<h2::Stream>> DirectConnect(h2::Headers headers,
                                                    std::shared_ptr<const tls::TlsContext> client_ctx = nullptr) {
    if (!client_ctx) client_ctx = client_ctx_;
    PoolKey key{client_ctx->local_identity(), net::IpAddress::Loopback4(), hbone_listener_->local_address(),
                {mesh_->Id("default", "server")}};
    DialParams dial{client_ctx, sockets_};
    std::promise<Result<std::shared_ptr<h2::Stream>>> p;
    workers_->Post(0, [&] {
      asio::co_spawn(workers_->loop(0), [&]() -> asio::awaitable<void> {
        auto r = co_await pools_->At(0).Connect(key, dial, headers);
        if (r.ok()) (*r)->Reset();  // only the status matters here
        p.set_value(std::move(r));
      }, asio::detached);
    });
    return p.get_future().get();
  }

  h2::Headers ConnectTo(net::SocketAddress target) {
    ConnectRequest r;
    r.target = target;
    r.downstream = net::SocketAddress(net::IpAddress::Loopback4(), 40000);
    return BuildConnectHeaders(r);
  }

  // Runs |count| client apps at once through |via|, each echoing |bytes|;
  // returns how many got their bytes back intact.
  int RunConcurrentEchoes(net::SocketAddress via, int count, std::uint64_t bytes) {
    std::promise<int> all;
    int ok = 0, done = 0;
    asio::post(app_io_, [&] {
      for (int i = 0; i < count; ++i) {
        asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
          AppResult r = co_await App(via, "E", bytes, true);
          if (r.error.empty() && r.reply == ShaOfGenerated(bytes)) ++ok;
          if (++done == count) all.set_value(ok);
        }, asio::detached);
      }
    });
    return all.get_future().get();
  }

  Pool::Options pool_options_;  // set before SetUp by derived fixtures
  std::unique_ptr<testing::TestMesh> mesh_;
  std::shared_ptr<const tls::TlsContext> client_ctx_;
  std::unique_ptr<net::WorkerPool> workers_;
  std::unique_ptr<Stats> stats_;
  std::unique_ptr<PoolSet> pools_;
  std::shared_ptr<net::DefaultSocketFactory> sockets_;
  std::shared_ptr<InboundServer> inbound_;
  std::shared_ptr<net::Listener> hbone_listener_;
  std::vector<std::shared_ptr<net::Listener>> outbound_listeners_;
  asio::io_context app_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> app_guard_;
  std::unique_ptr<tcp::acceptor> app_acceptor_;
  net::SocketAddress app_addr_;
  std::atomic<int> app_accepts_{0};  // connections the app server accepted
  std::thread app_thread_;
};

TEST_F(HboneIntegrationTest, OneMebibyteEchoesByteExact) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  AppResult r = RunApp(via, "E", 1 << 20, /*hash_reply=*/true);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.reply, ShaOfGenerated(1 << 20));
  StatsSnapshot s = stats_->Snapshot();
  EXPECT_EQ(s.tls_connections_opened, 1u);
  EXPECT_EQ(s.streams_opened, 1u);
  EXPECT_EQ(s.inbound_status_200, 1u);
  EXPECT_GE(s.bytes_downstream_to_upstream, 2u * (1 << 20));  // counted on both proxies
}

TEST_F(HboneIntegrationTest, SixtyFourMebibytesEachWayWithMatchingSha256) {
  constexpr std::uint64_t kSize = 64ull << 20;
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  // Upload: the server hashes what it received (after our half-close).
  AppResult up = RunApp(via, "S", kSize, false);
  EXPECT_EQ(up.error, "");
  EXPECT_EQ(up.reply, ShaOfGenerated(kSize) + " " + std::to_string(kSize));
  // Download: we hash what the server generated.
  std::string cmd = "G";
  cmd.append(reinterpret_cast<const char*>(&kSize), 8);
  AppResult down = RunApp(via, cmd, 0, true);
  EXPECT_EQ(down.error, "");
  EXPECT_EQ(down.reply, ShaOfGenerated(kSize));
}

TEST_F(HboneIntegrationTest, HalfCloseStillDeliversTheServersReply) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  AppResult r = RunApp(via, "S", 5, false);  // shut write after 5 bytes, then read
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.reply, ShaOfGenerated(5) + " 5");
}

TEST_F(HboneIntegrationTest, AnAbortedClientConnectionResetsTheServerSide) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  for (bool abort : {false, true}) {
    std::promise<std::string> watch;
    g_watch_result = &watch;
    std::promise<void> sent;
    asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
      net::DefaultSocketFactory f;
      auto s = co_await net::Connect(f, via, {});
      asio::error_code ec;
      co_await asio::async_write(*s, asio::buffer("Whello", 6), asio::redirect_error(asio::use_awaitable, ec));
      if (abort) {
        // Let the bytes reach the app first: an RST discards unread data.
        asio::steady_timer t(app_io_, std::chrono::milliseconds(300));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        AbortSocket(*s);  // RST
      } else {
        s->shutdown(tcp::socket::shutdown_send, ec);  // FIN
        char b;
        co_await s->async_read_some(asio::buffer(&b, 1), asio::redirect_error(asio::use_awaitable, ec));
      }
      sent.set_value();
    }, asio::detached);
    auto outcome = watch.get_future();
    ASSERT_EQ(outcome.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    // RST -> RST_STREAM -> RST to the app; FIN -> END_STREAM -> FIN.
    EXPECT_EQ(outcome.get(), abort ? "reset" : "eof");
    sent.get_future().wait();
    g_watch_result = nullptr;
  }
}

TEST_F(HboneIntegrationTest, ServerShutdownSendsGoawayAndLetsOpenStreamsFinish) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  // One long-lived tunnel is open (the app waits for our half-close).
  std::promise<AppResult> long_lived;
  std::promise<void> go;
  asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
    net::DefaultSocketFactory f;
    auto s = co_await net::Connect(f, via, {});
    asio::error_code ec;
    co_await asio::async_write(*s, asio::buffer("Sabc", 4), asio::redirect_error(asio::use_awaitable, ec));
    // Wait (without blocking the app loop) until the test says go.
    auto fut = go.get_future();
    asio::steady_timer t(app_io_);
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    s->shutdown(tcp::socket::shutdown_send, ec);
    AppResult r;
    char buf[256];
    for (;;) {
      std::size_t n = co_await s->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      r.reply.append(buf, n);
    }
    long_lived.set_value(r);
  }, asio::detached);
  for (int i = 0; i < 200 && stats_->Snapshot().inbound_status_200 == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(inbound_->connection_count(), 1u);
  // An upgrade: a new server binds the same port (SO_REUSEPORT), the old one
  // stops accepting and drains.
  const auto port_addr = hbone_listener_->local_address();
  auto server_ctx = *tls::TlsContext::Server(*mesh_->Issue("default", "server"));
  auto successor = std::make_shared<InboundServer>([server_ctx] { return server_ctx; }, sockets_,
                                                   std::make_shared<TestAuthorizer>(), stats_.get(),
                                                   InboundServer::Options{});
  auto listener = net::Listener::Start(*workers_, *sockets_, port_addr, {},
                                       [successor](tcp::socket s) { successor->Serve(std::move(s)); });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  hbone_listener_->Close();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  hbone_listener_ = *listener;
  inbound_->Shutdown();
  // New connections reach the successor over a new TLS connection (a stream
  // that crossed the GOAWAY is refused unprocessed and retried).
  for (int i = 0; i < 5; ++i) {
    AppResult r = RunApp(via, "S", 3, false);
    EXPECT_EQ(r.reply, ShaOfGenerated(3) + " 3");
  }
  // One new TLS connection per worker loop that carried one (pools are per loop).
  EXPECT_GE(stats_->Snapshot().tls_connections_opened, 2u);
  EXPECT_LE(stats_->Snapshot().tls_connections_opened, 1u + workers_->size());
  EXPECT_GE(successor->connection_count(), 1u);
  EXPECT_EQ(inbound_->connection_count(), 1u);  // only the draining one
  // ...while the tunnel opened before the drain still works to the end.
  go.set_value();
  auto done = long_lived.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(done.get().reply.substr(65), "3");  // "<sha> 3": the 3 bytes "abc"
  // Its last stream done, the drained connection closes (and wakes the wait).
  EXPECT_TRUE(inbound_->WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2)));
  EXPECT_EQ(inbound_->connection_count(), 0u);
}

TEST_F(HboneIntegrationTest, TwoHundredConcurrentConnectionsShareAHandfulOfTlsConnections) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  constexpr int kConns = 200;
  std::promise<int> all;
  int ok = 0, done = 0;
  asio::post(app_io_, [&] {
    for (int i = 0; i < kConns; ++i) {
      asio::co_spawn(app_io_, [&, i]() -> asio::awaitable<void> {
        AppResult r = co_await App(via, "E", 20000 + static_cast<std::uint64_t>(i), true);
        if (r.error.empty() && r.reply == ShaOfGenerated(20000 + static_cast<std::uint64_t>(i))) ++ok;
        if (++done == kConns) all.set_value(ok);
      }, asio::detached);
    }
  });
  EXPECT_EQ(all.get_future().get(), kConns);
  StatsSnapshot s = stats_->Snapshot();
  EXPECT_EQ(s.streams_opened, static_cast<std::uint64_t>(kConns));
  // 2 loops x ceil(100 streams per connection): a handful, not 200.
  EXPECT_GE(s.tls_connections_opened, 1u);
  EXPECT_LE(s.tls_connections_opened, 6u);
  std::printf("200 connections used %llu TLS connections\n",
              static_cast<unsigned long long>(s.tls_connections_opened));
}

TEST_F(HboneIntegrationTest, EachLoopCountsTheConnectionsAndBytesItCopies) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  constexpr int kConns = 8;
  constexpr std::uint64_t kBytes = 256 * 1024;
  EXPECT_EQ(RunConcurrentEchoes(via, kConns, kBytes), kConns);
  ASSERT_EQ(stats_->shard_count(), 3u);  // off-pool shard + 2 loops
  EXPECT_EQ(stats_->ShardSnapshot(0).app_connections, 0u);
  std::uint64_t connections = 0, bytes = 0;
  for (std::size_t shard = 1; shard < 3; ++shard) {
    const StatsSnapshot s = stats_->ShardSnapshot(shard);
    // Accepts alternate between the loops, so both copy (outbound app
    // connections on both; inbound streams on the loops of their TLS connections).
    EXPECT_GT(s.app_connections, 0u) << "loop " << shard - 1;
    EXPECT_GT(s.bytes_downstream_to_upstream + s.bytes_upstream_to_downstream, 0u) << "loop " << shard - 1;
    connections += s.app_connections;
    bytes += s.bytes_downstream_to_upstream + s.bytes_upstream_to_downstream;
  }
  // Each app connection is copied once on the outbound side and once on the
  // inbound side; each copy moves the payload both ways plus the 1-byte command.
  EXPECT_EQ(connections, 2u * kConns);
  EXPECT_EQ(bytes, 2u * kConns * (2u * kBytes + 1));
  EXPECT_EQ(stats_->Snapshot().app_connections, 2u * kConns);
  // One pooled TLS connection per client loop, and the server placed them on
  // different loops (least loaded), so its copies are spread too.
  EXPECT_EQ(stats_->Snapshot().tls_connections_accepted, 2u);
  EXPECT_EQ(workers_->Load(0), 1);
  EXPECT_EQ(workers_->Load(1), 1);
}

class HboneOneStreamPerConnectionTest : public HboneIntegrationTest {
 protected:
  HboneOneStreamPerConnectionTest() { pool_options_.max_streams_per_connection = 1; }
};

TEST_F(HboneOneStreamPerConnectionTest, EveryAppConnectionGetsItsOwnTlsConnection) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"));
  constexpr int kConns = 6;
  EXPECT_EQ(RunConcurrentEchoes(via, kConns, 10000), kConns);
  const StatsSnapshot s = stats_->Snapshot();
  EXPECT_EQ(s.streams_opened, static_cast<std::uint64_t>(kConns));
  EXPECT_EQ(s.tls_connections_opened, static_cast<std::uint64_t>(kConns));
  EXPECT_EQ(s.tls_connections_accepted, static_cast<std::uint64_t>(kConns));
  // Used up: each connection closes once its stream has ended.
  EXPECT_TRUE(inbound_->WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2)));
  EXPECT_EQ(inbound_->connection_count(), 0u);
}

TEST_F(HboneIntegrationTest, WrongExpectedIdentityFailsOnTheClient) {
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "someone-else"));
  AppResult r = RunApp(via, "E", 10, false);
  EXPECT_EQ(r.reply, "");
  EXPECT_NE(r.error, "");  // reset by the outbound proxy
  StatsSnapshot s = stats_->Snapshot();
  EXPECT_EQ(s.tls_connect_failures, 1u);
  EXPECT_EQ(s.streams_opened, 0u);
  EXPECT_EQ(s.inbound_streams, 0u);
  // The direct API says why.
  PoolKey key{mesh_->Id("default", "client"), net::IpAddress::Loopback4(), hbone_listener_->local_address(),
              {mesh_->Id("default", "someone-else")}};
  std::promise<Result<std::shared_ptr<h2::Stream>>> p;
  workers_->Post(0, [&] {
    asio::co_spawn(workers_->loop(0), [&]() -> asio::awaitable<void> {
      p.set_value(co_await pools_->At(0).Connect(key, DialParams{client_ctx_, sockets_}, ConnectTo(app_addr_)));
    }, asio::detached);
  });
  auto res = p.get_future().get();
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(res.error().ToString().find("is not one of the expected"), std::string::npos) << res.error().ToString();
}

TEST_F(HboneIntegrationTest, ClientFromAnotherTrustDomainFailsOnTheServer) {
  auto evil = *tls::TlsContext::Client(*mesh_->Issue(SpiffeId("evil.example", "default", "client")));
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"), evil);
  AppResult r = RunApp(via, "E", 10, false);
  EXPECT_EQ(r.reply, "");
  EXPECT_NE(r.error, "");
  // The server refused the handshake (give its loop a moment to count it).
  for (int i = 0; i < 100 && stats_->Snapshot().tls_handshake_failures == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stats_->Snapshot().tls_handshake_failures, 1u);
  EXPECT_EQ(stats_->Snapshot().inbound_streams, 0u);
}

TEST_F(HboneIntegrationTest, NoClientCertificateFails) {
  const auto port = hbone_listener_->local_address().port();
  int read_result = 1;
  std::thread client([port, &read_result] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_storage ss;
    socklen_t len = net::SocketAddress(net::IpAddress::Loopback4(), port).ToSockaddr(&ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) == 1) {
        const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        SSL_write(ssl, preface, sizeof(preface) - 1);
        char b;
        read_result = SSL_read(ssl, &b, 1);
      } else {
        read_result = -1;
      }
      SSL_free(ssl);
    }
    ::close(fd);
    SSL_CTX_free(ctx);
  });
  client.join();
  EXPECT_LE(read_result, 0);
  for (int i = 0; i < 100 && stats_->Snapshot().tls_handshake_failures == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stats_->Snapshot().tls_handshake_failures, 1u);
}

TEST_F(HboneIntegrationTest, ServerAnswers400ForBadRequests) {
  // Not CONNECT.
  auto get = DirectConnect({{":method", "GET"}, {":scheme", "https"}, {":path", "/"},
                            {":authority", app_addr_.ToString()}});
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(get.error().ToString().find("400"), std::string::npos);
  // Target IP is not the server's local IP.
  auto other_ip = DirectConnect(ConnectTo(net::SocketAddress(*net::IpAddress::Parse("127.0.0.2"), app_addr_.port())));
  ASSERT_FALSE(other_ip.ok());
  EXPECT_EQ(other_ip.error().code(), ErrorCode::kInvalidArgument);
  // Unparsable authority.
  auto junk = DirectConnect({{":method", "CONNECT"}, {":authority", "127.0.0.1"}});
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(stats_->Snapshot().inbound_status_400, 3u);
}

TEST_F(HboneIntegrationTest, ServerAnswers401WhenAuthorizationDenies) {
  auto intruder = *tls::TlsContext::Client(*mesh_->Issue("default", "intruder"));
  auto r = DirectConnect(ConnectTo(app_addr_), intruder);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(stats_->Snapshot().inbound_status_401, 1u);
  // The same request from an allowed client works.
  EXPECT_TRUE(DirectConnect(ConnectTo(app_addr_)).ok());
}

TEST_F(HboneIntegrationTest, ServerAnswers503ForSelfCallsAndRefusedUpstreams) {
  auto self_call = DirectConnect(ConnectTo(net::SocketAddress(net::IpAddress::Loopback4(), 15008)));
  ASSERT_FALSE(self_call.ok());
  EXPECT_EQ(self_call.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(self_call.error().ToString().find("503"), std::string::npos);
  // A port nobody listens on: the upstream connect fails, so no 200.
  net::DefaultSocketFactory f;
  auto tmp = f.NewListener(net::SocketAddress(net::IpAddress::Loopback4(), 0), {});
  const auto closed_port = net::LocalAddress(tmp->get())->port();
  tmp->reset();
  auto refused = DirectConnect(ConnectTo(net::SocketAddress(net::IpAddress::Loopback4(), closed_port)));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().ToString().find("503"), std::string::npos);
  EXPECT_EQ(stats_->Snapshot().inbound_status_503, 2u);
  EXPECT_EQ(stats_->Snapshot().inbound_status_200, 0u);
}

}  // namespace
}  // namespace ambit::hbone

namespace ambit::hbone {
namespace {

// Runs |body| on loop |loop| and waits for it.
template <typename T>
T OnLoop(net::WorkerPool& workers, std::size_t loop, std::function<asio::awaitable<T>()> body) {
  std::promise<T> p;
  workers.Post(loop, [&] {
    asio::co_spawn(workers.loop(loop), [&]() -> asio::awaitable<void> { p.set_value(co_await body()); },
                   asio::detached);
  });
  return p.get_future().get();
}

TEST_F(HboneIntegrationTest, PoolDialsOnceAndCapsStreamsPerConnection) {
  constexpr int kStreams = 250;
  PoolKey key{mesh_->Id("default", "client"), net::IpAddress::Loopback4(), hbone_listener_->local_address(),
              {mesh_->Id("default", "server")}};
  DialParams dial{client_ctx_, sockets_};
  std::vector<std::shared_ptr<h2::Stream>> held;
  const int opened = OnLoop<int>(*workers_, 0, [&]() -> asio::awaitable<int> {
    int ok = 0, finished = 0;
    asio::steady_timer all_done(workers_->loop(0), asio::steady_timer::time_point::max());
    for (int i = 0; i < kStreams; ++i) {
      asio::co_spawn(workers_->loop(0), [&]() -> asio::awaitable<void> {
        auto s = co_await pools_->At(0).Connect(key, dial, ConnectTo(app_addr_));
        if (s.ok()) {
          ++ok;
          held.push_back(*s);  // keep every stream open
        }
        if (++finished == kStreams) all_done.cancel();
      }, asio::detached);
    }
    asio::error_code ec;
    while (finished < kStreams) co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return ok;
  });
  EXPECT_EQ(opened, kStreams);
  // Single flight + 100 streams per connection: exactly ceil(250 / 100).
  EXPECT_EQ(stats_->Snapshot().tls_connections_opened, 3u);
  const std::size_t conns = OnLoop<std::size_t>(*workers_, 0, [&]() -> asio::awaitable<std::size_t> {
    std::size_t max_streams = 0;
    std::set<h2::Session*> sessions;
    for (auto& s : held) sessions.insert(&s->session());
    for (auto* s : sessions) max_streams = std::max(max_streams, s->active_streams());
    EXPECT_LE(max_streams, 100u);
    for (auto& s : held) s->Reset();
    held.clear();
    co_return pools_->At(0).connection_count();
  });
  EXPECT_EQ(conns, 3u);
}

TEST_F(HboneIntegrationTest, PoolNeverSharesAcrossSourceIdentitiesOrIps) {
  auto other_ctx = *tls::TlsContext::Client(*mesh_->Issue("default", "other-client"));
  const SpiffeId server = mesh_->Id("default", "server");
  const auto dst = hbone_listener_->local_address();
  PoolKey a{client_ctx_->local_identity(), net::IpAddress::Loopback4(), dst, {server}};
  PoolKey b{other_ctx->local_identity(), net::IpAddress::Loopback4(), dst, {server}};
  PoolKey c{client_ctx_->local_identity(), *net::IpAddress::Parse("127.0.0.9"), dst, {server}};
  const DialParams da{client_ctx_, sockets_};
  const DialParams db{other_ctx, sockets_};
  const h2::Headers headers = ConnectTo(app_addr_);
  Pool& pool = pools_->At(0);
  auto open = [&pool, &headers](const PoolKey& key, const DialParams& dial) -> asio::awaitable<int> {
    auto s = co_await pool.Connect(key, dial, headers);
    if (!s.ok()) co_return 0;
    (*s)->Reset();
    co_return 1;
  };
  const int opened = OnLoop<int>(*workers_, 0, [&]() -> asio::awaitable<int> {
    int n = 0;
    n += co_await open(a, da);
    n += co_await open(b, db);
    n += co_await open(c, da);
    n += co_await open(a, da);
    n += co_await open(b, db);
    n += co_await open(c, da);
    co_return n;
  });
  EXPECT_EQ(opened, 6);
  // Three keys, three connections; the second round reused them.
  EXPECT_EQ(stats_->Snapshot().tls_connections_opened, 3u);
  EXPECT_EQ(stats_->Snapshot().streams_opened, 6u);
}

TEST_F(HboneIntegrationTest, IdleConnectionsAreEvicted) {
  Pool::Options options;
  options.idle_timeout = std::chrono::milliseconds(100);
  std::unique_ptr<Pool> pool;
  PoolKey key{mesh_->Id("default", "client"), net::IpAddress::Loopback4(), hbone_listener_->local_address(),
              {mesh_->Id("default", "server")}};
  const std::size_t before = OnLoop<std::size_t>(*workers_, 1, [&]() -> asio::awaitable<std::size_t> {
    pool = std::make_unique<Pool>(workers_->loop(1).get_executor(), options, stats_.get());
    auto s = co_await pool->Connect(key, DialParams{client_ctx_, sockets_}, ConnectTo(app_addr_));
    EXPECT_TRUE(s.ok());
    if (s.ok()) (*s)->Reset();
    co_return pool->connection_count();
  });
  EXPECT_EQ(before, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::size_t after = OnLoop<std::size_t>(*workers_, 1, [&]() -> asio::awaitable<std::size_t> {
    const std::size_t n = pool->connection_count();
    pool.reset();  // destroyed on its loop
    co_return n;
  });
  EXPECT_EQ(after, 0u);
}

// ---- Early data: the app's first bytes travel with the CONNECT.

TEST_F(HboneIntegrationTest, EarlyDataTheAppsFirstBytesArriveBeforeTheAnswer) {
  // An HBONE server that answers a CONNECT only once the app's bytes are
  // there (or after 3 s), then echoes: it sees what came before its 200.
  // Without early data the client waits for the 200, so nothing would come.
  const std::string kHello = "hello before the 200";
  auto before_answer = std::make_shared<std::atomic<std::size_t>>(SIZE_MAX);
  auto server_ctx = *tls::TlsContext::Server(*mesh_->Issue("default", "server"));
  InboundServer::Options options;
  options.stream_handler = [before_answer, want = kHello.size()](
                               const InboundConnectionInfo&,
                               std::shared_ptr<h2::Stream> stream) -> asio::awaitable<void> {
    asio::steady_timer t(stream->session().executor());
    for (int i = 0; i < 300 && stream->readable_bytes() < want && !stream->reset(); ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      asio::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    before_answer->store(stream->readable_bytes());
    if (!stream->session().Respond(*stream, 200, {}, /*end_stream=*/false).ok()) co_return;
    std::array<std::span<const std::uint8_t>, 16> views;
    for (;;) {
      co_await stream->WaitReadable();
      if (stream->reset()) co_return;
      const std::size_t n = stream->Gather(views, 1 << 20);
      std::size_t total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        stream->Write(views[i]);
        total += views[i].size();
      }
      stream->Consume(total);
      if (stream->read_finished()) {
        stream->CloseSend();
        co_return;
      }
    }
  };
  auto server = std::make_shared<InboundServer>([server_ctx] { return server_ctx; }, sockets_,
                                                std::make_shared<AllowAllAuthorizer>(), stats_.get(),
                                                options);
  auto listener = net::Listener::Start(*workers_, *sockets_, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                       {}, [server](tcp::socket s) { server->Serve(std::move(s)); });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  outbound_listeners_.push_back(*listener);
  auto via = StartOutbound(app_addr_, mesh_->Id("default", "server"), nullptr, std::nullopt,
                           (*listener)->local_address().port());
  // Twice: over a new pooled connection, then over the warm one.
  for (int round = 0; round < 2; ++round) {
    before_answer->store(SIZE_MAX);
    AppResult r = RunApp(via, kHello, 0, false);
    EXPECT_EQ(r.error, "") << "round " << round;
    EXPECT_EQ(r.reply, kHello) << "round " << round;
    EXPECT_EQ(before_answer->load(), kHello.size()) << "round " << round;
  }
  // Early bytes are counted once, as every other copied byte: both ways.
  EXPECT_EQ(stats_->Snapshot().bytes_downstream_to_upstream, 2 * kHello.size());
  EXPECT_EQ(stats_->Snapshot().bytes_upstream_to_downstream, 2 * kHello.size());
}

TEST_F(HboneIntegrationTest, EarlyDataIsDeliveredInOrderWhenTheUpstreamConnectIsSlow) {
  // An app server with a full accept queue (backlog 0, one connection
  // waiting): the server's upstream connect hangs (the SYN is dropped and
  // retransmitted after ~1 s), so early data queues at the HBONE server. The
  // queue frees after 300 ms; then everything must reach the app in order.
  asio::ip::tcp::acceptor slow(app_io_);
  slow.open(tcp::v4());
  slow.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  slow.listen(0);
  tcp::socket filler(app_io_);
  filler.connect(slow.local_endpoint());
  const net::SocketAddress slow_addr(net::IpAddress::Loopback4(), slow.local_endpoint().port());
  asio::co_spawn(app_io_, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(app_io_, std::chrono::milliseconds(300));
    asio::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    tcp::socket first = co_await slow.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    first.close(ec);
    tcp::socket s = co_await slow.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await AppServe(std::move(s));
  }, asio::detached);
  auto via = StartOutbound(slow_addr, mesh_->Id("default", "server"));
  const auto start = std::chrono::steady_clock::now();
  constexpr std::uint64_t kBytes = 300 * 1024;  // more than the early data limit
  AppResult r = RunApp(via, "S", kBytes, false);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.reply, ShaOfGenerated(kBytes) + " " + std::to_string(kBytes));
  EXPECT_EQ(stats_->Snapshot().inbound_status_200, 1u);
}

TEST_F(HboneIntegrationTest, EarlyDataOfARefusedConnectNeverReachesTheDestination) {
  // Denied by policy (401): the app's early bytes went out with the CONNECT,
  // the server dropped them without connecting upstream, and the app's
  // connection is reset with nothing written to it.
  auto intruder = *tls::TlsContext::Client(*mesh_->Issue("default", "intruder"));
  auto denied_via = StartOutbound(app_addr_, mesh_->Id("default", "server"), intruder);
  AppResult denied = RunApp(denied_via, "W", 4096, false);
  EXPECT_NE(denied.error, "");
  EXPECT_EQ(denied.reply, "");
  EXPECT_EQ(stats_->Snapshot().inbound_status_401, 1u);
  // Unreachable upstream (503): the same.
  net::DefaultSocketFactory f;
  auto tmp = f.NewListener(net::SocketAddress(net::IpAddress::Loopback4(), 0), {});
  const auto closed_port = net::LocalAddress(tmp->get())->port();
  tmp->reset();
  auto unreachable_via = StartOutbound(net::SocketAddress(net::IpAddress::Loopback4(), closed_port),
                                       mesh_->Id("default", "server"));
  AppResult unreachable = RunApp(unreachable_via, "W", 4096, false);
  EXPECT_NE(unreachable.error, "");
  EXPECT_EQ(unreachable.reply, "");
  EXPECT_EQ(stats_->Snapshot().inbound_status_503, 1u);
  // Nothing reached an app, nothing was counted as copied, nothing opened.
  EXPECT_EQ(app_accepts_.load(), 0);
  const StatsSnapshot s = stats_->Snapshot();
  EXPECT_EQ(s.inbound_status_200, 0u);
  EXPECT_EQ(s.streams_opened, 0u);
  EXPECT_EQ(s.stream_failures, 2u);
  EXPECT_EQ(s.bytes_downstream_to_upstream, 0u);
  EXPECT_EQ(s.bytes_upstream_to_downstream, 0u);
  EXPECT_EQ(s.app_connections, 0u);
}

TEST_F(HboneIntegrationTest, MebibytesWrittenBeforeTheAnswerArriveByteExact) {
  // Pool level: the whole request (6 MiB, more than the 4 MiB stream window)
  // is queued right after Submit, before the answer; flow control holds the
  // rest back until the server has connected and drains its buffer.
  constexpr std::uint64_t kBytes = 6 * 1024 * 1024;
  PoolKey key{mesh_->Id("default", "client"), net::IpAddress::Loopback4(), hbone_listener_->local_address(),
              {mesh_->Id("default", "server")}};
  DialParams dial{client_ctx_, sockets_};
  std::string reply = OnLoop<std::string>(*workers_, 0, [&]() -> asio::awaitable<std::string> {
    Pool& pool = pools_->At(0);
    auto stream = co_await pool.Submit(key, dial, ConnectTo(app_addr_));
    if (!stream.ok()) co_return "submit: " + stream.error().ToString();
    std::vector<std::uint8_t> buf(kBytes + 1);
    buf[0] = 'S';
    Fill(buf.data() + 1, kBytes, 0);
    (*stream)->Write(buf);
    (*stream)->CloseSend();
    Status answered = co_await pool.AwaitConnected(key, *stream, /*final_attempt=*/true);
    if (!answered.ok()) co_return "answer: " + answered.error().ToString();
    std::string out;
    std::array<std::span<const std::uint8_t>, 16> views;
    while (!(*stream)->read_finished() && !(*stream)->reset()) {
      co_await (*stream)->WaitReadable();
      const std::size_t n = (*stream)->Gather(views, 1 << 20);
      std::size_t total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        out.append(reinterpret_cast<const char*>(views[i].data()), views[i].size());
        total += views[i].size();
      }
      (*stream)->Consume(total);
    }
    co_return out;
  });
  EXPECT_EQ(reply, ShaOfGenerated(kBytes) + " " + std::to_string(kBytes));
}


// A client that connects and never starts the TLS handshake is cut off at the
// server's handshake deadline (net::WithTimeout), not held for ever.
TEST_F(HboneIntegrationTest, InboundHandshakeDeadlineClosesASilentClient) {
  auto server_ctx = *tls::TlsContext::Server(*mesh_->Issue("default", "server"));
  InboundServer::Options options;
  options.handshake_timeout = std::chrono::milliseconds(200);
  auto server = std::make_shared<InboundServer>([server_ctx] { return server_ctx; }, sockets_,
                                                std::make_shared<TestAuthorizer>(), stats_.get(), options);
  auto listener = net::Listener::Start(*workers_, *sockets_, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                       {}, [server](tcp::socket s) { server->Serve(std::move(s)); });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  const auto failures_before = stats_->Snapshot().tls_handshake_failures;
  asio::io_context io;
  tcp::socket client(io);
  const auto addr = (*listener)->local_address();
  client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), addr.port()));
  const auto start = std::chrono::steady_clock::now();
  std::array<char, 16> buf;
  asio::error_code ec;
  (void)client.read_some(asio::buffer(buf), ec);  // blocks until the server closes
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));  // the default deadline is 10 s
  EXPECT_TRUE(server->WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2)));
  EXPECT_EQ(stats_->Snapshot().tls_handshake_failures, failures_before + 1);
  (*listener)->Close();
}

// A server whose TLS context source has no certificate (none fetched yet, or
// revoked) closes each connection with a counted failure instead of
// dereferencing the missing context, and keeps serving.
TEST_F(HboneIntegrationTest, NoServerCertificateClosesTheConnection) {
  auto server = std::make_shared<InboundServer>([] { return std::shared_ptr<const tls::TlsContext>(); }, sockets_,
                                                std::make_shared<TestAuthorizer>(), stats_.get(),
                                                InboundServer::Options{});
  auto listener = net::Listener::Start(*workers_, *sockets_, net::SocketAddress(net::IpAddress::Loopback4(), 0),
                                       {}, [server](tcp::socket s) { server->Serve(std::move(s)); });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  const auto failures_before = stats_->Snapshot().tls_handshake_failures;
  const auto addr = (*listener)->local_address();
  for (int i = 0; i < 2; ++i) {  // the server is still there for the second
    asio::io_context io;
    tcp::socket client(io);
    client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), addr.port()));
    std::array<char, 16> buf;
    asio::error_code ec;
    (void)client.read_some(asio::buffer(buf), ec);  // blocks until the server closes
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  }
  EXPECT_TRUE(server->WaitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2)));
  EXPECT_EQ(stats_->Snapshot().tls_handshake_failures, failures_before + 2);
  (*listener)->Close();
}

// A server that accepts but never answers the ClientHello: the pool's dial
// fails with kTimeout at its handshake deadline.
TEST_F(HboneIntegrationTest, PoolHandshakeDeadlineFailsTheDial) {
  tcp::acceptor silent(app_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const net::SocketAddress dst(net::IpAddress::Loopback4(), silent.local_endpoint().port());
  Pool::Options options;
  options.handshake_timeout = std::chrono::milliseconds(200);
  std::unique_ptr<Pool> pool;
  PoolKey key{mesh_->Id("default", "client"), net::IpAddress::Loopback4(), dst, {mesh_->Id("default", "server")}};
  const auto start = std::chrono::steady_clock::now();
  const std::string error = OnLoop<std::string>(*workers_, 1, [&]() -> asio::awaitable<std::string> {
    pool = std::make_unique<Pool>(workers_->loop(1).get_executor(), options, stats_.get());
    auto s = co_await pool->Connect(key, DialParams{client_ctx_, sockets_}, ConnectTo(app_addr_));
    std::string out = s.ok() ? std::string("connected") : s.error().ToString();
    if (!s.ok()) {
      EXPECT_EQ(s.error().code(), ErrorCode::kTimeout);
    }
    pool.reset();  // destroyed on its loop
    co_return out;
  });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_NE(error.find("TLS handshake: timed out after 200 ms"), std::string::npos) << error;
  EXPECT_LT(waited, std::chrono::seconds(5));
}

}  // namespace
}  // namespace ambit::hbone
