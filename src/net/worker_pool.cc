#include "net/worker_pool.h"

#include <string>

#include <pthread.h>

namespace ambit::net {
namespace {
thread_local int t_worker_index = -1;
}  // namespace

WorkerPool::WorkerPool(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  loops_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>());
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  if (started_) return;
  started_ = true;
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    loop->thread = std::thread([loop, i] {
      t_worker_index = static_cast<int>(i);
      const std::string name = "ambit-w" + std::to_string(i);
      ::pthread_setname_np(::pthread_self(), name.c_str());
      loop->context.run();
    });
  }
}

void WorkerPool::Stop() {
  for (auto& loop : loops_) {
    loop->guard.reset();
    loop->context.stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

int WorkerPool::CurrentIndex() { return t_worker_index; }

}  // namespace ambit::net
