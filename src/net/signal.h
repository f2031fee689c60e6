// Signal: wakes one coroutine waiting on an event loop.
//
// A level-triggered flag: Notify() before Wait() is not lost; one Wait()
// consumes all notifications so far. Close() wakes the waiter and makes every
// later Wait() return at once. Not thread-safe: use it on one loop only.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

namespace ambit::net {

class Signal {
 public:
  explicit Signal(const asio::any_io_executor& executor);

  // Returns when notified (or closed). At most one waiter at a time.
  asio::awaitable<void> Wait();
  void Notify();
  void Close();
  bool closed() const { return closed_; }

 private:
  asio::steady_timer timer_;
  bool notified_ = false;
  bool waiting_ = false;
  bool closed_ = false;
};

}  // namespace ambit::net
