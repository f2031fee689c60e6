#include "h2/chunk_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace ambit::h2 {
namespace {

std::string Collect(const ChunkQueue& q, std::size_t offset, std::size_t max) {
  std::vector<std::span<const std::uint8_t>> views(64);
  const std::size_t n = q.Gather(offset, max, views);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(reinterpret_cast<const char*>(views[i].data()), views[i].size());
  return out;
}

TEST(ChunkQueue, AppendGatherConsumeAcrossBlocks) {
  ChunkQueue q;
  std::string data(ChunkQueue::kBlockBytes * 2 + 123, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  q.Append({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
  EXPECT_EQ(q.size(), data.size());
  EXPECT_EQ(Collect(q, 0, data.size()), data);
  EXPECT_EQ(Collect(q, 70000, 100), data.substr(70000, 100));
  q.Consume(ChunkQueue::kBlockBytes + 5);
  EXPECT_EQ(Collect(q, 0, data.size()), data.substr(ChunkQueue::kBlockBytes + 5));
  q.Clear();
  EXPECT_TRUE(q.empty());
}

TEST(ChunkQueue, PreparedSpaceSurvivesConsumingFullBlocksBeforeIt) {
  ChunkQueue q;
  std::string first(ChunkQueue::kBlockBytes, 'a');
  q.Append({reinterpret_cast<const std::uint8_t*>(first.data()), first.size()});
  auto space = q.Prepare(10);  // a second block
  ASSERT_GE(space.size(), 3u);
  std::memcpy(space.data(), "xyz", 3);
  q.Commit(3);
  q.Consume(ChunkQueue::kBlockBytes);
  EXPECT_EQ(Collect(q, 0, 10), "xyz");
  EXPECT_EQ(q.block_count(), 1u);
}

TEST(ChunkQueue, EmptyQueueHoldsNoBlock) {
  ChunkQueue q;
  EXPECT_EQ(q.block_count(), 0u);
  q.Append({reinterpret_cast<const std::uint8_t*>("abc"), 3});
  EXPECT_EQ(q.block_count(), 1u);
  q.Consume(2);
  EXPECT_EQ(q.block_count(), 1u);
  q.Consume(1);  // drained: the last block goes back too
  EXPECT_EQ(q.block_count(), 0u);
}

TEST(ChunkQueue, UnusedPrepareIsGivenBackByCommitZero) {
  ChunkQueue q;
  (void)q.Prepare(1024);
  EXPECT_EQ(q.block_count(), 1u);
  q.Commit(0);
  EXPECT_EQ(q.block_count(), 0u);
  // With bytes queued, Commit(0) keeps what holds them.
  q.Append({reinterpret_cast<const std::uint8_t*>("abc"), 3});
  (void)q.Prepare(1024);
  q.Commit(0);
  EXPECT_EQ(q.block_count(), 1u);
  EXPECT_EQ(Collect(q, 0, 10), "abc");
}

TEST(ChunkQueue, FreeListIsBoundedAndReleasable) {
  ChunkQueue::ReleaseCachedBlocks(0);
  {
    ChunkQueue q;
    std::string big(ChunkQueue::kBlockBytes * (ChunkQueue::kMaxCachedBlocks + 8), 'b');
    q.Append({reinterpret_cast<const std::uint8_t*>(big.data()), big.size()});
    EXPECT_EQ(q.block_count(), ChunkQueue::kMaxCachedBlocks + 8);
  }
  EXPECT_EQ(ChunkQueue::CachedBlocks(), ChunkQueue::kMaxCachedBlocks);
  EXPECT_EQ(ChunkQueue::ReleaseCachedBlocks(4), ChunkQueue::kMaxCachedBlocks - 4);
  EXPECT_EQ(ChunkQueue::CachedBlocks(), 4u);
  ChunkQueue q;
  (void)q.Prepare(1);  // reuses a cached block
  EXPECT_EQ(ChunkQueue::CachedBlocks(), 3u);
}

TEST(ChunkQueue, PrepareIsBoundedByMaxAndBlock) {
  ChunkQueue q;
  EXPECT_EQ(q.Prepare(100).size(), 100u);
  EXPECT_EQ(q.Prepare(1 << 30).size(), ChunkQueue::kBlockBytes);
  EXPECT_EQ(q.Prepare(0).size(), 1u);
}

TEST(ChunkQueue, BlocksUnusedForAWholePeriodAreReleased) {
  ChunkQueue::ReleaseCachedBlocks(0);
  {
    ChunkQueue q;  // a burst: 10 blocks, then all cached
    std::string big(ChunkQueue::kBlockBytes * 10, 'c');
    q.Append({reinterpret_cast<const std::uint8_t*>(big.data()), big.size()});
  }
  ASSERT_EQ(ChunkQueue::CachedBlocks(), 10u);
  EXPECT_EQ(ChunkQueue::ReleaseUnusedCachedBlocks(), 0u);  // starts the period
  {
    ChunkQueue q;  // steady use of 3 blocks during the period
    std::string some(ChunkQueue::kBlockBytes * 3, 'd');
    q.Append({reinterpret_cast<const std::uint8_t*>(some.data()), some.size()});
  }
  EXPECT_EQ(ChunkQueue::ReleaseUnusedCachedBlocks(), 7u);  // the 7 nobody took
  EXPECT_EQ(ChunkQueue::CachedBlocks(), 3u);
  EXPECT_EQ(ChunkQueue::ReleaseUnusedCachedBlocks(), 3u);  // idle for a whole period
  EXPECT_EQ(ChunkQueue::CachedBlocks(), 0u);
}

}  // namespace
}  // namespace ambit::h2
