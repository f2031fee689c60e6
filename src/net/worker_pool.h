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
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace ambit::net {

class WorkerPool {
 public:
  // |threads| == 0 picks std::thread::hardware_concurrency() (at least 1).
  explicit WorkerPool(std::size_t threads);
  // Stops the loops and joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts one thread per loop. Handlers posted before Start run once it is called.
  void Start();
  // Stops every loop (pending handlers are destroyed, not run) and joins.
  void Stop();

  std::size_t size() const { return loops_.size(); }
  asio::io_context& loop(std::size_t index) { return loops_[index]->context; }

  // Round-robin choice of the loop that gets the next new connection.
  std::size_t NextIndex() {
    return next_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
  }

  // Runs |f| on loop |index| (a cross-loop message). |f| may be move-only.
  template <typename F>
  void Post(std::size_t index, F&& f) {
    asio::post(loops_[index]->context, std::forward<F>(f));
  }

  // The index of the worker loop the calling thread runs, or -1 off the pool.
  static int CurrentIndex();

 private:
  struct Loop {
    asio::io_context context{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{context.get_executor()};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<std::size_t> next_{0};
  bool started_ = false;
};

}  // namespace ambit::net
