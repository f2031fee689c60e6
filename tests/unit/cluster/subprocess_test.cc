#include "cluster/subprocess.h"

#include <gtest/gtest.h>

#include "cluster/process.h"

namespace ambit::cluster {
namespace {

TEST(Subprocess, CapturesOutputAndExitCode) {
  CommandOptions opts;
  opts.stdin_data = "hello";
  auto r = RunCommand({"sh", "-c", "cat; echo oops >&2; exit 3"}, opts);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(Subprocess, CheckedReportsFailure) {
  auto r = RunChecked({"sh", "-c", "echo bad thing >&2; exit 1"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("bad thing"), std::string::npos);
}

TEST(Subprocess, MissingCommand) {
  auto r = RunCommand({"no-such-command-ambit"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(FindExecutable("no-such-command-ambit"));
  EXPECT_TRUE(FindExecutable("sh"));
}

TEST(Subprocess, Timeout) {
  CommandOptions opts;
  opts.timeout_seconds = 1;
  auto r = RunCommand({"sleep", "5"}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
}

TEST(Process, IdentifiesSelfAndPidFiles) {
  auto self = IdentifyProcess(::getpid());
  ASSERT_TRUE(self);
  EXPECT_TRUE(IsAlive(*self));
  ProcessId stale = *self;
  stale.start_time += 1;
  EXPECT_FALSE(IsAlive(stale));
  std::string path = ::testing::TempDir() + "/pidfile_test";
  ASSERT_TRUE(WritePidFile(path, *self).ok());
  auto back = ReadPidFile(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, self->pid);
  EXPECT_EQ(back->start_time, self->start_time);
}

}  // namespace
}  // namespace ambit::cluster
