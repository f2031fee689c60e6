// WithTimeout: runs an operation with a deadline; when the deadline passes
// first, the operation is cancelled and the result is a kTimeout error.
//
//   Status hs = co_await net::WithTimeout(stream->Handshake(), options.handshake_timeout);
//
// Contract: the operation runs as a child of the calling coroutine (asio's
// awaitable operator ||, which spawns both sides on the caller's executor and
// waits for both). When the timer fires first, terminal cancellation is
// emitted into the operation; WithTimeout returns only after the operation
// has ended, so the operation may refer to the caller's frame. The operation
// must end promptly once cancelled: its pending asio operation completes with
// operation_aborted, and (asio's default for coroutines) its next co_await of
// an operation throws it. An exception escaping the operation before the
// deadline propagates to the caller. A cancellation of the caller itself is
// passed on to the operation.
//
// Include this header only where it is used: it pulls in Asio's experimental
// awaitable operators.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <variant>

#include "core/result.h"

namespace ambit::net {

// "timed out after 1500 ms".
std::string TimedOutMessage(std::chrono::steady_clock::duration timeout);

// |op| is taken by value (it is a not-yet-started coroutine).
template <typename T>
asio::awaitable<Result<T>> WithTimeout(asio::awaitable<Result<T>> op,
                                       std::chrono::steady_clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  asio::awaitable<void> expiry = timer.async_wait(asio::use_awaitable);
  asio::awaitable<std::variant<Result<T>, std::monostate>> race = std::move(op) || std::move(expiry);
  std::variant<Result<T>, std::monostate> winner = co_await std::move(race);
  if (winner.index() == 0) co_return std::move(std::get<0>(winner));
  co_return Error(ErrorCode::kTimeout, TimedOutMessage(timeout));
}

}  // namespace ambit::net
