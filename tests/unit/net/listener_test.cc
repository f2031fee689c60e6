#include "net/listener.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/connect.h"
#include "net/signal.h"

namespace ambit::net {
namespace {

using asio::ip::tcp;

TEST(Listener, SpreadsConnectionsAcrossLoopsAndEchoes) {
  WorkerPool pool(2);
  DefaultSocketFactory factory;
  std::mutex mu;
  std::set<int> loops_seen;
  auto listener = Listener::Start(
      pool, factory, SocketAddress(IpAddress::Loopback4(), 0), {},
      [&](tcp::socket socket) {
        {
          std::lock_guard lock(mu);
          loops_seen.insert(WorkerPool::CurrentIndex());
        }
        auto executor = socket.get_executor();
        asio::co_spawn(
            executor,
            [s = std::move(socket)]() mutable -> asio::awaitable<void> {
              char buf[64];
              asio::error_code ec;
              std::size_t n = co_await s.async_read_some(asio::buffer(buf),
                                                         asio::redirect_error(asio::use_awaitable, ec));
              if (!ec) co_await asio::async_write(s, asio::buffer(buf, n),
                                                  asio::redirect_error(asio::use_awaitable, ec));
            },
            asio::detached);
      });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  pool.Start();
  const SocketAddress addr = (*listener)->local_address();

  for (int i = 0; i < 4; ++i) {
    std::promise<std::string> reply;
    asio::co_spawn(
        pool.loop(0),
        [&]() -> asio::awaitable<void> {
          auto s = co_await Connect(factory, addr, {});
          if (!s.ok()) {
            reply.set_value("connect failed: " + s.error().ToString());
            co_return;
          }
          asio::error_code ec;
          co_await asio::async_write(*s, asio::buffer("ping", 4), asio::redirect_error(asio::use_awaitable, ec));
          char buf[4];
          co_await asio::async_read(*s, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
          reply.set_value(ec ? ec.message() : std::string(buf, 4));
        },
        asio::detached);
    EXPECT_EQ(reply.get_future().get(), "ping");
  }
  (*listener)->Close();
  std::lock_guard lock(mu);
  EXPECT_EQ(loops_seen, (std::set<int>{0, 1}));
}

TEST(Listener, AcceptedConnectionsHaveNoDelayAndKeepaliveFromTheListeningSocket) {
  // Set once on the listening socket, not per accept: the kernel copies them.
  WorkerPool pool(1);
  DefaultSocketFactory factory;
  Listener::Options options;
  options.keepalive.time = std::chrono::seconds(77);
  options.keepalive.interval = std::chrono::seconds(33);
  options.keepalive.probes = 4;
  std::promise<std::vector<int>> seen;
  auto listener = Listener::Start(pool, factory, SocketAddress(IpAddress::Loopback4(), 0), options,
                                  [&](tcp::socket socket) {
                                    auto get = [&](int level, int name) {
                                      int v = -1;
                                      socklen_t len = sizeof(v);
                                      ::getsockopt(socket.native_handle(), level, name, &v, &len);
                                      return v;
                                    };
                                    seen.set_value({get(IPPROTO_TCP, TCP_NODELAY), get(SOL_SOCKET, SO_KEEPALIVE),
                                                    get(IPPROTO_TCP, TCP_KEEPIDLE),
                                                    get(IPPROTO_TCP, TCP_KEEPINTVL),
                                                    get(IPPROTO_TCP, TCP_KEEPCNT)});
                                  });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  pool.Start();
  std::promise<void> connected;
  std::optional<tcp::socket> client;
  asio::co_spawn(pool.loop(0), [&]() -> asio::awaitable<void> {
    auto s = co_await Connect(factory, (*listener)->local_address(), {});
    if (s.ok()) client.emplace(std::move(*s));
    connected.set_value();
  }, asio::detached);
  connected.get_future().wait();
  auto values = seen.get_future();
  ASSERT_EQ(values.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(values.get(), (std::vector<int>{1, 1, 77, 33, 4}));
  (*listener)->Close();
  pool.Stop();
}

TEST(WorkerPool, LeastLoadedIndexPrefersTheIdleLoopAndAlternatesAmongEquals) {
  WorkerPool pool(3);
  // Equal loads: the round-robin order.
  EXPECT_EQ(pool.LeastLoadedIndex(), 0u);
  EXPECT_EQ(pool.LeastLoadedIndex(), 1u);
  EXPECT_EQ(pool.LeastLoadedIndex(), 2u);
  pool.AddLoad(0, +1);
  pool.AddLoad(1, +1);
  // Round robin would say 0 twice in a row (next is 3 % 3 = 0, then 1), but loop 2 is idle.
  EXPECT_EQ(pool.LeastLoadedIndex(), 2u);
  EXPECT_EQ(pool.LeastLoadedIndex(), 2u);
  pool.AddLoad(2, +2);
  pool.AddLoad(1, -1);
  EXPECT_EQ(pool.Load(1), 0);
  EXPECT_EQ(pool.LeastLoadedIndex(), 1u);
}

// A handler left pending on one loop may own an I/O object of another loop
// (Listener posts each accepted socket, with itself, to the loop that will
// serve it). The pool destroys every pending handler while all loops exist:
// here loop 1's handler owns a timer of loop 0 and loop 0's one a timer of
// loop 1. Destroying the loops one by one instead left ~steady_timer running
// on a freed io_context (heap-use-after-free, caught by the ASan+UBSan tree of
// make test; hbone_integration_test aborted with heap corruption now and then).
TEST(WorkerPool, PendingHandlersOwningAnotherLoopsObjectsGoBeforeAnyLoop) {
  struct Owner {
    Owner(asio::io_context& loop, std::shared_ptr<std::atomic<int>> count)
        : timer(loop, std::chrono::hours(1)), destroyed(std::move(count)) {}
    ~Owner() {
      timer.cancel();
      destroyed->fetch_add(1);
    }
    asio::steady_timer timer;
    std::shared_ptr<std::atomic<int>> destroyed;
  };
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  {
    WorkerPool pool(2);
    auto on_loop0 = std::make_shared<Owner>(pool.loop(0), destroyed);
    on_loop0->timer.async_wait([keep = on_loop0](asio::error_code) {});
    pool.Post(1, [o = std::move(on_loop0)] {});
    pool.Post(0, [o = std::make_shared<Owner>(pool.loop(1), destroyed)] {});
    // Never started: both handlers are still pending when the pool goes.
  }
  EXPECT_EQ(destroyed->load(), 2);
}

TEST(Listener, LeastLoadedPlacementSkipsTheLoopThatIsAlreadyBusy) {
  WorkerPool pool(2);
  DefaultSocketFactory factory;
  std::mutex mu;
  std::vector<int> loops;
  Listener::Options options;
  options.placement = Listener::Placement::kLeastLoaded;
  std::vector<tcp::socket> kept;
  auto listener = Listener::Start(pool, factory, SocketAddress(IpAddress::Loopback4(), 0), options,
                                  [&](tcp::socket socket) {
                                    const int index = WorkerPool::CurrentIndex();
                                    pool.AddLoad(static_cast<std::size_t>(index), +1);  // held open
                                    std::lock_guard lock(mu);
                                    loops.push_back(index);
                                    kept.push_back(std::move(socket));
                                  });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  pool.Start();
  asio::io_context client_io;  // blocking client sockets, off the pool's loops
  auto connect_and_wait = [&](std::size_t want) {
    tcp::socket client(client_io);
    client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), (*listener)->local_address().port()));
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu);
        if (loops.size() == want) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return client;
  };
  auto a = connect_and_wait(1);
  pool.NextIndex();  // another listener took a turn: round robin alone would now repeat a's loop
  auto b = connect_and_wait(2);
  (*listener)->Close();
  pool.Stop();  // the accepted sockets are then safe to drop here
  ASSERT_EQ(loops.size(), 2u);
  EXPECT_NE(loops[0], loops[1]);
  EXPECT_EQ(pool.Load(0), 1);
  EXPECT_EQ(pool.Load(1), 1);
  kept.clear();
}

