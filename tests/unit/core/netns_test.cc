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

TEST(NetnsGuard, RepeatedAndNestedGuardsRestoreWhereTheThreadWas) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root (CAP_SYS_ADMIN) to create a namespace";
  auto a = MakeScratchNamespace();
  auto b = MakeScratchNamespace();
  ASSERT_TRUE(a.ok() && b.ok());
  const unsigned long home = CurrentInode();
  for (int i = 0; i < 3; ++i) {  // the outermost guard reuses the thread's cached handle
    auto outer = NetnsGuard::Enter(*a);
    ASSERT_TRUE(outer.ok()) << outer.error().ToString();
    EXPECT_EQ(CurrentInode(), *a->Inode());
    {
      auto inner = NetnsGuard::Enter(*b);
      ASSERT_TRUE(inner.ok()) << inner.error().ToString();
      EXPECT_EQ(CurrentInode(), *b->Inode());
    }
    EXPECT_EQ(CurrentInode(), *a->Inode());  // nested: back to a, not home
  }
  EXPECT_EQ(CurrentInode(), home);
  // A thread that moves for good (outside a guard) and says so: its guards
  // then return it to where it moved, not to where it started.
  std::thread t([&] {
    { auto warm = NetnsGuard::Enter(*a); }  // caches the thread's first namespace
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    NetnsGuard::ThreadNamespaceChanged();
    const unsigned long moved = CurrentInode();
    { auto g = NetnsGuard::Enter(*b); }
    EXPECT_EQ(CurrentInode(), moved);
  });
  t.join();
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
