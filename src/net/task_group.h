// TaskGroup: child coroutines owned by a parent (structured concurrency).
//
// A coroutine that needs work to run beside it spawns the work into a
// TaskGroup it owns instead of co_spawn(..., detached):
//
//   net::TaskGroup children(executor);
//   children.Spawn(CopyOneWay(...));       // runs concurrently
//   co_await CopyOtherWay(...);
//   co_await children.Wait();              // the children end before the parent
//
// Contract:
// - Every child gets its own cancellation signal. Cancel() emits it (terminal
//   by default) into every running child: the asynchronous operation the
//   child is suspended in completes with asio::error::operation_aborted, and,
//   asio's default for coroutines, the child's next co_await of an operation
//   throws it, so a child that ignores the first error still ends.
// - Wait() returns once no child runs. If the coroutine awaiting Wait() is
//   cancelled, the cancellation is forwarded to the children and Wait() keeps
//   waiting until they have ended: a child never outlives the parent's Wait(),
//   so children may refer to the parent's frame. Wait() returns false if it
//   forwarded a cancellation.
// - Destroying the group cancels the children still running; they end on
//   their own later and must then not refer to anything the owner destroyed
//   (only a parent that awaits Wait() gets that guarantee).
// - An exception escaping a child ends that child only: operation_aborted
//   (cancellation) silently, anything else with a log line.
//
// Threading: not thread-safe. The group and its children run on the loop of
// the executor it was made with (one io_context run by one thread); call
// every method there. A server whose connections run on several loops keeps
// one group per loop.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/this_coro.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>

namespace ambit::net {

class TaskGroup {
 public:
  explicit TaskGroup(asio::any_io_executor executor);
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts |task| as a child. Called on the group's loop (as it must be), the
  // child runs at once up to its first suspension (asio::co_spawn), then the
  // caller continues.
  void Spawn(asio::awaitable<void> task);

  // Emits |type| cancellation into every running child.
  void Cancel(asio::cancellation_type type = asio::cancellation_type::terminal);

  // Returns once no child runs (see the contract above); false if the
  // awaiting coroutine was cancelled meanwhile (its children were then
  // cancelled too, and have ended).
  asio::awaitable<bool> Wait();

  // Children running now.
  std::size_t size() const;

  const asio::any_io_executor& executor() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Runs |child| and |body| concurrently and returns when both have ended:
// |child| is spawned as a child (its own cancellation signal, as in a
// TaskGroup, kept on JoinBoth's frame), |body| runs in the calling coroutine
// (one spawned coroutine, not two). For per-connection loops, where this
// frame and the child's cancellation state would be kept for the
// connection's life, see ChildTask. If |body| throws, |child| is cancelled and awaited before the
// exception propagates; a cancellation of the caller reaches |body| directly
// and |child| once |body| has ended. Both may refer to the caller's frame.
// Taken by value: name the awaitables in locals, never build them inside the
// co_await expression (GCC 12).
asio::awaitable<void> JoinBoth(asio::awaitable<void> child, asio::awaitable<void> body);

// ChildTask: one child coroutine whose join state lives inline in its
// parent's frame (16 bytes), for the per-connection copy loops, where a
// JoinBoth frame and an asio cancellation slot would cost memory for the
// connection's whole life (a JoinBoth frame, a cancellation handler in the
// slot, a cancellation state in the child and one handler per operation it
// is suspended in).
//
//   net::ChildTask child;                     // a local of the parent
//   child.Spawn(executor, std::move(task));   // runs up to its first suspension
//   co_await child.Join(std::move(body), stop);  // the parent's own work, then Wait
//
// or, when the parent's own work is not one awaitable, Wait() directly:
//
//   ... the parent's own work ...
//   co_await child.Wait(stop);                // always, also after an exception
//
// (Wait() directly only from a coroutine with no cancellation pending at that
// co_await: asio throws operation_aborted at any co_await of an awaitable in
// a cancelled coroutine, before Wait() runs. Join takes care of that.)
//
// Contract:
// - The child has no cancellation slot: the parent stops it with |stop|, a
//   function that ends what the child waits on (closes its socket, resets its
//   stream). The parent calls |stop| itself when its own work fails.
// - Wait() returns once the child has ended. If the awaiting coroutine is
//   cancelled meanwhile, Wait() calls |stop|, clears the cancellation and
//   keeps waiting: the child never outlives Wait(), so it may refer to the
//   parent's frame. The parent must await Wait() before its frame ends (an
//   exception in the parent is caught, then Wait() awaited, then rethrown).
// - An exception escaping the child ends it (operation_aborted silently,
//   anything else with a log line).
// Threading: the parent's loop only.
class ChildTask {
 public:
  ChildTask() = default;
  ChildTask(const ChildTask&) = delete;
  ChildTask& operator=(const ChildTask&) = delete;

  void Spawn(const asio::any_io_executor& executor, asio::awaitable<void> task);
  bool done() const { return done_; }
  // A coroutine (and its wake-up timer) exists only while the parent waits.
  asio::awaitable<void> Wait(std::function<void()> stop);
  // Runs |body| (the parent's own work) in the calling coroutine, then
  // Wait(stop). If |body| throws, |stop| is called, the child awaited, and
  // the exception rethrown; if the caller was cancelled while |body| ran,
  // |stop| is called and the cancellation cleared, as in Wait(). Either
  // way the child has ended whenever Join returns or throws.
  // |stop| is kept as it is (no std::function, no allocation): this frame
  // lasts as long as |body|, a connection's life for the copy loops.
  template <typename Stop>
  asio::awaitable<void> Join(asio::awaitable<void> body, Stop stop) {
    std::exception_ptr failure;
    try {
      co_await std::move(body);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) stop();
    // A cancelled coroutine cannot co_await another awaitable: asio throws
    // operation_aborted at the co_await itself (throw_if_cancelled), before
    // Wait() runs, and this frame would end with the child still running
    // (and referring to the parent's frame). So a cancellation that came
    // while |body| ran is taken here: stop the child, clear it, then wait.
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) {
      if (!failure) stop();
      co_await asio::this_coro::reset_cancellation_state();
    }
    asio::awaitable<void> joined = Wait(stop);
    co_await std::move(joined);
    if (failure) std::rethrow_exception(failure);
  }

 private:
  struct Waiter;
  bool done_ = true;
  Waiter* waiter_ = nullptr;  // set while Wait() is suspended
};

}  // namespace ambit::net
