#include "net/wait_until.h"

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>
#include <mutex>

namespace ambit::net {
namespace {

// What a wake function shares with the waiting frame. |timer| points into the
// frame and is cleared (under |mu|) before the frame goes, so a wake that
// comes later, or a posted cancel that runs later, touches nothing of it and
// never posts to a loop that may be gone.
struct Rendezvous {
  std::mutex mu;
  asio::steady_timer* timer = nullptr;
  asio::any_io_executor executor;
};

class FrameGuard {
 public:
  FrameGuard(std::shared_ptr<Rendezvous> r, asio::steady_timer& timer) : r_(std::move(r)) {
    std::lock_guard lock(r_->mu);
    r_->timer = &timer;
    r_->executor = timer.get_executor();
  }
  ~FrameGuard() {
    std::lock_guard lock(r_->mu);
    r_->timer = nullptr;
    r_->executor = {};
  }
  FrameGuard(const FrameGuard&) = delete;
  FrameGuard& operator=(const FrameGuard&) = delete;

 private:
  std::shared_ptr<Rendezvous> r_;
};

}  // namespace

asio::awaitable<bool> WaitUntil(std::function<bool()> ready, WakeSubscriber subscribe,
                                std::chrono::steady_clock::time_point deadline) {
  if (ready()) co_return true;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto rendezvous = std::make_shared<Rendezvous>();
  FrameGuard guard(rendezvous, timer);
  // subscribe() returning false while ready() is still false means the owner
  // saw a transient state; allow a few of those, never a spin.
  int refused = 0;
  while (!ready() && std::chrono::steady_clock::now() < deadline) {
    timer.expires_at(deadline);
    const bool waiting = subscribe([rendezvous] {
      std::lock_guard lock(rendezvous->mu);
      if (rendezvous->timer == nullptr) return;  // the waiter is gone
      // The cancel runs on the waiter's loop, after it has suspended.
      asio::post(rendezvous->executor, [rendezvous] {
        std::lock_guard inner(rendezvous->mu);
        if (rendezvous->timer != nullptr) rendezvous->timer->cancel();
      });
    });
    if (!waiting) {
      if (++refused > 3) break;
      continue;
    }
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ready();
}

}  // namespace ambit::net
