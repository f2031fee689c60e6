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

TEST(ChunkQueue, PreparedSpaceSurvivesConsumingEverythingBeforeIt) {
  ChunkQueue q;
  q.Append({reinterpret_cast<const std::uint8_t*>("abc"), 3});
  auto space = q.Prepare(10);
  ASSERT_GE(space.size(), 3u);
  q.Consume(3);  // the tail block must not be recycled under the pending write
  std::memcpy(space.data(), "xyz", 3);
  q.Commit(3);
  EXPECT_EQ(Collect(q, 0, 10), "xyz");
}

TEST(ChunkQueue, PrepareIsBoundedByMaxAndBlock) {
  ChunkQueue q;
  EXPECT_EQ(q.Prepare(100).size(), 100u);
  EXPECT_EQ(q.Prepare(1 << 30).size(), ChunkQueue::kBlockBytes);
  EXPECT_EQ(q.Prepare(0).size(), 1u);
}

}  // namespace
}  // namespace ambit::h2
