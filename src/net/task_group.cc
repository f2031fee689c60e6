#include "net/task_group.h"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/this_coro.hpp>
#include <asio/cancellation_state.hpp>

#include <exception>
#include <optional>
#include <list>
#include <system_error>

#include "core/log.h"
#include "net/event.h"

namespace ambit::net {

// Shared with the children's completion handlers, so a child that ends after
// the group was destroyed touches only this.
struct TaskGroup::State {
  explicit State(asio::any_io_executor ex) : executor(std::move(ex)), idle(executor) { idle.Set(); }
  asio::any_io_executor executor;
  // One signal per running child; list nodes keep their addresses while
  // others come and go (a child's slot points into its node).
  std::list<asio::cancellation_signal> children;
  Event idle;  // set while |children| is empty
};

namespace {

// Logs an exception that ended a child, unless it is the cancellation the
// group (or the parent) asked for.
void ReportChildException(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& error) {
    if (error.code() == asio::error::operation_aborted) return;
    AMBIT_LOG_ERROR("task ended by an exception: {}", error.what());
  } catch (const std::exception& error) {
    AMBIT_LOG_ERROR("task ended by an exception: {}", error.what());
  } catch (...) {
    AMBIT_LOG_ERROR("task ended by an unknown exception");
  }
}

}  // namespace

TaskGroup::TaskGroup(asio::any_io_executor executor)
    : state_(std::make_shared<State>(std::move(executor))) {}

TaskGroup::~TaskGroup() {
  // A stopped loop runs nothing more, and its shutdown destroys the
  // children's frames, with the sockets their cancellation handlers point
  // at, in any order: one may release this group's owner while a sibling
  // child (already freed) is still registered. Cancelling then would touch
  // freed I/O objects (ASan, DnsProxyTest teardown), and would end nothing.
  const auto* loop = state_->executor.target<asio::io_context::executor_type>();
  if (loop != nullptr && loop->context().stopped()) return;
  Cancel();
}

namespace {

// A child's completion handler. It removes the child's signal from the group
// when the child ends, and also when the handler is destroyed without being
// called: the loop's shutdown destroys a suspended child's frame, and with it
// the socket or timer the child was suspended on, while the signal still
// holds a cancellation handler pointing at that operation; a later Cancel()
// (e.g. from ~TaskGroup) would run it on freed memory. Only the last holder
// of a moved handler acts (moved-from holders have no state). A template on
// the (private) group state, named where it is accessible: TaskGroup::Spawn.
template <class State>
class ChildDone {
 public:
  using Children = std::list<asio::cancellation_signal>;
  ChildDone(std::shared_ptr<State> state, Children::iterator child)
      : state_(std::move(state)), child_(child) {}
  ChildDone(ChildDone&& other) noexcept
      : state_(std::move(other.state_)), child_(other.child_) {}
  ChildDone& operator=(ChildDone&&) = delete;
  ChildDone(const ChildDone&) = delete;
  ChildDone& operator=(const ChildDone&) = delete;
  ~ChildDone() {
    // Not called: the frame was destroyed by the loop's shutdown. Forget the
    // child without waking anyone (the waiters' frames go the same way).
    if (state_) state_->children.erase(child_);
  }

  void operator()(std::exception_ptr e) {
    if (e) ReportChildException(e);
    std::shared_ptr<State> state = std::move(state_);
    state->children.erase(child_);
    if (state->children.empty()) state->idle.Set();
  }

 private:
  std::shared_ptr<State> state_;
  Children::iterator child_;
};

}  // namespace

void TaskGroup::Spawn(asio::awaitable<void> task) {
  State& s = *state_;
  auto child = s.children.emplace(s.children.end());
  s.idle.Reset();
  asio::co_spawn(s.executor, std::move(task),
                 asio::bind_cancellation_slot(child->slot(), ChildDone<State>(state_, child)));
}


