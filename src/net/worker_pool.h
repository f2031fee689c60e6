// WorkerPool: N event loops (asio::io_context), each run by its own thread.
//
// Threading model (docs/threading.md): a connection, its TLS state, its HTTP/2
// session and all of its streams live on exactly one loop for their whole life,
// so everything they touch is single-threaded. Work for another loop is posted
// to it as a message (Post). Nothing on the data path takes a lock.
//
// Thread-safety: Post, NextIndex, size and loop are safe from any thread once
// the pool is constructed. Start/Stop are called by the owner only.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace ambit::net {

class WorkerPool;

// One unit of a loop's load (WorkerPool::AddLoad), held until destroyed.
// Move-only; an empty hold (off the pool) does nothing.
class LoadHold {
 public:
  LoadHold() = default;
  LoadHold(WorkerPool* pool, std::size_t index);
  ~LoadHold();
  LoadHold(LoadHold&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
  LoadHold& operator=(LoadHold&& other) noexcept;
  LoadHold(const LoadHold&) = delete;
  LoadHold& operator=(const LoadHold&) = delete;

 private:
  WorkerPool* pool_ = nullptr;
  std::size_t index_ = 0;
};

class WorkerPool {
 public:
  // |threads| == 0 picks std::thread::hardware_concurrency() (at least 1).
  explicit WorkerPool(std::size_t threads);
  // Shutdown(), then destroys the loops.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts one thread per loop. Handlers posted before Start run once it is called.
  void Start();
  // Stops every loop and joins; pending handlers stay until Shutdown().
  void Stop();
  // Stop(), then destroys every loop's pending handlers (coroutine frames,
  // posted functions, abandoned operations) while all loops still exist: a
  // handler may own I/O objects of another loop (a socket accepted on one loop
  // and posted to another, a listener kept alive by such a handler). After it,
  // I/O objects bound to the loops may still be destroyed, nothing runs. An
  // owner whose objects pending handlers refer to (pools, stats) calls it
  // before destroying them. Idempotent.
  void Shutdown();

  std::size_t size() const { return loops_.size(); }
  asio::io_context& loop(std::size_t index) { return loops_[index]->context; }

  // Round-robin choice of the loop that gets the next new connection.
  std::size_t NextIndex() {
    return next_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
  }

  // Load: long-lived multiplexed connections (inbound HBONE sessions) open on
  // each loop, kept by their owners with AddLoad(+1/-1) on that loop, so that
  // a listener can place the next one on the least loaded loop: two pooled
  // connections from one peer must not end up sharing a loop while another
  // idles. Relaxed atomics; any thread.
  void AddLoad(std::size_t index, int delta) {
    loops_[index]->load.fetch_add(delta, std::memory_order_relaxed);
  }
  std::int64_t Load(std::size_t index) const { return loops_[index]->load.load(std::memory_order_relaxed); }
  // The least loaded loop; among equals the round-robin choice comes first,
  // so back-to-back placements still alternate.
  std::size_t LeastLoadedIndex();
  // A unit of load on the calling thread's loop (empty off any pool): taken
  // as soon as a long-lived connection arrives, kept for its life.
  static LoadHold HoldCurrentLoop();

  // Runs |f| on loop |index| (a cross-loop message). |f| may be move-only.
  template <typename F>
  void Post(std::size_t index, F&& f) {
    asio::post(loops_[index]->context, std::forward<F>(f));
  }

  // The index of the worker loop the calling thread runs, or -1 off the pool.
  static int CurrentIndex();
  // The pool whose loop the calling thread runs, or nullptr off any pool.
  static WorkerPool* Current();

 private:
  // An io_context whose shutdown (destroying every pending handler and
  // abandoned operation) can be asked for before its destruction: ~WorkerPool
  // shuts every loop down first, then destroys them (see there).
  class Context : public asio::io_context {
   public:
    using asio::io_context::io_context;
    using asio::io_context::shutdown;
  };
  struct Loop {
    Context context{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{context.get_executor()};
    std::thread thread;
    alignas(64) std::atomic<std::int64_t> load{0};
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<std::size_t> next_{0};
  bool started_ = false;
};

}  // namespace ambit::net
