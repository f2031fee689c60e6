// The copy loop (src/hbone/copy.*): bytes per second through the production
// passthrough CopyBidirectional(socket, socket), as ztunnel runs it for
// plain-TCP destinations, between two loopback TCP connections:
//
//   writer (this thread, blocking W-byte writes) -> [a  copy  b] -> reader thread
//
// The copy runs on a worker loop (one thread), like in ztunnel. Each timed
// iteration writes one W-byte chunk (1 KiB or 64 KiB); the timing also covers
// draining the last bytes to the reader. Bytes/s = W * iterations / time.
// On 2 shared cores, the writer, reader and copy threads compete: compare
// runs on the same machine, not with other machines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <benchmark/benchmark.h>

#include <atomic>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "core/unique_fd.h"
#include "hbone/copy.h"
#include "net/worker_pool.h"

namespace ambit {
namespace {

// A connected loopback TCP pair (blocking fds), or {-1, -1} on failure.
std::pair<UniqueFd, UniqueFd> TcpPair() {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return {};
  }
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!client || ::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return {};
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server) return {};
  const int one = 1;
  ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return {std::move(client), std::move(server)};
}

bool WriteAll(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

void BM_CopyPassthrough(benchmark::State& st) {
  const std::size_t chunk = static_cast<std::size_t>(st.range(0));
  auto [writer, a_fd] = TcpPair();
  auto [b_fd, reader] = TcpPair();
  if (!writer || !reader) {
    st.SkipWithError("loopback TCP setup failed");
    return;
  }
  net::WorkerPool workers(1);
  asio::ip::tcp::socket a(workers.loop(0));
  asio::ip::tcp::socket b(workers.loop(0));
  a.assign(asio::ip::tcp::v4(), a_fd.release());
  b.assign(asio::ip::tcp::v4(), b_fd.release());
  std::promise<hbone::CopyResult> copied;
  asio::co_spawn(workers.loop(0), [&]() -> asio::awaitable<void> {
    copied.set_value(co_await hbone::CopyBidirectional(a, b));
  }, asio::detached);
  workers.Start();

  // The reader drains b's peer until EOF, then half-closes its side so the
  // copy's other direction ends too.
  std::atomic<std::uint64_t> received{0};
  std::thread drain([fd = reader.get(), &received] {
    std::vector<char> buf(256 * 1024);
    for (;;) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) break;
      received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_release);
    }
    ::shutdown(fd, SHUT_WR);
  });

  const std::vector<char> data(chunk, 'x');
  std::uint64_t sent = 0;
  benchmark::IterationCount done = 0;
  bool ok = true;
  for (auto _ : st) {
    if (!WriteAll(writer.get(), data.data(), chunk)) {
      ok = false;
      break;
    }
    sent += chunk;
    if (++done == st.max_iterations) {
      // Last iteration: the time must include delivering everything.
      while (received.load(std::memory_order_acquire) < sent) std::this_thread::yield();
    }
  }
  ::shutdown(writer.get(), SHUT_WR);
  drain.join();
  const hbone::CopyResult result = copied.get_future().get();
  workers.Stop();
  if (!ok || result.socket_to_peer != sent || result.aborted) {
    st.SkipWithError("copy lost or aborted bytes");
    return;
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(sent));
}
BENCHMARK(BM_CopyPassthrough)->ArgName("write_bytes")->Arg(1024)->Arg(64 * 1024)->UseRealTime();

}  // namespace
}  // namespace ambit
