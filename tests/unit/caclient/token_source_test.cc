#include <gtest/gtest.h>

#include "caclient/ca_client.h"
#include "pki/file.h"
#include "support/temp_dir.h"

namespace ambit::caclient {
namespace {

TEST(TokenSource, FileIsReReadAndTrimmed) {
  ambit::testing::TempDir tmp;
  std::string path = tmp.File("credential");
  TokenSource source = FileTokenSource(path);
  auto missing = source();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().ToString().find(path), std::string::npos);
  ASSERT_TRUE(pki::WriteFileAtomically(path, "  tok-1\n", 0600).ok());
  EXPECT_EQ(*source(), "tok-1");
  ASSERT_TRUE(pki::WriteFileAtomically(path, "tok-2", 0600).ok());
  EXPECT_EQ(*source(), "tok-2");
  ASSERT_TRUE(pki::WriteFileAtomically(path, "\n", 0600).ok());
  EXPECT_FALSE(source().ok());
  EXPECT_EQ(*StaticTokenSource("x")(), "x");
}

}  // namespace
}  // namespace ambit::caclient
