#include "net/task_set.h"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.h"

namespace ambit::net {

struct TaskSet::State {
  struct Task {
    asio::any_io_executor executor;
    // Used only on the task's loop. Heap-allocated: the task's slot points
    // into it while the map rehashes.
    std::unique_ptr<asio::cancellation_signal> signal;
    bool cancelled = false;  // CancelAll() asked (also before it started)
  };
  mutable std::mutex mu;
  mutable std::condition_variable idle;
  std::unordered_map<std::uint64_t, Task> tasks;  // guarded by mu
  std::uint64_t next_id = 1;                      // guarded by mu
  bool closed = false;                            // guarded by mu

  // On the task's loop: emits if it still runs. It cannot end meanwhile (its
  // end runs on this same loop), and it has started: its start was queued on
  // this loop before this (or, if not, sees |cancelled| and never runs).
  void CancelOnLoop(std::uint64_t id) {
    asio::cancellation_signal* signal = nullptr;
    {
      std::lock_guard lock(mu);
      auto it = tasks.find(id);
      if (it == tasks.end()) return;
      signal = it->second.signal.get();
    }
    signal->emit(asio::cancellation_type::terminal);
  }
};

namespace {

void ReportTaskException(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& error) {
    if (error.code() == asio::error::operation_aborted) return;
    AMBIT_LOG_ERROR("server task ended by an exception: {}", error.what());
  } catch (const std::exception& error) {
    AMBIT_LOG_ERROR("server task ended by an exception: {}", error.what());
  } catch (...) {
    AMBIT_LOG_ERROR("server task ended by an unknown exception");
  }
}

// True when |executor| is an io_context's (as every loop's is) and that
// io_context is stopped.
bool LoopStopped(const asio::any_io_executor& executor) {
  if (const auto* io = executor.target<asio::io_context::executor_type>()) {
    return io->context().stopped();
  }
  using Tracked = decltype(asio::require(std::declval<asio::io_context::executor_type>(),
                                         asio::execution::outstanding_work.tracked));
  if (const auto* io = executor.target<Tracked>()) return io->context().stopped();
  return false;
}

}  // namespace

TaskSet::TaskSet() : state_(std::make_shared<State>()) {}

TaskSet::~TaskSet() {
  Close();
  Cancel(/*skip_stopped_loops=*/true);
}

bool TaskSet::Spawn(const asio::any_io_executor& executor, asio::awaitable<void> task) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(state_->mu);
    if (state_->closed) return false;
    id = state_->next_id++;
    state_->tasks.emplace(id, State::Task{executor, std::make_unique<asio::cancellation_signal>()});
  }
  // The signal is used only on the task's loop: bind it there (inline when
  // called on that loop, as servers do from their accept handlers).
  asio::dispatch(executor, [state = state_, id, executor, task = std::move(task)]() mutable {
    asio::cancellation_signal* signal = nullptr;
    {
      std::lock_guard lock(state->mu);
      auto it = state->tasks.find(id);
      if (it == state->tasks.end()) return;
      if (it->second.cancelled) {  // cancelled before it started: never runs
        state->tasks.erase(it);
        if (state->tasks.empty()) state->idle.notify_all();
        return;
      }
      signal = it->second.signal.get();
    }
    asio::co_spawn(executor, std::move(task),
                   asio::bind_cancellation_slot(signal->slot(), [state, id](std::exception_ptr e) {
                     if (e) ReportTaskException(e);
                     std::unique_ptr<asio::cancellation_signal> done;
                     {
                       std::lock_guard lock(state->mu);
                       auto it = state->tasks.find(id);
                       if (it != state->tasks.end()) {
                         done = std::move(it->second.signal);  // destroyed outside the lock
                         state->tasks.erase(it);
                       }
                       if (state->tasks.empty()) state->idle.notify_all();
                     }
                   }));
  });
  return true;
}

void TaskSet::Close() {
  std::lock_guard lock(state_->mu);
  state_->closed = true;
}

bool TaskSet::closed() const {
  std::lock_guard lock(state_->mu);
  return state_->closed;
}

void TaskSet::CancelAll() { Cancel(/*skip_stopped_loops=*/false); }

void TaskSet::Cancel(bool skip_stopped_loops) {
  std::vector<std::pair<std::uint64_t, asio::any_io_executor>> targets;
  {
    std::lock_guard lock(state_->mu);
    targets.reserve(state_->tasks.size());
    for (auto& [id, task] : state_->tasks) {
      task.cancelled = true;
      targets.emplace_back(id, task.executor);
    }
  }
  for (auto& [id, executor] : targets) {
    // A set destroyed while its loop is stopped (typically: the last owner
    // released by a coroutine frame the loop's io_context destroys at its
    // end) posts nothing: that loop runs no handler again, its frames are
    // destroyed with it, and posting into an io_context being destroyed is
    // undefined.
    if (skip_stopped_loops && LoopStopped(executor)) continue;
    asio::post(executor, [state = state_, id = id] { state->CancelOnLoop(id); });
  }
}

bool TaskSet::WaitIdle(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(state_->mu);
  return state_->idle.wait_until(lock, deadline, [this] { return state_->tasks.empty(); });
}

std::size_t TaskSet::size() const {
  std::lock_guard lock(state_->mu);
  return state_->tasks.size();
}

}  // namespace ambit::net