// Connects (blocking, off the pool) to 127.0.0.1:|port|; true when accepted
// by the kernel (the listener's handler may not have run yet).
bool ConnectBlocking(asio::io_context& io, std::uint16_t port, std::vector<tcp::socket>& keep) {
  tcp::socket client(io);
  asio::error_code ec;
  client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return false;
  keep.push_back(std::move(client));
  return true;
}

TEST(Listener, PerWorkerSocketsAcceptAndServeOnEachLoopWithoutHandOff) {
  WorkerPool pool(2);
  DefaultSocketFactory factory;
  Listener::Options options;
  options.per_worker = true;
  options.placement = Listener::Placement::kAcceptingLoop;
  std::mutex mu;
  std::vector<int> loops;
  std::vector<tcp::socket> served;
  auto listener = Listener::Start(pool, factory, SocketAddress(IpAddress::Loopback4(), 0), options,
                                  [&](tcp::socket socket) {
                                    std::lock_guard lock(mu);
                                    loops.push_back(WorkerPool::CurrentIndex());
                                    served.push_back(std::move(socket));
                                  });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  EXPECT_EQ((*listener)->socket_count(), 2u);
  // Neither loop is asked to place anything: no load is taken.
  pool.Start();
  asio::io_context client_io;
  std::vector<tcp::socket> clients;
  // The kernel picks a socket of the group by a hash of the 4-tuple: 32
  // connections from distinct source ports all on one loop has odds 2^-31.
  constexpr std::size_t kConnections = 32;
  for (std::size_t i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(ConnectBlocking(client_io, (*listener)->local_address().port(), clients));
  }
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu);
      if (loops.size() == kConnections) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  (*listener)->Close();
  pool.Stop();
  ASSERT_EQ(loops.size(), kConnections);
  EXPECT_EQ(std::set<int>(loops.begin(), loops.end()), (std::set<int>{0, 1}));
  EXPECT_EQ(pool.Load(0), 0);
  EXPECT_EQ(pool.Load(1), 0);
  served.clear();
}

