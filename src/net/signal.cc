#include "net/signal.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace ambit::net {

Signal::Signal(const asio::any_io_executor& executor) : timer_(executor) {}

asio::awaitable<void> Signal::Wait() {
  while (!notified_ && !closed_) {
    timer_.expires_at(asio::steady_timer::time_point::max());
    waiting_ = true;
    asio::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiting_ = false;
  }
  notified_ = false;
}

void Signal::Notify() {
  notified_ = true;
  if (waiting_) timer_.cancel();
}

void Signal::Close() {
  closed_ = true;
  if (waiting_) timer_.cancel();
}

}  // namespace ambit::net
