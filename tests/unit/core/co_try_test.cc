// AMBIT_CO_TRY and friends in coroutines returning Result<T> and Status.
#include "core/co_try.h"

#include <gtest/gtest.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <memory>
#include <optional>
#include <string>

namespace ambit {
namespace {

asio::awaitable<Result<int>> Value(bool ok, int v) {
  if (!ok) co_return Error(ErrorCode::kNotFound, "no value");
  co_return v;
}

asio::awaitable<Status> Check(bool ok) {
  if (!ok) co_return Error(ErrorCode::kInvalidArgument, "bad");
  co_return Ok();
}

// Adds two values; |steps| counts how far it got.
asio::awaitable<Result<int>> Sum(bool first_ok, bool second_ok, int* steps) {
  AMBIT_CO_TRY(const int a, co_await Value(first_ok, 1));
  ++*steps;
  AMBIT_CO_TRY_CONTEXT(const int b, co_await Value(second_ok, 2), "second value");
  ++*steps;
  co_return a + b;
}

asio::awaitable<Status> Both(bool first_ok, bool second_ok, int* steps) {
  AMBIT_CO_TRY_STATUS(co_await Check(first_ok));
  ++*steps;
  AMBIT_CO_TRY_STATUS_CONTEXT(co_await Check(second_ok), "second check");
  ++*steps;
  co_return Ok();
}

// A move-only value passes through the macro.
asio::awaitable<Result<std::unique_ptr<int>>> Boxed() { co_return std::make_unique<int>(7); }
asio::awaitable<Result<int>> Unbox() {
  AMBIT_CO_TRY(std::unique_ptr<int> p, co_await Boxed());
  co_return *p;
}

// Stores the coroutine's result (Result<T> has no default value, which
// co_spawn's completion would need).
template <typename T>
asio::awaitable<void> Store(asio::awaitable<T> a, std::optional<T>* out) {
  T value = co_await std::move(a);
  out->emplace(std::move(value));
}

template <typename T>
T RunCoroutine(asio::awaitable<T> a) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, Store(std::move(a), &out), [](std::exception_ptr e) { EXPECT_FALSE(e); });
  io.run();
  return std::move(*out);
}

TEST(CoTry, BindsValuesOnSuccess) {
  int steps = 0;
  Result<int> r = RunCoroutine(Sum(true, true, &steps));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(steps, 2);
  Result<int> u = RunCoroutine(Unbox());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(*u, 7);
}

TEST(CoTry, ReturnsTheFirstErrorAndStops) {
  int steps = 0;
  Result<int> r = RunCoroutine(Sum(false, true, &steps));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().ToString(), "no value");
  EXPECT_EQ(steps, 0);
  steps = 0;
  Result<int> second = RunCoroutine(Sum(true, false, &steps));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().ToString(), "second value: no value");
  EXPECT_EQ(steps, 1);
}

TEST(CoTry, StatusForms) {
  int steps = 0;
  EXPECT_TRUE(RunCoroutine(Both(true, true, &steps)).ok());
  EXPECT_EQ(steps, 2);
  steps = 0;
  Status first = RunCoroutine(Both(false, true, &steps));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(steps, 0);
  steps = 0;
  Status second = RunCoroutine(Both(true, false, &steps));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().ToString(), "second check: bad");
  EXPECT_EQ(steps, 1);
}

}  // namespace
}  // namespace ambit