void TaskGroup::Cancel(asio::cancellation_type type) {
  // A child's handler may run (and erase its node) only from the loop, never
  // inside emit(): iterating is safe.
  for (auto& signal : state_->children) signal.emit(type);
}

asio::awaitable<bool> TaskGroup::Wait() {
  std::shared_ptr<State> state = state_;
  bool forwarded = false;
  const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
  if (cancellation.cancelled() != asio::cancellation_type::none) {
    // Cancelled before waiting (e.g. the parent's own work ended because of
    // it): asio would fail the wait below at once.
    forwarded = true;
    Cancel();
    co_await asio::this_coro::reset_cancellation_state();
  }
  while (!state->children.empty()) {
    const bool idle = co_await state->idle.Wait();
    if (idle) break;
    // The awaiting coroutine was cancelled: pass it on, then wait for the
    // children to end. The reset lets this coroutine wait again (asio would
    // otherwise fail every later operation of a cancelled coroutine).
    forwarded = true;
    for (auto& signal : state->children) signal.emit(asio::cancellation_type::terminal);
    co_await asio::this_coro::reset_cancellation_state();
  }
  co_return !forwarded;
}

asio::awaitable<void> JoinBoth(asio::awaitable<void> child, asio::awaitable<void> body) {
  auto executor = co_await asio::this_coro::executor;
  // A TaskGroup of one, kept on this frame: the frame outlives the child,
  // since this coroutine returns only after the child's completion handler
  // ran, so the handler may refer to it. The wake-up timer is made only if
  // the body ends first.
  struct Join {
    asio::cancellation_signal signal;
    std::optional<asio::steady_timer> wake;
    bool done = false;
  } join;
  asio::co_spawn(executor, std::move(child),
                 asio::bind_cancellation_slot(join.signal.slot(), [&join](std::exception_ptr e) {
                   if (e) ReportChildException(e);
                   join.done = true;
                   if (join.wake) join.wake->cancel();
                 }));
  std::exception_ptr failure;
  try {
    co_await std::move(body);
  } catch (...) {
    failure = std::current_exception();
    if (!join.done) join.signal.emit(asio::cancellation_type::terminal);
  }
  if (!join.done) {
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) {
      join.signal.emit(asio::cancellation_type::terminal);  // pass it on; wait all the same
      co_await asio::this_coro::reset_cancellation_state();
    }
    join.wake.emplace(executor, asio::steady_timer::time_point::max());
    while (!join.done) {
      asio::error_code ec;
      co_await join.wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (join.done) break;
      join.signal.emit(asio::cancellation_type::terminal);  // this coroutine was cancelled
      co_await asio::this_coro::reset_cancellation_state();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

struct ChildTask::Waiter {
  asio::steady_timer wake;
};

void ChildTask::Spawn(const asio::any_io_executor& executor, asio::awaitable<void> task) {
  done_ = false;
  // The handler refers to this object: the parent awaits Wait() before its
  // frame (and so this) ends.
  asio::co_spawn(executor, std::move(task), [this](std::exception_ptr e) {
    if (e) ReportChildException(e);
    done_ = true;
    if (waiter_ != nullptr) waiter_->wake.cancel();
  });
}

asio::awaitable<void> ChildTask::Wait(std::function<void()> stop) {
  if (done_) co_return;
  const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
  if (cancellation.cancelled() != asio::cancellation_type::none) {
    stop();
    co_await asio::this_coro::reset_cancellation_state();
  }
  auto executor = co_await asio::this_coro::executor;
  Waiter waiter{asio::steady_timer(executor, asio::steady_timer::time_point::max())};
  waiter_ = &waiter;
  while (!done_) {
    asio::error_code ec;
    co_await waiter.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (done_) break;
    stop();  // this coroutine was cancelled: end the child, then wait for it
    co_await asio::this_coro::reset_cancellation_state();
  }
  waiter_ = nullptr;
}

std::size_t TaskGroup::size() const { return state_->children.size(); }

const asio::any_io_executor& TaskGroup::executor() const { return state_->executor; }

}  // namespace ambit::net
