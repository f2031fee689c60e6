#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "hbone/stats.h"
#include "net/worker_pool.h"
#include "proxy/config_dump.h"

namespace ambit::proxy {
namespace {

// Runs |f| on worker loop |index| and waits for it.
template <typename F>
void OnLoop(net::WorkerPool& pool, std::size_t index, F f) {
  std::promise<void> done;
  pool.Post(index, [&] {
    f();
    done.set_value();
  });
  done.get_future().get();
}

TEST(WorkersDumpTest, OneEntryPerLoopWithWhatThatLoopCounted) {
  net::WorkerPool pool(2);
  hbone::Stats stats(pool.size());
  pool.Start();
  OnLoop(pool, 0, [&] {
    hbone::StatsShard& s = stats.Local();
    s.app_connections.Inc();
    s.bytes_downstream_to_upstream.Add(100);
    s.bytes_upstream_to_downstream.Add(20);
  });
  OnLoop(pool, 1, [&] {
    hbone::StatsShard& s = stats.Local();
    s.app_connections.Add(3);
    s.bytes_upstream_to_downstream.Add(7);
  });
  stats.Local().app_connections.Inc();  // off the pool: shard 0, not a worker
  nlohmann::json out;
  DumpWorkers(stats, out);
  pool.Stop();
  ASSERT_TRUE(out.is_array());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["index"], 0);
  EXPECT_EQ(out[0]["connections"], 1);
  EXPECT_EQ(out[0]["bytes"], 120);
  EXPECT_EQ(out[1]["index"], 1);
  EXPECT_EQ(out[1]["connections"], 3);
  EXPECT_EQ(out[1]["bytes"], 7);
  EXPECT_EQ(stats.Snapshot().app_connections, 5u);  // the total still includes shard 0
}

}  // namespace
}  // namespace ambit::proxy
