#include "net/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/unique_fd.h"

namespace ambit::net {
namespace {

int GetInt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

TEST(SocketOptions, StreamOptionsSetNoDelayAndKeepaliveDefaults) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(ApplyStreamOptions(fd.get()).ok());
  EXPECT_EQ(GetInt(fd.get(), IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(GetInt(fd.get(), SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(GetInt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE), 180);
  EXPECT_EQ(GetInt(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL), 180);
  EXPECT_EQ(GetInt(fd.get(), IPPROTO_TCP, TCP_KEEPCNT), 9);
}

TEST(SocketOptions, ReusePortIsSet) {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM, 0));
  ASSERT_TRUE(SetReusePort(fd.get()).ok());
  EXPECT_EQ(GetInt(fd.get(), SOL_SOCKET, SO_REUSEPORT), 1);
}

TEST(SocketOptions, MarkTransparentAndFreebindNeedPrivilege) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: SO_MARK/IP_TRANSPARENT need CAP_NET_ADMIN";
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(SetMark(fd.get(), kInpodMark).ok());
  auto mark = GetMark(fd.get());
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(*mark, 0x539u);
  ASSERT_TRUE(SetTransparent(fd.get(), AF_INET).ok());
  EXPECT_EQ(GetInt(fd.get(), SOL_IP, IP_TRANSPARENT), 1);
  ASSERT_TRUE(SetFreebind(fd.get(), AF_INET).ok());
  EXPECT_EQ(GetInt(fd.get(), SOL_IP, IP_FREEBIND), 1);
  UniqueFd fd6(::socket(AF_INET6, SOCK_STREAM, 0));
  ASSERT_TRUE(SetTransparent(fd6.get(), AF_INET6).ok());
  EXPECT_EQ(GetInt(fd6.get(), SOL_IPV6, IPV6_TRANSPARENT), 1);
}

TEST(SocketOptions, OriginalDestinationOfAnUnredirectedConnectionIsNotFound) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  auto local = LocalAddress(listener.get());
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->ip().ToString(), "127.0.0.1");
  EXPECT_NE(local->port(), 0);

  UniqueFd client(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_storage ss;
  socklen_t len = local->ToSockaddr(&ss);
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  UniqueFd accepted(::accept(listener.get(), nullptr, nullptr));
  ASSERT_TRUE(accepted.valid());
  auto peer = PeerAddress(accepted.get());
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(*peer, *LocalAddress(client.get()));

  auto orig = OriginalDestination(accepted.get());
  // Without nf_conntrack there is no entry at all (ENOENT) or the option is
  // unknown; with it, an unredirected connection reports its own destination.
  if (orig.ok()) {
    EXPECT_EQ(*orig, *local);
  } else {
    EXPECT_NE(orig.error().ToString().find("SO_ORIGINAL_DST"), std::string::npos);
  }
}

}  // namespace
}  // namespace ambit::net
