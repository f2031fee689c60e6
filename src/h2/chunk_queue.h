// ChunkQueue: a FIFO of bytes kept in fixed-size blocks.
//
// Blocks come from and return to a per-thread free list, so steady-state
// copying allocates nothing. Memory handed out by Prepare()/Gather() stays at
// a fixed address until Consume() releases it (appending never moves bytes),
// which is what lets a socket read straight into the queue and a writev send
// straight out of it. Not thread-safe: one queue belongs to one loop.
//
// Memory: an empty queue holds no block (sizeof(ChunkQueue) only), so an idle
// connection costs no buffer; a queue that drains returns its last block at
// once. Hence Prepare()d space is valid only until the next mutating call
// (Commit, Append, Consume, Clear): fill it and Commit() without suspending.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ambit::h2 {

class ChunkQueue {
 public:
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  // Blocks a thread keeps on its free list at most (the rest go back to the
  // allocator at once).
  static constexpr std::size_t kMaxCachedBlocks = 64;

  ChunkQueue() = default;
  ~ChunkQueue();
  ChunkQueue(const ChunkQueue&) = delete;
  ChunkQueue& operator=(const ChunkQueue&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Blocks this queue holds (0 when empty).
  std::size_t block_count() const { return blocks_; }

  // Writable space at the tail: at least 1 byte, at most |max| and never more
  // than the rest of one block. Valid until the next Commit/Append/Consume.
  std::span<std::uint8_t> Prepare(std::size_t max);
  // Makes |n| bytes of the last Prepare() readable (n == 0 is allowed).
  void Commit(std::size_t n);
  // Copies |bytes| in.
  void Append(std::span<const std::uint8_t> bytes);

  // Fills |out| with views of the readable bytes starting |offset| bytes in,
  // covering at most |max_bytes|. Returns the number of views written.
  std::size_t Gather(std::size_t offset, std::size_t max_bytes,
                     std::span<std::span<const std::uint8_t>> out) const;
  // Drops |n| bytes from the front (n <= size()); blocks emptied go back to
  // the free list, the last one too.
  void Consume(std::size_t n);
  void Clear() { Consume(size_); }

  // Blocks on the calling thread's free list.
  static std::size_t CachedBlocks();
  // Gives the calling thread's cached blocks beyond |keep| back to the
  // allocator; returns how many were freed.
  static std::size_t ReleaseCachedBlocks(std::size_t keep = 0);
  // Gives back the cached blocks that no queue on this thread needed since
  // the previous call (the free list's low-water mark over that period), so
  // a burst's blocks return to the allocator while a steady flow keeps its
  // own. Call periodically on each loop; returns how many were freed.
  static std::size_t ReleaseUnusedCachedBlocks();

  struct Block;  // defined in the .cc: a header plus kBlockBytes of payload

 private:
  void PopFront();
  void DropEmptyTail();

  Block* head_ = nullptr;
  Block* tail_ = nullptr;
  std::size_t size_ = 0;
  std::size_t blocks_ = 0;
};

}  // namespace ambit::h2
