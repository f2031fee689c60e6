// ChunkQueue: a FIFO of bytes kept in fixed-size blocks.
//
// Blocks come from and return to a per-thread free list, so steady-state
// copying allocates nothing. Memory handed out by Prepare()/Gather() stays at
// a fixed address until Consume() releases it (appending never moves bytes),
// which is what lets a socket read straight into the queue and a writev send
// straight out of it. Not thread-safe: one queue belongs to one loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>

namespace ambit::h2 {

class ChunkQueue {
 public:
  static constexpr std::size_t kBlockBytes = 64 * 1024;

  ChunkQueue() = default;
  ~ChunkQueue();
  ChunkQueue(const ChunkQueue&) = delete;
  ChunkQueue& operator=(const ChunkQueue&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Writable space at the tail: at least 1 byte, at most |max| and never more
  // than the rest of one block. Valid until the next Commit/Append.
  std::span<std::uint8_t> Prepare(std::size_t max);
  // Makes |n| bytes of the last Prepare() readable.
  void Commit(std::size_t n);
  // Copies |bytes| in.
  void Append(std::span<const std::uint8_t> bytes);

  // Fills |out| with views of the readable bytes starting |offset| bytes in,
  // covering at most |max_bytes|. Returns the number of views written.
  std::size_t Gather(std::size_t offset, std::size_t max_bytes,
                     std::span<std::span<const std::uint8_t>> out) const;
  // Drops |n| bytes from the front (n <= size()).
  void Consume(std::size_t n);
  void Clear() { Consume(size_); }

 private:
  struct Block {
    std::uint8_t* data;
    std::size_t begin;  // first readable byte
    std::size_t end;    // one past the last readable byte
  };
  std::deque<Block> blocks_;
  std::size_t size_ = 0;
};

}  // namespace ambit::h2