TEST(Listener, PerWorkerSocketsShareOnePortAndAllCloseOnClose) {
  WorkerPool pool(3);
  DefaultSocketFactory factory;
  Listener::Options options;
  options.per_worker = true;
  std::atomic<int> accepted{0};
  auto listener = Listener::Start(pool, factory, SocketAddress(IpAddress::Loopback4(), 0), options,
                                  [&](tcp::socket) { accepted.fetch_add(1); });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  EXPECT_EQ((*listener)->socket_count(), 3u);
  pool.Start();
  asio::io_context client_io;
  std::vector<tcp::socket> clients;
  ASSERT_TRUE(ConnectBlocking(client_io, (*listener)->local_address().port(), clients));
  (*listener)->Close();
  // Every socket of the group is closed on its loop: the port refuses.
  bool refused = false;
  for (int i = 0; i < 500 && !refused; ++i) {
    std::vector<tcp::socket> more;
    refused = !ConnectBlocking(client_io, (*listener)->local_address().port(), more);
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(refused);
  pool.Stop();
}

TEST(Listener, PerWorkerNeedsReusePort) {
  WorkerPool pool(2);
  DefaultSocketFactory factory;
  Listener::Options options;
  options.per_worker = true;
  options.listen.reuse_port = false;
  auto listener = Listener::Start(pool, factory, SocketAddress(IpAddress::Loopback4(), 0), options,
                                  [](tcp::socket) {});
  ASSERT_FALSE(listener.ok());
  EXPECT_NE(listener.error().ToString().find("SO_REUSEPORT"), std::string::npos);
}

TEST(Listener, PerWorkerLeastLoadedMovesAConnectionOnlyToALessLoadedLoop) {
  WorkerPool pool(2);
  DefaultSocketFactory factory;
  std::mutex mu;
  std::vector<int> loops;
  Listener::Options options;
  options.per_worker = true;
  options.placement = Listener::Placement::kLeastLoaded;
  std::vector<tcp::socket> kept;
  auto listener = Listener::Start(pool, factory, SocketAddress(IpAddress::Loopback4(), 0), options,
                                  [&](tcp::socket socket) {
                                    const int index = WorkerPool::CurrentIndex();
                                    pool.AddLoad(static_cast<std::size_t>(index), +1);  // held open
                                    std::lock_guard lock(mu);
                                    loops.push_back(index);
                                    // The socket belongs to the loop it is served on.
                                    if (&socket.get_executor().context() != &pool.loop(index)) loops.push_back(-1);
                                    kept.push_back(std::move(socket));
                                  });
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  pool.Start();
  asio::io_context client_io;
  std::vector<tcp::socket> clients;
  // Whichever socket of the group the kernel picks, each next connection
  // goes to a loop that holds no more than the others.
  for (std::size_t n = 1; n <= 6; ++n) {
    ASSERT_TRUE(ConnectBlocking(client_io, (*listener)->local_address().port(), clients));
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu);
        if (loops.size() >= n) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  (*listener)->Close();
  pool.Stop();
  ASSERT_EQ(loops.size(), 6u);
  EXPECT_EQ(std::count(loops.begin(), loops.end(), 0), 3);
  EXPECT_EQ(std::count(loops.begin(), loops.end(), 1), 3);
  kept.clear();
}

TEST(Connect, RefusedPortIsUnavailable) {
  WorkerPool pool(1);
  DefaultSocketFactory factory;
  // Find a free port by binding and closing.
  auto fd = factory.NewListener(SocketAddress(IpAddress::Loopback4(), 0), {});
  ASSERT_TRUE(fd.ok());
  const SocketAddress addr = *LocalAddress(fd->get());
  fd->reset();
  pool.Start();
  std::promise<Result<tcp::socket>> result;
  asio::co_spawn(
      pool.loop(0),
      [&]() -> asio::awaitable<void> { result.set_value(co_await Connect(factory, addr, {})); },
      asio::detached);
  auto r = result.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().ToString().find(addr.ToString()), std::string::npos);
}

