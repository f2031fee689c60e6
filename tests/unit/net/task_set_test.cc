// TaskSet: tasks on several loops, cancelled and waited for from another
// thread.
#include "net/task_set.h"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace ambit::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Two loops, each run by its own thread until the fixture ends.
class TwoLoops : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto& io : loops_) {
      threads_.emplace_back([&io] {
        auto work = asio::make_work_guard(io);
        io.run();
      });
    }
  }
  void TearDown() override {
    for (auto& io : loops_) io.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context loops_[2];
  std::vector<std::thread> threads_;
};

// Sleeps |d|; counts how it ended.
asio::awaitable<void> Sleep(steady_clock::duration d, std::atomic<int>* fired, std::atomic<int>* aborted) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  ++*(ec ? aborted : fired);
}

TEST_F(TwoLoops, WaitIdleWakesWhenTheLastTaskEnds) {
  TaskSet tasks;
  std::atomic<int> fired{0}, aborted{0};
  ASSERT_TRUE(tasks.Spawn(loops_[0].get_executor(), Sleep(milliseconds(20), &fired, &aborted)));
  ASSERT_TRUE(tasks.Spawn(loops_[1].get_executor(), Sleep(milliseconds(60), &fired, &aborted)));
  const auto start = steady_clock::now();
  EXPECT_TRUE(tasks.WaitIdle(start + seconds(30)));
  EXPECT_LT(steady_clock::now() - start, seconds(10));
  EXPECT_EQ(fired.load(), 2);
  EXPECT_EQ(tasks.size(), 0u);
}

TEST_F(TwoLoops, WaitIdleTimesOutWhileTasksRun) {
  TaskSet tasks;
  std::atomic<int> fired{0}, aborted{0};
  ASSERT_TRUE(tasks.Spawn(loops_[0].get_executor(), Sleep(seconds(60), &fired, &aborted)));
  EXPECT_FALSE(tasks.WaitIdle(steady_clock::now() + milliseconds(30)));
  EXPECT_EQ(tasks.size(), 1u);
  tasks.CancelAll();
  EXPECT_TRUE(tasks.WaitIdle(steady_clock::now() + seconds(30)));
  EXPECT_EQ(aborted.load(), 1);
}

TEST_F(TwoLoops, CancelAllReachesTasksOnEveryLoop) {
  TaskSet tasks;
  std::atomic<int> fired{0}, aborted{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(tasks.Spawn(loops_[i % 2].get_executor(), Sleep(seconds(60), &fired, &aborted)));
  }
  // Let them start and suspend: each loop runs what was posted to it before
  // this barrier (a fixed sleep was too short on a loaded machine).
  for (auto& loop : loops_) {
    std::promise<void> ran;
    asio::post(loop, [&ran] { ran.set_value(); });
    ran.get_future().wait();
  }
  tasks.CancelAll();
  EXPECT_TRUE(tasks.WaitIdle(steady_clock::now() + seconds(30)));
  EXPECT_EQ(aborted.load(), 4);
  EXPECT_EQ(fired.load(), 0);
}

TEST_F(TwoLoops, ClosedSetRefusesAndDropsTheTask) {
  TaskSet tasks;
  tasks.Close();
  std::atomic<int> fired{0}, aborted{0};
  EXPECT_FALSE(tasks.Spawn(loops_[0].get_executor(), Sleep(milliseconds(1), &fired, &aborted)));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(fired.load() + aborted.load(), 0);  // never started
  EXPECT_TRUE(tasks.closed());
}

}  // namespace
}  // namespace ambit::net
