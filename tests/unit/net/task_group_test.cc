// Event, WaitGroup, TaskGroup and WithTimeout (the structured-concurrency
// primitives of src/net), each on one io_context run by the test thread.
#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "net/event.h"
#include "net/task_group.h"
#include "net/with_timeout.h"

namespace ambit::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Sleeps |d| on the loop; records how the wait ended (true: the timer fired,
// false: cancelled) and when the coroutine ended.
asio::awaitable<void> Sleep(steady_clock::duration d, std::optional<bool>* fired, int* ended) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  *fired = !ec;
  ++*ended;
}

// A child that ignores the first cancellation and waits again: asio fails
// that second wait, by throwing operation_aborted.
asio::awaitable<void> Stubborn(int* waits, int* ended) {
  asio::steady_timer timer(co_await asio::this_coro::executor, seconds(60));
  for (;;) {
    ++*waits;
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;
  }
  ++*ended;  // never reached when cancelled
}

TEST(Event, SetWakesEveryWaiterAndLaterWaitsReturnAtOnce) {
  asio::io_context io;
  Event event(io.get_executor());
  std::vector<bool> results;
  auto waiter = [&]() -> asio::awaitable<void> {
    const bool set = co_await event.Wait();
    results.push_back(set);
  };
  asio::co_spawn(io, waiter(), asio::detached);
  asio::co_spawn(io, waiter(), asio::detached);
  io.poll();
  EXPECT_TRUE(results.empty());  // nothing set yet: both suspended
  event.Set();
  io.poll();
  EXPECT_EQ(results, (std::vector<bool>{true, true}));
  io.restart();  // the loop ran out of work
  asio::co_spawn(io, waiter(), asio::detached);
  io.poll();
  EXPECT_EQ(results.size(), 3u);
  event.Reset();
  io.restart();
  asio::co_spawn(io, waiter(), asio::detached);
  io.poll();
  EXPECT_EQ(results.size(), 3u);  // reset: waits again
  event.Set();
  io.run();
  EXPECT_EQ(results.size(), 4u);
  EXPECT_TRUE(results.back());
}

TEST(Event, CancelledWaiterReturnsFalseAndOthersKeepWaiting) {
  asio::io_context io;
  Event event(io.get_executor());
  asio::cancellation_signal cancel;
  std::optional<bool> first;
  std::optional<bool> second;
  auto waiter = [&event](std::optional<bool>* out) -> asio::awaitable<void> {
    const bool set = co_await event.Wait();
    *out = set;
  };
  asio::co_spawn(io, waiter(&first), asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  asio::co_spawn(io, waiter(&second), asio::detached);
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  EXPECT_EQ(first, false);
  EXPECT_FALSE(second.has_value());
  event.Set();
  io.run();
  EXPECT_EQ(second, true);
}

TEST(WaitGroup, LastDoneWakesWaiter) {
  asio::io_context io;
  WaitGroup group(io.get_executor());
  std::optional<bool> woke;
  auto waiter = [&]() -> asio::awaitable<void> {
    const bool idle = co_await group.Wait();
    woke = idle;
  };
  group.Add(2);
  asio::co_spawn(io, waiter(), asio::detached);
  io.poll();
  group.Done();
  io.poll();
  EXPECT_FALSE(woke.has_value());  // one still outstanding
  group.Done();
  io.run();
  EXPECT_EQ(woke, true);
  EXPECT_EQ(group.count(), 0u);
}

TEST(WaitGroup, WaitOnIdleGroupReturnsAtOnce) {
  asio::io_context io;
  WaitGroup group(io.get_executor());
  std::optional<bool> woke;
  auto waiter = [&]() -> asio::awaitable<void> {
    const bool idle = co_await group.Wait();
    woke = idle;
  };
  asio::co_spawn(io, waiter(), asio::detached);
  io.run();
  EXPECT_EQ(woke, true);
}

TEST(TaskGroup, WaitReturnsWhenEveryChildEnded) {
  asio::io_context io;
  std::optional<bool> a, b;
  int ended = 0;
  bool waited = false;
  auto parent = [&]() -> asio::awaitable<void> {
    TaskGroup children(co_await asio::this_coro::executor);
    children.Spawn(Sleep(milliseconds(1), &a, &ended));
    children.Spawn(Sleep(milliseconds(30), &b, &ended));
    EXPECT_EQ(children.size(), 2u);
    waited = co_await children.Wait();
    EXPECT_EQ(ended, 2);  // the parent resumes only after both
    EXPECT_EQ(children.size(), 0u);
  };
  asio::co_spawn(io, parent(), asio::detached);
  io.run();
  EXPECT_TRUE(waited);
  EXPECT_EQ(a, true);
  EXPECT_EQ(b, true);
}

TEST(TaskGroup, CancellingTheParentCancelsChildrenAndWaitsForThem) {
  asio::io_context io;
  std::optional<bool> a, b;
  int ended = 0;
  int stubborn_waits = 0, stubborn_ended = 0;
  std::optional<bool> waited;
  int ended_at_return = -1;
  auto parent = [&]() -> asio::awaitable<void> {
    TaskGroup children(co_await asio::this_coro::executor);
    children.Spawn(Sleep(seconds(60), &a, &ended));
    children.Spawn(Sleep(seconds(60), &b, &ended));
    children.Spawn(Stubborn(&stubborn_waits, &stubborn_ended));
    waited = co_await children.Wait();
    ended_at_return = ended;
  };
  asio::cancellation_signal cancel;
  bool parent_done = false;
  asio::co_spawn(io, parent(),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                   EXPECT_FALSE(e);
                   parent_done = true;
                 }));
  io.poll();
  ASSERT_FALSE(parent_done);
  const auto start = steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));  // not the 60 s sleeps
  EXPECT_TRUE(parent_done);
  EXPECT_EQ(waited, false);        // Wait() reports the forwarded cancellation
  EXPECT_EQ(a, false);             // each child's wait was cancelled ...
  EXPECT_EQ(b, false);
  EXPECT_EQ(ended_at_return, 2);   // ... and they ended before Wait() returned
  EXPECT_EQ(stubborn_waits, 2);    // waited again once, then asio threw
  EXPECT_EQ(stubborn_ended, 0);
}