TEST(Connect, SpoofedSourceAddressIsWhatTheServerSees) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: IP_TRANSPARENT needs CAP_NET_ADMIN";
  WorkerPool pool(1);
  DefaultSocketFactory factory;
  auto fd = factory.NewListener(SocketAddress(IpAddress::Loopback4(), 0), {});
  ASSERT_TRUE(fd.ok());
  const SocketAddress addr = *LocalAddress(fd->get());
  pool.Start();
  ConnectOptions options;
  options.source = *IpAddress::Parse("127.0.0.77");  // not the address the route would pick
  std::promise<Result<tcp::socket>> result;
  asio::co_spawn(
      pool.loop(0),
      [&]() -> asio::awaitable<void> { result.set_value(co_await Connect(factory, addr, options)); },
      asio::detached);
  auto r = result.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  UniqueFd accepted(::accept(fd->get(), nullptr, nullptr));
  ASSERT_TRUE(accepted.valid());
  EXPECT_EQ(PeerAddress(accepted.get())->ip().ToString(), "127.0.0.77");
  pool.Stop();
}

TEST(Signal, NotifyBeforeWaitIsNotLostAndCloseReleasesWaiter) {
  asio::io_context ctx;
  Signal signal(ctx.get_executor());
  int woke = 0;
  signal.Notify();
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        co_await signal.Wait();  // already notified
        ++woke;
        co_await signal.Wait();  // until Close()
        ++woke;
      },
      asio::detached);
  ctx.run_one();
  ctx.poll();
  EXPECT_EQ(woke, 1);
  signal.Close();
  ctx.poll();
  EXPECT_EQ(woke, 2);
}

}  // namespace
}  // namespace ambit::net
