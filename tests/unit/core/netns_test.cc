#include "core/netns.h"

#include <sched.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <thread>

namespace ambit {
namespace {

unsigned long CurrentInode() {
  auto ns = Netns::Current();
  EXPECT_TRUE(ns.ok());
  auto ino = ns->Inode();
  EXPECT_TRUE(ino.ok());
  return *ino;
}

// Creates a fresh network namespace on a helper thread and returns a handle to it.
Result<Netns> MakeScratchNamespace() {
  Result<Netns> out = Error(ErrorCode::kInternal, "not run");
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      out = ErrnoError("unshare(CLONE_NEWNET)", errno);
      return;
    }
    out = Netns::Current();
  });
  t.join();
  return out;
}

TEST(NetnsGuard, EntersAndRestoresThePreviousNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root (CAP_SYS_ADMIN) to create a namespace";
  auto scratch = MakeScratchNamespace();
  ASSERT_TRUE(scratch.ok()) << scratch.error().ToString();
  const unsigned long before = CurrentInode();
  const unsigned long target = *scratch->Inode();
  ASSERT_NE(before, target);
  {
    auto guard = NetnsGuard::Enter(*scratch);
    ASSERT_TRUE(guard.ok()) << guard.error().ToString();
    EXPECT_EQ(CurrentInode(), target);
  }
  EXPECT_EQ(CurrentInode(), before);
}

TEST(NetnsGuard, MissingNamespaceIsAnErrorAndLeavesThreadInPlace) {
  const unsigned long before = CurrentInode();
  auto guard = NetnsGuard::Enter("/run/netns/ambit-does-not-exist");
  ASSERT_FALSE(guard.ok());
  EXPECT_NE(guard.error().ToString().find("/run/netns/ambit-does-not-exist"), std::string::npos);
  EXPECT_EQ(CurrentInode(), before);
}

}  // namespace
}  // namespace ambit