TEST(TaskGroup, CancelEndsChildrenAndExceptionsStayInTheChild) {
  asio::io_context io;
  std::optional<bool> a;
  int ended = 0;
  std::optional<bool> waited;
  auto thrower = []() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    co_await asio::post(executor, asio::use_awaitable);
    throw std::runtime_error("child failed");
  };
  auto parent = [&]() -> asio::awaitable<void> {
    TaskGroup children(co_await asio::this_coro::executor);
    children.Spawn(Sleep(seconds(60), &a, &ended));
    children.Spawn(thrower());
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
    EXPECT_EQ(children.size(), 1u);  // the thrower has ended
    children.Cancel();
    waited = co_await children.Wait();
  };
  bool parent_ok = false;
  asio::co_spawn(io, parent(), [&](std::exception_ptr e) { parent_ok = !e; });
  io.run();
  EXPECT_TRUE(parent_ok);
  EXPECT_EQ(waited, true);
  EXPECT_EQ(a, false);
  EXPECT_EQ(ended, 1);
}

TEST(TaskGroup, DestroyingTheGroupCancelsChildren) {
  asio::io_context io;
  std::optional<bool> a;
  int ended = 0;
  {
    TaskGroup children(io.get_executor());
    children.Spawn(Sleep(seconds(60), &a, &ended));
    io.poll();
  }
  const auto start = steady_clock::now();
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  EXPECT_EQ(a, false);
  EXPECT_EQ(ended, 1);
}

// The loop's shutdown destroys a suspended child's frame, and the socket it
// waits on with it, without running its completion handler. The group must
// forget that child: destroying the group afterwards cancelled it through a
// cancellation handler pointing into the freed socket (ASan: heap-use-after-free
// in the DNS proxy's teardown).
TEST(TaskGroup, ALoopShutdownThatDestroysAChildLeavesNothingToCancel) {
  struct Loop : asio::io_context {
    using asio::io_context::shutdown;
  } io;
  auto children = std::make_unique<TaskGroup>(io.get_executor());
  {
    auto socket = std::make_shared<asio::ip::udp::socket>(
        io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
    children->Spawn([](std::shared_ptr<asio::ip::udp::socket> s) -> asio::awaitable<void> {
      char byte = 0;
      co_await s->async_receive(asio::buffer(&byte, 1), asio::use_awaitable);
    }(std::move(socket)));
  }
  io.poll();
  ASSERT_EQ(children->size(), 1u);
  io.shutdown();
  EXPECT_EQ(children->size(), 0u);
  children.reset();
}

TEST(JoinBoth, ReturnsWhenBothEnded) {
  asio::io_context io;
  std::optional<bool> child, body;
  int ended = 0;
  int ended_at_return = -1;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::awaitable<void> c = Sleep(milliseconds(30), &child, &ended);
    asio::awaitable<void> b = Sleep(milliseconds(1), &body, &ended);
    co_await JoinBoth(std::move(c), std::move(b));
    ended_at_return = ended;
  };
  asio::co_spawn(io, parent(), asio::detached);
  io.run();
  EXPECT_EQ(ended_at_return, 2);  // the body ended first; the child was awaited
  EXPECT_EQ(child, true);
  EXPECT_EQ(body, true);
}

