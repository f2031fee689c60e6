#include "redirect/netns_exec.h"

#include <gtest/gtest.h>

namespace ambit::redirect {
namespace {

TEST(RunInNetns, FeedsStdinAndCollectsStdout) {
  std::string big(1 << 20, 'x');  // larger than a pipe buffer, both ways
  auto out = RunInNetns(-1, {"cat"}, big);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_EQ(out->out, big);
}

TEST(RunInNetns, ReportsExitCodeAndStderr) {
  auto out = RunInNetns(-1, {"sh", "-c", "echo oops >&2; exit 3"});
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_EQ(out->err, "oops\n");
}

TEST(RunInNetns, ChildThatIgnoresStdinDoesNotKillUs) {
  std::string big(1 << 20, 'y');
  auto out = RunInNetns(-1, {"true"}, big);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(out->exit_code, 0);
}

TEST(RunInNetns, MissingCommandIsAnError) {
  auto out = RunInNetns(-1, {"ambit-no-such-command"});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(out.error().ToString().find("ambit-no-such-command"), std::string::npos);
}

TEST(RunInNetns, BadNamespaceFdIsAnError) {
  auto out = RunInNetns(0, {"true"});  // stdin is not a namespace
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().ToString().find("entering the network namespace"), std::string::npos);
}

TEST(RunInNetns, TimeoutKillsTheChild) {
  auto start = std::chrono::steady_clock::now();
  auto out = RunInNetns(-1, {"sleep", "10"}, {}, std::chrono::milliseconds(200));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(CommandLine, JoinsArguments) { EXPECT_EQ(CommandLine({"nft", "-f", "-"}), "nft -f -"); }

}  // namespace
}  // namespace ambit::redirect
