#include "core/result.h"

#include <gtest/gtest.h>

namespace ambit {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Error(ErrorCode::kInvalidArgument, "must be positive");
  return v;
}

Result<int> Doubled(int v) {
  AMBIT_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

TEST(Result, ValueIsReturnedOnSuccess) {
  auto r = Doubled(21);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TEST(Result, ErrorPropagatesThroughAssignOrReturn) {
  auto r = Doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "must be positive");
}

TEST(Result, ContextIsRenderedOutermostFirst) {
  Error e(ErrorCode::kIo, "no such file");
  e.WithContext("reading root.pem").WithContext("loading CA");
  EXPECT_EQ(e.ToString(), "loading CA: reading root.pem: no such file");
}

TEST(Result, StatusDefaultsToOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status bad = Error(ErrorCode::kTimeout, "late");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kTimeout);
}

TEST(Result, ErrnoErrorNamesTheOperation) {
  Error e = ErrnoError("open /nope", ENOENT);
  EXPECT_EQ(e.code(), ErrorCode::kIo);
  EXPECT_NE(e.message().find("open /nope: "), std::string::npos);
}

}  // namespace
}  // namespace ambit