TEST(JoinBoth, ABodyThatThrowsCancelsAndAwaitsTheChild) {
  asio::io_context io;
  std::optional<bool> child;
  int ended = 0;
  int ended_when_caught = -1;
  auto thrower = []() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    co_await asio::post(executor, asio::use_awaitable);
    throw std::runtime_error("body failed");
  };
  auto parent = [&]() -> asio::awaitable<void> {
    asio::awaitable<void> c = Sleep(seconds(60), &child, &ended);
    asio::awaitable<void> b = thrower();
    try {
      co_await JoinBoth(std::move(c), std::move(b));
    } catch (const std::runtime_error&) {
      ended_when_caught = ended;
    }
  };
  const auto start = steady_clock::now();
  asio::co_spawn(io, parent(), asio::detached);
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  EXPECT_EQ(ended_when_caught, 1);  // the child ended before the exception arrived
  EXPECT_EQ(child, false);          // cancelled
}

TEST(JoinBoth, CancellingTheCallerReachesBothAndWaitsForTheChild) {
  asio::io_context io;
  std::optional<bool> child, body;
  int ended = 0;
  int ended_at_return = -1;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::awaitable<void> c = Sleep(seconds(60), &child, &ended);
    asio::awaitable<void> b = Sleep(seconds(60), &body, &ended);
    co_await JoinBoth(std::move(c), std::move(b));
    ended_at_return = ended;
  };
  asio::cancellation_signal cancel;
  bool parent_ok = false;
  asio::co_spawn(io, parent(),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) { parent_ok = !e; }));
  io.poll();
  const auto start = steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  EXPECT_TRUE(parent_ok);
  EXPECT_EQ(body, false);  // the body's wait was cancelled directly ...
  EXPECT_EQ(child, false);  // ... and the child's by JoinBoth
  EXPECT_EQ(ended_at_return, 2);
}

// Waits on |timer| (a parent's object the parent's stop function cancels);
// records how the wait ended.
asio::awaitable<void> WaitOn(asio::steady_timer& timer, std::optional<bool>* fired, int* ended) {
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  *fired = !ec;
  ++*ended;
}

TEST(ChildTask, WaitReturnsOnceTheChildEnded) {
  asio::io_context io;
  std::optional<bool> child;
  int ended = 0;
  int ended_at_return = -1;
  int stops = 0;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(io, milliseconds(30));
    ChildTask task;
    asio::awaitable<void> c = WaitOn(timer, &child, &ended);
    task.Spawn(io.get_executor(), std::move(c));
    EXPECT_FALSE(task.done());
    auto stop = [&] { ++stops; timer.cancel(); };
    asio::awaitable<void> joined = task.Wait(stop);
    co_await std::move(joined);
    EXPECT_TRUE(task.done());
    ended_at_return = ended;
  };
  asio::co_spawn(io, parent(), asio::detached);
  io.run();
  EXPECT_EQ(ended_at_return, 1);
  EXPECT_EQ(child, true);  // ran to its end: not stopped
  EXPECT_EQ(stops, 0);
}

TEST(ChildTask, CancellingTheParentStopsAndAwaitsTheChild) {
  asio::io_context io;
  std::optional<bool> child;
  int ended = 0;
  int ended_at_return = -1;
  int stops = 0;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(io, seconds(60));
    ChildTask task;
    asio::awaitable<void> c = WaitOn(timer, &child, &ended);
    task.Spawn(io.get_executor(), std::move(c));
    auto stop = [&] { ++stops; timer.cancel(); };
    asio::awaitable<void> joined = task.Wait(stop);
    co_await std::move(joined);
    ended_at_return = ended;
  };
  asio::cancellation_signal cancel;
  bool parent_ok = false;
  asio::co_spawn(io, parent(),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) { parent_ok = !e; }));
  io.poll();
  const auto start = steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  EXPECT_TRUE(parent_ok);
  EXPECT_EQ(stops, 1);
  EXPECT_EQ(child, false);         // stopped by the parent's stop function ...
  EXPECT_EQ(ended_at_return, 1);   // ... and ended before Wait() returned
}

