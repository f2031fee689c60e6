#include "net/event.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/check.h"

namespace ambit::net {

Event::Event(const asio::any_io_executor& executor)
    : timer_(executor, asio::steady_timer::time_point::max()) {}

void Event::Set() {
  if (set_) return;
  set_ = true;
  ++sets_;
  timer_.cancel();  // completes every pending wait; the expiry stays "never"
}

asio::awaitable<bool> Event::Wait() {
  if (set_) co_return true;
  const std::uint64_t before = sets_;
  asio::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // Woken by Set() or by this waiter's own cancellation.
  co_return sets_ != before;
}

void WaitGroup::Add(std::size_t n) {
  if (n == 0) return;
  if (count_ == 0) idle_.Reset();
  count_ += n;
}

void WaitGroup::Done() {
  AMBIT_CHECK(count_ > 0, "WaitGroup::Done without a matching Add");
  if (--count_ == 0) idle_.Set();
}

asio::awaitable<bool> WaitGroup::Wait() {
  if (count_ == 0) co_return true;
  const bool idle = co_await idle_.Wait();
  co_return idle;
}

}  // namespace ambit::net
