#include "h2/chunk_queue.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace ambit::h2 {
namespace {

// Per-thread free list; bounded so a burst does not pin memory forever.
constexpr std::size_t kMaxFreeBlocks = 256;  // 16 MiB per thread at most

struct FreeList {
  std::vector<std::uint8_t*> blocks;
  ~FreeList() {
    for (auto* b : blocks) delete[] b;
  }
};

FreeList& Free() {
  thread_local FreeList list;
  return list;
}

std::uint8_t* AllocBlock() {
  auto& list = Free().blocks;
  if (!list.empty()) {
    std::uint8_t* b = list.back();
    list.pop_back();
    return b;
  }
  return new std::uint8_t[ChunkQueue::kBlockBytes];
}

void FreeBlock(std::uint8_t* b) {
  auto& list = Free().blocks;
  if (list.size() < kMaxFreeBlocks) {
    list.push_back(b);
  } else {
    delete[] b;
  }
}

}  // namespace

ChunkQueue::~ChunkQueue() {
  for (auto& b : blocks_) FreeBlock(b.data);
}

std::span<std::uint8_t> ChunkQueue::Prepare(std::size_t max) {
  if (blocks_.empty() || blocks_.back().end == kBlockBytes) {
    blocks_.push_back(Block{AllocBlock(), 0, 0});
  }
  Block& tail = blocks_.back();
  const std::size_t room = std::min(kBlockBytes - tail.end, std::max<std::size_t>(max, 1));
  return {tail.data + tail.end, room};
}

void ChunkQueue::Commit(std::size_t n) {
  blocks_.back().end += n;
  size_ += n;
}

void ChunkQueue::Append(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    auto space = Prepare(bytes.size());
    std::memcpy(space.data(), bytes.data(), space.size());
    Commit(space.size());
    bytes = bytes.subspan(space.size());
  }
}

std::size_t ChunkQueue::Gather(std::size_t offset, std::size_t max_bytes,
                               std::span<std::span<const std::uint8_t>> out) const {
  std::size_t count = 0;
  for (const Block& b : blocks_) {
    if (count == out.size() || max_bytes == 0) break;
    std::size_t len = b.end - b.begin;
    if (offset >= len) {
      offset -= len;
      continue;
    }
    const std::size_t take = std::min(len - offset, max_bytes);
    out[count++] = {b.data + b.begin + offset, take};
    max_bytes -= take;
    offset = 0;
  }
  return count;
}

void ChunkQueue::Consume(std::size_t n) {
  size_ -= n;
  while (n > 0) {
    Block& front = blocks_.front();
    const std::size_t len = front.end - front.begin;
    // The tail block is kept even when emptied: a Prepare()d region in it
    // may still be the target of a pending socket read.
    if (n < len || (n == len && blocks_.size() == 1)) {
      front.begin += n;
      return;
    }
    n -= len;
    FreeBlock(front.data);
    blocks_.pop_front();
  }
}

}  // namespace ambit::h2
