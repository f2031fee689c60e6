// Error propagation inside coroutines that return asio::awaitable<Result<T>>
// or asio::awaitable<Status> (AMBIT_ASSIGN_OR_RETURN and AMBIT_RETURN_IF_ERROR
// use `return`, which a coroutine cannot).
//
//   AMBIT_CO_TRY(auto socket, co_await net::Connect(...));   // binds the value
//   AMBIT_CO_TRY_CONTEXT(auto fd, factory.NewTcpSocket(family), where);
//   AMBIT_CO_TRY_STATUS(co_await stream.Handshake());
//
// On error the coroutine co_returns the Error (with |context| added by the
// _CONTEXT forms). |expr| is evaluated once and kept in a named local, so a
// co_await inside it leaves no temporary alive across the suspension.
#pragma once

#include <utility>

#include "core/result.h"

#define AMBIT_CO_TRY(lhs, expr) \
  AMBIT_CO_TRY_IMPL(AMBIT_CONCAT(_ambit_co_result_, __LINE__), lhs, expr)
#define AMBIT_CO_TRY_IMPL(tmp, lhs, expr)          \
  auto tmp = (expr);                               \
  if (!tmp.ok()) co_return std::move(tmp).error(); \
  lhs = std::move(tmp).value()

#define AMBIT_CO_TRY_CONTEXT(lhs, expr, context) \
  AMBIT_CO_TRY_CONTEXT_IMPL(AMBIT_CONCAT(_ambit_co_result_, __LINE__), lhs, expr, context)
#define AMBIT_CO_TRY_CONTEXT_IMPL(tmp, lhs, expr, context)                \
  auto tmp = (expr);                                                      \
  if (!tmp.ok()) co_return std::move(tmp).error().WithContext(context); \
  lhs = std::move(tmp).value()

#define AMBIT_CO_TRY_STATUS(expr)                                              \
  do {                                                                         \
    auto _ambit_co_status = (expr);                                            \
    if (!_ambit_co_status.ok()) co_return std::move(_ambit_co_status).error(); \
  } while (0)

#define AMBIT_CO_TRY_STATUS_CONTEXT(expr, context)                                              \
  do {                                                                                          \
    auto _ambit_co_status = (expr);                                                             \
    if (!_ambit_co_status.ok()) co_return std::move(_ambit_co_status).error().WithContext(context); \
  } while (0)
