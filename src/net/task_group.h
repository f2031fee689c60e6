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
#include <asio/cancellation_type.hpp>

#include <cstddef>
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
// (one spawned coroutine, not two: each costs a frame for as long as it
// runs). If |body| throws, |child| is cancelled and awaited before the
// exception propagates; a cancellation of the caller reaches |body| directly
// and |child| once |body| has ended. Both may refer to the caller's frame.
// Taken by value: name the awaitables in locals, never build them inside the
// co_await expression (GCC 12).
asio::awaitable<void> JoinBoth(asio::awaitable<void> child, asio::awaitable<void> body);

}  // namespace ambit::net
