#include "proxy/memory_trimmer.h"

#include <malloc.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "h2/chunk_queue.h"
#include "net/worker_pool.h"

namespace ambit::proxy {

struct MemoryTrimmer::Impl {
  Impl(asio::io_context& s, net::WorkerPool& w, std::chrono::milliseconds p)
      : service(s), workers(w), period(p), timer(s) {}

  // On the service loop.
  void Arm() {
    if (stopped) return;
    timer.expires_after(period);
    timer.async_wait([this](asio::error_code ec) {
      if (ec || stopped) return;
      Round();
      Arm();
    });
  }

  void Round() {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      workers.Post(i, [] { h2::ChunkQueue::ReleaseUnusedCachedBlocks(); });
    }
    // Whatever the workers freed before now (closed connections, blocks
    // released in the previous round) goes back to the OS.
    malloc_trim(0);
  }

  asio::io_context& service;
  net::WorkerPool& workers;
  std::chrono::milliseconds period;
  asio::steady_timer timer;
  bool stopped = false;  // service loop only
};

MemoryTrimmer::MemoryTrimmer(asio::io_context& service, net::WorkerPool& workers,
                             std::chrono::milliseconds period)
    : impl_(std::make_unique<Impl>(service, workers, period)) {}

MemoryTrimmer::~MemoryTrimmer() = default;

void MemoryTrimmer::Start() {
  Impl* impl = impl_.get();
  asio::post(impl->service, [impl] { impl->Arm(); });
}

void MemoryTrimmer::Stop() {
  Impl* impl = impl_.get();
  asio::post(impl->service, [impl] {
    impl->stopped = true;
    impl->timer.cancel();
  });
}

void MemoryTrimmer::TrimOnce() { impl_->Round(); }

}  // namespace ambit::proxy
