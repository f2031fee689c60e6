// MemoryTrimmer: gives memory that bursts left behind back to the OS.
//
// Every |period| it asks each worker loop to release the buffer blocks its
// free list did not need during the previous period
// (h2::ChunkQueue::ReleaseUnusedCachedBlocks), then has the allocator return
// free pages of every arena (malloc_trim). A steady flow keeps its cached
// blocks; a burst's blocks and the heap pages of closed connections go back
// within two periods.
//
// Threading: Start/Stop on any thread; the timer runs on |service|, the
// releases on each worker's own loop. Destroy it only once |service| no
// longer runs (its thread joined) and before |service| and |workers| are
// destroyed.
#pragma once

#include <chrono>
#include <memory>

namespace asio {
class io_context;
}

namespace ambit::net {
class WorkerPool;
}

namespace ambit::proxy {

class MemoryTrimmer {
 public:
  MemoryTrimmer(asio::io_context& service, net::WorkerPool& workers, std::chrono::milliseconds period);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  void Start();
  // Cancels the timer (posted to |service|). Idempotent.
  void Stop();

  // One round now, on the calling thread for the allocator part (tests).
  void TrimOnce();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::proxy
