#include "waypoint/stream_copy.h"

#include <asio/this_coro.hpp>

#include <array>
#include <span>

#include "net/task_group.h"

namespace ambit::waypoint {
namespace {

// Most bytes moved per round: bounds how far past the send buffer bound one
// Write can queue.
constexpr std::size_t kMaxRoundBytes = 256 * 1024;

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
  // Both directions refer to this frame: the child (up to down) is joined
  // before it ends; its join state is inline here (net::ChildTask).
  net::ChildTask child;
  asio::awaitable<void> up_to_down =
      Pump(upstream, downstream, result.peer_to_socket, result.aborted, counters.peer_to_socket);
  {
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    child.Spawn(executor, std::move(up_to_down));
  }
  // Ends the child: it waits on both streams.
  auto stop = [&downstream, &upstream, &result] {
    result.aborted = true;
    downstream.Reset(h2::ErrorCodeH2::kCancel);
    upstream.Reset(h2::ErrorCodeH2::kCancel);
  };
  asio::awaitable<void> down_to_up =
      Pump(downstream, upstream, result.socket_to_peer, result.aborted, counters.socket_to_peer);
  asio::awaitable<void> joined = child.Join(std::move(down_to_up), stop);
  co_await std::move(joined);
  co_return result;
}

}  // namespace ambit::waypoint
