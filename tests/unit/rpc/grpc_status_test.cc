#include "rpc/grpc_status.h"

#include <gtest/gtest.h>

namespace ambit::rpc {
namespace {

TEST(GrpcStatusTest, PercentDecodesMessages) {
  EXPECT_EQ(PercentDecode("no%20such%20pod%3A%20a%2Fb"), "no such pod: a/b");
  EXPECT_EQ(PercentDecode("caf%C3%A9"), "caf\xC3\xA9");
  // Malformed escapes stay literal.
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("%zz%41"), "%zzA");
}

TEST(GrpcStatusTest, ParsesStatusValues) {
  EXPECT_EQ(ParseGrpcStatus("0"), 0);
  EXPECT_EQ(ParseGrpcStatus("16"), 16);
  EXPECT_EQ(ParseGrpcStatus(""), -1);
  EXPECT_EQ(ParseGrpcStatus("1x"), -1);
  EXPECT_EQ(ParseGrpcStatus("-1"), -1);
  EXPECT_EQ(ParseGrpcStatus("123"), -1);
}

TEST(GrpcStatusTest, MapsCodesAndNamesThem) {
  EXPECT_TRUE(StatusFromGrpc(0, "ignored").ok());
  Status denied = StatusFromGrpc(7, "pod%20not%20on%20node");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error().ToString(), "PERMISSION_DENIED: pod not on node");
  EXPECT_EQ(ToErrorCode(16), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ToErrorCode(4), ErrorCode::kTimeout);
  EXPECT_EQ(ToErrorCode(14), ErrorCode::kUnavailable);
  EXPECT_EQ(ToErrorCode(3), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ToErrorCode(12), ErrorCode::kInternal);
  EXPECT_EQ(GrpcCodeName(42), "CODE_42");
  EXPECT_EQ(StatusFromGrpc(13, "").error().ToString(), "INTERNAL");
}

}  // namespace
}  // namespace ambit::rpc
