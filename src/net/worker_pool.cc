#include "net/worker_pool.h"

#include <string>

#include <pthread.h>

namespace ambit::net {
namespace {
thread_local int t_worker_index = -1;
thread_local WorkerPool* t_worker_pool = nullptr;
}  // namespace

WorkerPool::WorkerPool(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  loops_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>());
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Shutdown() {
  Stop();
  // A destroyed handler may release objects bound to another loop, or post to
  // a loop that is already shut down (such a post is destroyed, never run, by
  // the next pass). Two passes over every loop while all of them exist.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& loop : loops_) loop->context.shutdown();
  }
}

void WorkerPool::Start() {
  if (started_) return;
  started_ = true;
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    loop->thread = std::thread([this, loop, i] {
      t_worker_index = static_cast<int>(i);
      t_worker_pool = this;
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

WorkerPool* WorkerPool::Current() { return t_worker_pool; }

LoadHold WorkerPool::HoldCurrentLoop() {
  if (t_worker_pool == nullptr) return LoadHold();
  return LoadHold(t_worker_pool, static_cast<std::size_t>(t_worker_index));
}

LoadHold::LoadHold(WorkerPool* pool, std::size_t index) : pool_(pool), index_(index) {
  if (pool_ != nullptr) pool_->AddLoad(index_, +1);
}

LoadHold::~LoadHold() {
  if (pool_ != nullptr) pool_->AddLoad(index_, -1);
}

LoadHold& LoadHold::operator=(LoadHold&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr) pool_->AddLoad(index_, -1);
    pool_ = other.pool_;
    index_ = other.index_;
    other.pool_ = nullptr;
  }
  return *this;
}

std::size_t WorkerPool::LeastLoadedIndex() {
  const std::size_t preferred = NextIndex();
  std::size_t best = preferred;
  std::int64_t best_load = Load(preferred);
  for (std::size_t k = 1; k < loops_.size(); ++k) {
    const std::size_t i = (preferred + k) % loops_.size();
    const std::int64_t load = Load(i);
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

}  // namespace ambit::net