TEST(ChildTask, AChildThatThrowsEndsAndWaitReturns) {
  asio::io_context io;
  bool returned = false;
  auto thrower = []() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    co_await asio::post(executor, asio::use_awaitable);
    throw std::runtime_error("child failed");
  };
  auto parent = [&]() -> asio::awaitable<void> {
    ChildTask task;
    asio::awaitable<void> c = thrower();
    task.Spawn(io.get_executor(), std::move(c));
    asio::awaitable<void> joined = task.Wait([] {});
    co_await std::move(joined);
    returned = task.done();
  };
  asio::co_spawn(io, parent(), asio::detached);
  io.run();
  EXPECT_TRUE(returned);
}

TEST(ChildTask, JoinRunsTheBodyThenWaitsForTheChild) {
  asio::io_context io;
  std::optional<bool> child;
  std::optional<bool> body;
  int ended = 0;
  int ended_at_return = -1;
  int stops = 0;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::steady_timer child_timer(io, milliseconds(40));
    asio::steady_timer body_timer(io, milliseconds(10));
    ChildTask task;
    asio::awaitable<void> c = WaitOn(child_timer, &child, &ended);
    task.Spawn(io.get_executor(), std::move(c));
    asio::awaitable<void> b = WaitOn(body_timer, &body, &ended);
    auto stop = [&] { ++stops; child_timer.cancel(); };
    asio::awaitable<void> joined = task.Join(std::move(b), stop);
    co_await std::move(joined);
    ended_at_return = ended;
  };
  asio::co_spawn(io, parent(), asio::detached);
  io.run();
  EXPECT_EQ(body, true);
  EXPECT_EQ(child, true);  // ran to its end: not stopped ...
  EXPECT_EQ(stops, 0);
  EXPECT_EQ(ended_at_return, 2);  // ... and Join returned after both
}

TEST(ChildTask, JoinStopsAndAwaitsTheChildWhenTheBodyThrows) {
  asio::io_context io;
  std::optional<bool> child;
  int ended = 0;
  int ended_at_catch = -1;
  int stops = 0;
  std::string caught;
  auto thrower = []() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    co_await asio::post(executor, asio::use_awaitable);
    throw std::runtime_error("body failed");
  };
  auto parent = [&]() -> asio::awaitable<void> {
    asio::steady_timer child_timer(io, seconds(60));
    ChildTask task;
    asio::awaitable<void> c = WaitOn(child_timer, &child, &ended);
    task.Spawn(io.get_executor(), std::move(c));
    asio::awaitable<void> b = thrower();
    auto stop = [&] { ++stops; child_timer.cancel(); };
    try {
      asio::awaitable<void> joined = task.Join(std::move(b), stop);
      co_await std::move(joined);
    } catch (const std::runtime_error& e) {
      caught = e.what();
      ended_at_catch = ended;
    }
  };
  asio::co_spawn(io, parent(), asio::detached);
  const auto start = steady_clock::now();
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  EXPECT_EQ(caught, "body failed");  // the body's exception reaches the parent ...
  EXPECT_EQ(stops, 1);               // ... after stop ended the child ...
  EXPECT_EQ(child, false);
  EXPECT_EQ(ended_at_catch, 1);      // ... and Join awaited it
}

// The copy loops' case (hbone::CopyBidirectional, waypoint::CopyStreams): the
// parent is cancelled while its own work (the body) waits. A cancelled
// coroutine cannot co_await another awaitable (asio throws at the co_await),
// so Join must stop the child and clear the cancellation before it awaits
// Wait(); before, Join threw at once and its frame ended with the child still
// waiting on the parent's objects (a heap-use-after-free under ASan).
TEST(ChildTask, JoinStopsAndAwaitsTheChildWhenTheParentIsCancelledDuringTheBody) {
  asio::io_context io;
  std::optional<bool> child;
  std::optional<bool> body;
  int ended = 0;
  int ended_at_return = -1;
  int stops = 0;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::steady_timer child_timer(io, seconds(60));
    asio::steady_timer body_timer(io, seconds(60));
    ChildTask task;
    asio::awaitable<void> c = WaitOn(child_timer, &child, &ended);
    task.Spawn(io.get_executor(), std::move(c));
    // Ends normally on the cancellation (the abort is an error code).
    asio::awaitable<void> b = WaitOn(body_timer, &body, &ended);
    auto stop = [&] { ++stops; child_timer.cancel(); };
    asio::awaitable<void> joined = task.Join(std::move(b), stop);
    co_await std::move(joined);
    ended_at_return = ended;
  };
  asio::cancellation_signal cancel;
  std::optional<bool> parent_ok;
  asio::co_spawn(io, parent(),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) { parent_ok = !e; }));
  io.poll();
  ASSERT_FALSE(parent_ok.has_value());
  const auto start = steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));  // not the 60 s timers
  EXPECT_EQ(body, false);         // the body's wait was cancelled ...
  EXPECT_EQ(stops, 1);            // ... Join stopped the child ...
  EXPECT_EQ(child, false);
  EXPECT_EQ(ended_at_return, 2);  // ... and returned only after it ended
  EXPECT_EQ(parent_ok, true);     // the cancellation was taken (as Wait does)
}

