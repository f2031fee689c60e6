#include "state/state_store.h"

#include <gtest/gtest.h>

#include <thread>

namespace ambit::state {
namespace {

std::shared_ptr<const WorkloadState> StateWithWorkloads(int n) {
  WorkloadState::Contents c;
  for (int i = 0; i < n; ++i) {
    auto w = std::make_shared<Workload>();
    w->uid = "w" + std::to_string(i);
    c.workloads[w->uid] = w;
  }
  return std::make_shared<const WorkloadState>(std::move(c));
}

TEST(StateStore, StartsEmptyAndPublishesSnapshots) {
  StateStore store;
  EXPECT_EQ(store.Snapshot()->workload_count(), 0u);
  StateReader reader(store);
  EXPECT_EQ(reader.Get().workload_count(), 0u);
  store.Publish(StateWithWorkloads(2));
  EXPECT_EQ(store.generation(), 1u);
  EXPECT_EQ(reader.Get().workload_count(), 2u);
}

TEST(StateStore, HeldSnapshotSurvivesLaterPublishes) {
  StateStore store;
  store.Publish(StateWithWorkloads(1));
  StateReader reader(store);
  std::shared_ptr<const WorkloadState> held = reader.Hold();
  store.Publish(StateWithWorkloads(3));
  EXPECT_EQ(held->workload_count(), 1u);
  EXPECT_EQ(reader.Get().workload_count(), 3u);
}

TEST(StateStore, ConcurrentReadersAlwaysSeeACompleteSnapshot) {
  StateStore store;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      StateReader reader(store);
      do {
        const WorkloadState& s = reader.Get();
        // Snapshots are built with n workloads named w0..w(n-1): all or nothing.
        size_t n = s.workload_count();
        if (n > 0) {
          ASSERT_NE(s.FindWorkloadByUid("w" + std::to_string(n - 1)), nullptr);
        }
        reads.fetch_add(1);
      } while (!stop.load());
    });
  }
  while (reads.load() == 0) std::this_thread::yield();
  for (int i = 1; i <= 200; ++i) store.Publish(StateWithWorkloads(i % 7));
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace ambit::state
