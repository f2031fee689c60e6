// Event and WaitGroup: coroutine wake-ups on one event loop, instead of a
// steady_timer set to "never" and cancelled as a signal.
//
// Event: a latch any number of coroutines can wait on. Set() wakes every
// waiter and makes later Wait()s return at once until Reset().
// WaitGroup: counts outstanding work (Add/Done); Wait() returns once the
// count is zero.
//
// Cancellation: a waiter whose coroutine is cancelled (asio per-operation
// cancellation through its cancellation slot, e.g. by a TaskGroup or
// WithTimeout) stops waiting and Wait() returns false; other waiters are not
// affected.
//
// Threading: not thread-safe. Each object belongs to the loop of the executor
// it was made with, and every call (and every waiter) must run on that loop.
// For a state changed by other threads use net::WaitUntil (wait_until.h).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>

namespace ambit::net {

class Event {
 public:
  explicit Event(const asio::any_io_executor& executor);
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Wakes every waiter; Wait() returns at once until Reset().
  void Set();
  void Reset() { set_ = false; }
  bool is_set() const { return set_; }

  // True once the event is set (at once if it is already; also if it was set
  // and reset again before this waiter ran); false if the waiting coroutine
  // was cancelled first.
  asio::awaitable<bool> Wait();

 private:
  // Never expires: only Set() (cancel) or a per-operation cancellation
  // completes a wait on it.
  asio::steady_timer timer_;
  bool set_ = false;
  std::uint64_t sets_ = 0;  // Set() calls that woke waiters
};

class WaitGroup {
 public:
  explicit WaitGroup(const asio::any_io_executor& executor) : idle_(executor) { idle_.Set(); }
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  void Add(std::size_t n = 1);
  // One unit of work finished; the last one wakes the waiters. Must balance
  // an Add (checked).
  void Done();
  std::size_t count() const { return count_; }

  // True once the count is (or was, since the call) zero; false if the
  // waiting coroutine was cancelled first.
  asio::awaitable<bool> Wait();

 private:
  Event idle_;
  std::size_t count_ = 0;
};

}  // namespace ambit::net
