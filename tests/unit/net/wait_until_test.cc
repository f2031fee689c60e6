#include "net/wait_until.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace ambit::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A state owned by another thread, as CertLease or DeltaAdsClient expose it.
struct Owner {
  std::atomic<bool> value{false};
  std::atomic<int> ready_calls{0};
  std::atomic<int> subscribes{0};
  std::mutex mu;
  std::function<void()> wake;  // guarded by mu
  bool refuse = false;         // subscribe() says "check now" without being ready

  std::function<bool()> Ready() {
    return [this] {
      ++ready_calls;
      return value.load();
    };
  }
  WakeSubscriber Subscribe() {
    return [this](std::function<void()> w) {
      ++subscribes;
      std::lock_guard lock(mu);
      if (value.load() || refuse) return false;
      wake = std::move(w);
      return true;
    };
  }
  void Set() {
    std::function<void()> w;
    {
      std::lock_guard lock(mu);
      value = true;
      w.swap(wake);
    }
    if (w) w();
  }
};

std::optional<bool> RunWait(asio::io_context& io, std::function<bool()> ready,
                            WakeSubscriber subscribe, steady_clock::time_point deadline) {
  std::optional<bool> result;
  asio::co_spawn(io, WaitUntil(std::move(ready), std::move(subscribe), deadline), [&](std::exception_ptr e, bool r) {
    if (!e) result = r;
  });
  io.run();
  return result;
}

TEST(WaitUntil, ReadyAlreadySubscribesNothing) {
  asio::io_context io;
  Owner owner;
  owner.value = true;
  EXPECT_EQ(RunWait(io, owner.Ready(), owner.Subscribe(), steady_clock::now() + milliseconds(10)), true);
  EXPECT_EQ(owner.subscribes.load(), 0);
}

TEST(WaitUntil, WokenFromAnotherThreadWithoutPolling) {
  asio::io_context io;
  Owner owner;
  std::thread setter([&] {
    while (owner.subscribes.load() == 0) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(100));
    owner.Set();
  });
  // The deadline is far: only the wake can end the wait this soon.
  const auto start = steady_clock::now();
  EXPECT_EQ(RunWait(io, owner.Ready(), owner.Subscribe(), start + std::chrono::seconds(60)), true);
  setter.join();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
  // One subscription and a handful of checks: nothing re-checked on a timer
  // while waiting 100 ms (a 20 ms poll would have checked about five times more).
  EXPECT_EQ(owner.subscribes.load(), 1);
  EXPECT_LE(owner.ready_calls.load(), 4);
}

TEST(WaitUntil, DeadlinePassesWithoutWake) {
  asio::io_context io;
  Owner owner;
  EXPECT_EQ(RunWait(io, owner.Ready(), owner.Subscribe(), steady_clock::now() + milliseconds(200)), false);
  // One subscription, no re-checks on a timer; none at all when the deadline
  // had already passed by the time the coroutine ran (a loaded machine, a
  // sanitizer build).
  EXPECT_LE(owner.subscribes.load(), 1);
}

TEST(WaitUntil, AnOwnerThatKeepsRefusingDoesNotMakeItSpin) {
  asio::io_context io;
  Owner owner;
  owner.refuse = true;
  EXPECT_EQ(RunWait(io, owner.Ready(), owner.Subscribe(), steady_clock::now() + std::chrono::seconds(60)), false);
  EXPECT_LE(owner.subscribes.load(), 4);
}

TEST(WaitUntil, AWakeAfterTheWaiterIsGoneIsHarmless) {
  Owner owner;
  {
    asio::io_context io;
    asio::co_spawn(io, WaitUntil(owner.Ready(), owner.Subscribe(), steady_clock::now() + std::chrono::seconds(60)),
                   [](std::exception_ptr, bool) {});
    io.run_one();  // starts the coroutine, which subscribes and suspends
    ASSERT_EQ(owner.subscribes.load(), 1);
  }  // the loop and the suspended frame are destroyed
  owner.Set();  // posts to a destroyed loop's executor: must not crash
}

}  // namespace
}  // namespace ambit::net
