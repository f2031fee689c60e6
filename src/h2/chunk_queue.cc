#include "h2/chunk_queue.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ambit::h2 {

struct ChunkQueue::Block {
  Block* next;
  std::size_t begin;  // first readable byte
  std::size_t end;    // one past the last readable byte
  std::uint8_t data[kBlockBytes];
};

namespace {

using Block = ChunkQueue::Block;

// Per-thread free list; bounded so a burst does not pin memory forever.
struct FreeList {
  std::vector<Block*> blocks;
  std::size_t low_water = 0;  // fewest cached blocks since the last ReleaseUnused
  FreeList() { blocks.reserve(ChunkQueue::kMaxCachedBlocks); }
  ~FreeList() {
    for (auto* b : blocks) delete b;
  }
};

FreeList& Free() {
  thread_local FreeList list;
  return list;
}

Block* AllocBlock() {
  auto& list = Free().blocks;
  Block* b;
  if (!list.empty()) {
    b = list.back();
    list.pop_back();
    Free().low_water = std::min(Free().low_water, list.size());
  } else {
    b = new Block;  // default-initialized: the payload is not touched here
  }
  b->next = nullptr;
  b->begin = 0;
  b->end = 0;
  return b;
}

void FreeBlock(Block* b) {
  auto& list = Free().blocks;
  if (list.size() < ChunkQueue::kMaxCachedBlocks) {
    list.push_back(b);
  } else {
    delete b;
  }
}

}  // namespace

ChunkQueue::~ChunkQueue() {
  while (head_ != nullptr) PopFront();
}

void ChunkQueue::PopFront() {
  Block* b = head_;
  head_ = b->next;
  if (head_ == nullptr) tail_ = nullptr;
  --blocks_;
  FreeBlock(b);
}

void ChunkQueue::DropEmptyTail() {
  // Only when the queue holds nothing: then the single block is the tail.
  if (size_ == 0 && head_ != nullptr) PopFront();
}

std::span<std::uint8_t> ChunkQueue::Prepare(std::size_t max) {
  if (tail_ == nullptr || tail_->end == kBlockBytes) {
    Block* b = AllocBlock();
    if (tail_ == nullptr) {
      head_ = b;
    } else {
      tail_->next = b;
    }
    tail_ = b;
    ++blocks_;
  }
  const std::size_t room = std::min(kBlockBytes - tail_->end, std::max<std::size_t>(max, 1));
  return {tail_->data + tail_->end, room};
}

void ChunkQueue::Commit(std::size_t n) {
  if (tail_ == nullptr) return;
  tail_->end += n;
  size_ += n;
  DropEmptyTail();  // Commit(0) after an empty read leaves nothing behind
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
  for (const Block* b = head_; b != nullptr; b = b->next) {
    if (count == out.size() || max_bytes == 0) break;
    std::size_t len = b->end - b->begin;
    if (offset >= len) {
      offset -= len;
      continue;
    }
    const std::size_t take = std::min(len - offset, max_bytes);
    out[count++] = {b->data + b->begin + offset, take};
    max_bytes -= take;
    offset = 0;
  }
  return count;
}

void ChunkQueue::Consume(std::size_t n) {
  size_ -= n;
  while (head_ != nullptr) {
    const std::size_t len = head_->end - head_->begin;
    if (n < len) {  // a partly read block stays
      head_->begin += n;
      return;
    }
    // Fully read: back to the free list, the last block too (a drained
    // queue holds nothing).
    n -= len;
    PopFront();
    if (n == 0) return;
  }
}

std::size_t ChunkQueue::CachedBlocks() { return Free().blocks.size(); }

std::size_t ChunkQueue::ReleaseCachedBlocks(std::size_t keep) {
  auto& list = Free().blocks;
  std::size_t freed = 0;
  while (list.size() > keep) {
    delete list.back();
    list.pop_back();
    ++freed;
  }
  Free().low_water = std::min(Free().low_water, list.size());
  return freed;
}

std::size_t ChunkQueue::ReleaseUnusedCachedBlocks() {
  FreeList& free = Free();
  const std::size_t unused = std::min(free.low_water, free.blocks.size());
  const std::size_t freed = ReleaseCachedBlocks(free.blocks.size() - unused);
  free.low_water = free.blocks.size();
  return freed;
}

}  // namespace ambit::h2
