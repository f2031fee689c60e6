// WaitUntil: suspend a coroutine until some state, changed by another thread,
// becomes ready, or a deadline passes. No polling: the state's owner wakes the
// waiter when it may have changed, and the waiter re-checks.
//
// The owner exposes two functions:
//   ready()            true once the state is what the waiter needs; thread-safe.
//   subscribe(wake)    keeps |wake| and calls it once (from any thread; it must
//                      not block) when the state may have changed; returns false
//                      and drops |wake| if ready() may already hold.
// Examples: CertLease::Current/WhenFetched, DeltaAdsClient::synced/WhenSynced.
//
// The calling coroutine must run on a single-threaded loop (one io_context
// run by one thread), as every loop of Ambit does: the wake-up is posted to
// that loop, so it cannot run before the coroutine has suspended.
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <functional>

namespace ambit::net {

using WakeSubscriber = std::function<bool(std::function<void()> wake)>;

// True if |ready| held before |deadline|. Taken by value: the frame owns
// them, so temporaries are safe to pass. A wake that arrives after the
// coroutine has gone is dropped harmlessly (it holds only a timer's executor
// and a shared handle).
asio::awaitable<bool> WaitUntil(std::function<bool()> ready, WakeSubscriber subscribe,
                                std::chrono::steady_clock::time_point deadline);

}  // namespace ambit::net