// The same with a body that waits again after the cancellation (as
// net::Signal::Wait does), so asio throws operation_aborted out of it: the
// exception reaches the parent only after the child has ended.
TEST(ChildTask, JoinAwaitsTheChildWhenTheParentIsCancelledAndTheBodyThrows) {
  asio::io_context io;
  std::optional<bool> child;
  int ended = 0;
  int ended_at_catch = -1;
  int body_waits = 0, body_ended = 0;
  int stops = 0;
  bool aborted = false;
  auto parent = [&]() -> asio::awaitable<void> {
    asio::steady_timer child_timer(io, seconds(60));
    ChildTask task;
    asio::awaitable<void> c = WaitOn(child_timer, &child, &ended);
    task.Spawn(io.get_executor(), std::move(c));
    asio::awaitable<void> b = Stubborn(&body_waits, &body_ended);
    auto stop = [&] { ++stops; child_timer.cancel(); };
    try {
      asio::awaitable<void> joined = task.Join(std::move(b), stop);
      co_await std::move(joined);
    } catch (const std::system_error& e) {
      aborted = e.code() == asio::error::operation_aborted;
      ended_at_catch = ended;
    }
  };
  asio::cancellation_signal cancel;
  asio::co_spawn(io, parent(), asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  io.poll();
  const auto start = steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  EXPECT_EQ(body_waits, 2);  // waited again once, then asio threw
  EXPECT_EQ(body_ended, 0);
  EXPECT_TRUE(aborted);      // the body's exception reaches the parent ...
  EXPECT_GE(stops, 1);       // ... after stop ended the child ...
  EXPECT_EQ(child, false);
  EXPECT_EQ(ended_at_catch, 1);  // ... and Join awaited it
}

// Succeeds after |d| unless cancelled (then reports the abort).
asio::awaitable<Result<int>> SlowValue(steady_clock::duration d, bool* cancelled) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    *cancelled = true;
    co_return Error(ErrorCode::kUnavailable, "aborted");
  }
  co_return 42;
}

asio::awaitable<Status> SlowStatus(steady_clock::duration d, bool* cancelled) {
  auto v = co_await SlowValue(d, cancelled);
  if (!v.ok()) co_return std::move(v).error();
  co_return Ok();
}

TEST(WithTimeout, ReturnsTheOperationsResultBeforeTheDeadline) {
  asio::io_context io;
  bool cancelled = false;
  std::optional<Result<int>> result;
  auto run = [&]() -> asio::awaitable<void> {
    auto r = co_await WithTimeout(SlowValue(milliseconds(1), &cancelled), seconds(60));
    result.emplace(std::move(r));
  };
  const auto start = steady_clock::now();
  asio::co_spawn(io, run(), asio::detached);
  io.run();  // returns only once the 60 s timer is gone too
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok());
  EXPECT_EQ(**result, 42);
  EXPECT_FALSE(cancelled);
}

TEST(WithTimeout, TimesOutAndCancelsTheOperation) {
  asio::io_context io;
  bool cancelled = false;
  std::optional<Status> result;
  bool cancelled_at_return = false;
  auto run = [&]() -> asio::awaitable<void> {
    auto st = co_await WithTimeout(SlowStatus(seconds(60), &cancelled), milliseconds(20));
    cancelled_at_return = cancelled;  // the operation has ended by now
    result.emplace(std::move(st));
  };
  const auto start = steady_clock::now();
  asio::co_spawn(io, run(), asio::detached);
  io.run();
  EXPECT_GE(steady_clock::now() - start, milliseconds(20));
  EXPECT_LT(steady_clock::now() - start, seconds(30));
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code(), ErrorCode::kTimeout);
  EXPECT_EQ(result->error().message(), "timed out after 20 ms");
  EXPECT_TRUE(cancelled_at_return);
}

}  // namespace
}  // namespace ambit::net
