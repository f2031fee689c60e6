#include "waypoint/stream_copy.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <memory>
#include <span>

namespace ambit::waypoint {
namespace {

// Most bytes moved per round: bounds how far past the send buffer bound one
// Write can queue.
constexpr std::size_t kMaxRoundBytes = 256 * 1024;

// Wakes the waiter once both directions are done.
struct Join {
  explicit Join(const asio::any_io_executor& ex)
      : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  int running = 2;
  void Done() {
    if (--running == 0) timer.cancel();
  }
  asio::awaitable<void> Wait() {
    while (running > 0) {
      asio::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
};

// One direction: |from|'s received bytes are sent on |to|.
asio::awaitable<void> Pump(h2::Stream& from, h2::Stream& to, std::uint64_t& copied, bool& aborted,
                           hbone::Counter* counter) {
  std::array<std::span<const std::uint8_t>, 32> views;
  for (;;) {
    co_await from.WaitReadable();
    if (from.reset()) {
      aborted = true;
      to.Reset(h2::ErrorCodeH2::kCancel);
      break;
    }
    if (to.reset()) {
      aborted = true;
      from.Reset(h2::ErrorCodeH2::kCancel);
      break;
    }
    const std::size_t count = from.Gather(views, kMaxRoundBytes);
    if (count == 0) {
      if (from.read_finished()) {
        to.CloseSend();
        break;
      }
      continue;
    }
    co_await to.WaitWritable();
    if (to.reset() || to.closed()) {
      aborted = true;
      from.Reset(h2::ErrorCodeH2::kCancel);
      break;
    }
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      to.Write(views[i]);
      total += views[i].size();
    }
    from.Consume(total);
    copied += total;
    if (counter != nullptr) counter->Add(total);
  }
}

}  // namespace

asio::awaitable<hbone::CopyResult> CopyStreams(h2::Stream& downstream, h2::Stream& upstream,
                                               hbone::CopyCounters counters) {
  hbone::CopyResult result;
  auto executor = co_await asio::this_coro::executor;
  auto join = std::make_shared<Join>(executor);
  asio::co_spawn(executor, [&, join]() -> asio::awaitable<void> {
    co_await Pump(downstream, upstream, result.socket_to_peer, result.aborted,
                  counters.socket_to_peer);
    join->Done();
  }, asio::detached);
  asio::co_spawn(executor, [&, join]() -> asio::awaitable<void> {
    co_await Pump(upstream, downstream, result.peer_to_socket, result.aborted,
                  counters.peer_to_socket);
    join->Done();
  }, asio::detached);
  co_await join->Wait();
  co_return result;
}

}  // namespace ambit::waypoint
