#include "proxy/memory_trimmer.h"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "h2/chunk_queue.h"
#include "net/worker_pool.h"

namespace ambit::proxy {
namespace {

// Runs |fn| on worker 0 and waits for its result (posts run in order).
template <typename Fn>
auto OnWorker(net::WorkerPool& workers, Fn fn) {
  std::promise<decltype(fn())> done;
  auto result = done.get_future();
  workers.Post(0, [&] { done.set_value(fn()); });
  return result.get();
}

TEST(MemoryTrimmer, BlocksABurstLeftOnAWorkerGoBack) {
  asio::io_context service;  // not run: rounds are driven by TrimOnce
  net::WorkerPool workers(1);
  workers.Start();
  const std::size_t cached = OnWorker(workers, [] {
    h2::ChunkQueue::ReleaseCachedBlocks(0);
    h2::ChunkQueue q;  // a burst of 12 blocks, then idle
    std::string big(h2::ChunkQueue::kBlockBytes * 12, 'x');
    q.Append({reinterpret_cast<const std::uint8_t*>(big.data()), big.size()});
    q.Clear();
    return h2::ChunkQueue::CachedBlocks();
  });
  ASSERT_EQ(cached, 12u);
  MemoryTrimmer trimmer(service, workers, std::chrono::seconds(10));
  trimmer.TrimOnce();  // first round: the blocks have not been idle a whole period yet
  EXPECT_EQ(OnWorker(workers, [] { return h2::ChunkQueue::CachedBlocks(); }), 12u);
  trimmer.TrimOnce();  // idle for a whole period: released
  EXPECT_EQ(OnWorker(workers, [] { return h2::ChunkQueue::CachedBlocks(); }), 0u);
  workers.Stop();
}

}  // namespace
}  // namespace ambit::proxy
