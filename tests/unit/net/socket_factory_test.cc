#include "net/socket_factory.h"

#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "net/socket_options.h"

namespace ambit::net {
namespace {

// Inode of the namespace a socket belongs to (SIOCGSKNS).
unsigned long SocketNetnsInode(int fd) {
  UniqueFd ns(::ioctl(fd, SIOCGSKNS));
  EXPECT_TRUE(ns.valid()) << "SIOCGSKNS: " << errno;
  struct stat st {};
  EXPECT_EQ(::fstat(ns.get(), &st), 0);
  return st.st_ino;
}

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

TEST(DefaultSocketFactory, ListenerBindsPortZeroWithReusePort) {
  DefaultSocketFactory factory;
  auto fd = factory.NewListener(SocketAddress(IpAddress::Loopback4(), 0), ListenOptions{});
  ASSERT_TRUE(fd.ok()) << fd.error().ToString();
  auto local = LocalAddress(fd->get());
  ASSERT_TRUE(local.ok());
  EXPECT_NE(local->port(), 0);
  // A second listener on the same port succeeds only because of SO_REUSEPORT.
  auto again = factory.NewListener(*local, ListenOptions{});
  EXPECT_TRUE(again.ok());
  ListenOptions no_reuse;
  no_reuse.reuse_port = false;
  EXPECT_FALSE(factory.NewListener(*local, no_reuse).ok());
}

TEST(NetnsSocketFactory, CreatesMarkedSocketsInsideTheNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root to create a namespace";
  auto scratch = MakeScratchNamespace();
  ASSERT_TRUE(scratch.ok()) << scratch.error().ToString();
  const unsigned long target = *scratch->Inode();
  const unsigned long own = *Netns::Current()->Inode();
  ASSERT_NE(target, own);

  NetnsSocketFactory factory(std::make_shared<const Netns>(std::move(*scratch)));
  auto fd = factory.NewTcpSocket(AF_INET);
  ASSERT_TRUE(fd.ok()) << fd.error().ToString();
  EXPECT_EQ(SocketNetnsInode(fd->get()), target);
  EXPECT_EQ(*GetMark(fd->get()), kInpodMark);
  // The calling thread is back in its own namespace.
  EXPECT_EQ(*Netns::Current()->Inode(), own);

  // Listeners too; a wildcard bind works in the pod's namespace.
  auto listener = factory.NewListener(SocketAddress(*IpAddress::Parse("0.0.0.0"), 0), {});
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  EXPECT_EQ(SocketNetnsInode(listener->get()), target);
}

}  // namespace
}  // namespace ambit::net
