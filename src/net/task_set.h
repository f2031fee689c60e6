// TaskSet: the per-connection coroutines of a server whose connections run on
// several loops, owned by the server instead of co_spawn(..., detached).
//
//   tasks_.Spawn(socket.get_executor(), ServeConnection(std::move(socket)));
//   ...
//   tasks_.Close();                     // stop: no new tasks
//   tasks_.CancelAll();                 // or let them finish: WaitIdle(deadline)
//
// Contract:
// - Spawn starts the task on the given executor's loop with its own
//   cancellation signal, and refuses (drops the task unstarted, returns
//   false) once Close() was called. A task cancelled before it started never
//   runs.
// - CancelAll() posts a terminal cancellation to every running task, each on
//   its own loop (asio cancellation signals are not thread-safe): the
//   operation the task is suspended in completes with operation_aborted, and
//   asio fails the task's later operations, so it ends.
// - WaitIdle() blocks the calling thread until no task runs or the deadline
//   passes, woken by the last task's end (no polling). Never call it on a loop
//   that runs tasks of the set.
// - An exception escaping a task ends that task only (operation_aborted
//   silently, anything else with a log line).
// - Destroying the set cancels the tasks still running; they end later
//   touching only the set's shared state. Tasks on a loop whose io_context is
//   stopped are left to it (destroyed with it, never resumed): the set may be
//   destroyed while such an io_context is being destroyed.
//
// Thread-safety: every method is thread-safe. The mutex is taken once when a
// task starts and once when it ends, never while it runs.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace ambit::net {

class TaskSet {
 public:
  TaskSet();
  ~TaskSet();
  TaskSet(const TaskSet&) = delete;
  TaskSet& operator=(const TaskSet&) = delete;

  // Starts |task| on |executor|'s loop: at once (up to its first suspension)
  // when called there, else posted. False (|task| dropped unstarted) once
  // closed.
  bool Spawn(const asio::any_io_executor& executor, asio::awaitable<void> task);
  // Refuses every later Spawn.
  void Close();
  bool closed() const;
  // Posts a terminal cancellation to every running task, on its own loop.
  void CancelAll();
  // True once no task runs; false if |deadline| passed first.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) const;
  // Tasks running now.
  std::size_t size() const;

 private:
  void Cancel(bool skip_stopped_loops);

  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace ambit::net
