#include "net/tcp_listeners.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "core/unique_fd.h"

namespace ambit::net {
namespace {

// A TCP socket bound to |loopback| of |family| on an ephemeral port; listening
// unless |listen| is false. Returns the port through |port|.
UniqueFd Bound(int family, bool listen, std::uint16_t& port) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.valid());
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return UniqueFd();
  if (listen) {
    EXPECT_EQ(::listen(fd.get(), 8), 0);
  }
  len = sizeof ss;
  EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
  port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                 : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

class TcpListenersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Asking about a namespace enters it (setns), which needs CAP_SYS_ADMIN.
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (setns)";
    auto here = Netns::Current();
    ASSERT_TRUE(here.ok()) << here.error().ToString();
    here_ = std::make_unique<Netns>(std::move(here).value());
  }
  // TcpPortListening in the test's own namespace; a failed query fails the test.
  bool ListeningHere(std::uint16_t port) {
    auto r = TcpPortListening(*here_, port);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() && *r;
  }
  std::unique_ptr<Netns> here_;
};

TEST_F(TcpListenersTest, FindsAnIpv4Listener) {
  std::uint16_t port = 0;
  UniqueFd listener = Bound(AF_INET, true, port);
  EXPECT_TRUE(ListeningHere(port));
}

TEST_F(TcpListenersTest, FindsAnIpv6Listener) {
  std::uint16_t port = 0;
  UniqueFd listener = Bound(AF_INET6, true, port);
  if (!listener.valid()) GTEST_SKIP() << "no IPv6 loopback here";
  EXPECT_TRUE(ListeningHere(port));
}

TEST_F(TcpListenersTest, BoundButNotListeningAndClosedPortsAreNot) {
  std::uint16_t bound_port = 0;
  UniqueFd bound = Bound(AF_INET, false, bound_port);
  EXPECT_FALSE(ListeningHere(bound_port));

  std::uint16_t closed_port = 0;
  Bound(AF_INET, true, closed_port);  // closed at once
  EXPECT_FALSE(ListeningHere(closed_port));
}

TEST_F(TcpListenersTest, ConnectionsLeftOnAPortAfterItsListenerClosedAreNotAListener) {
  std::uint16_t port = 0;
  UniqueFd listener = Bound(AF_INET, true, port);
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid());
  listener = UniqueFd();  // the accepted connection keeps using |port|, established
  EXPECT_FALSE(ListeningHere(port));
}

TEST_F(TcpListenersTest, AnswersForTheGivenNamespaceOnly) {
  // A thread moves itself into a new namespace (unshare changes only the calling
  // thread) and listens there; the port is listening there and not here.
  std::promise<std::uint16_t> listening;
  std::promise<void> done;
  std::promise<std::unique_ptr<Netns>> theirs;
  std::thread other([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      theirs.set_value(nullptr);
      listening.set_value(0);
      return;
    }
    auto ns = Netns::Current();
    theirs.set_value(ns.ok() ? std::make_unique<Netns>(std::move(ns).value()) : nullptr);
    UniqueFd lo(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    // A new namespace's loopback is down; binding to 0.0.0.0 needs no address.
    sockaddr_in any{};
    any.sin_family = AF_INET;
    std::uint16_t port = 0;
    if (::bind(lo.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) == 0 && ::listen(lo.get(), 1) == 0) {
      socklen_t len = sizeof any;
      ::getsockname(lo.get(), reinterpret_cast<sockaddr*>(&any), &len);
      port = ntohs(any.sin_port);
    }
    listening.set_value(port);
    done.get_future().wait();  // keep the listener (and the namespace) alive
  });
  auto ns = theirs.get_future().get();
  std::uint16_t port = listening.get_future().get();
  auto finish = [&] {
    done.set_value();
    other.join();
  };
  if (!ns || port == 0) {
    finish();
    GTEST_SKIP() << "cannot make a network namespace here";
  }
  auto there = TcpPortListening(*ns, port);
  auto here = TcpPortListening(*here_, port);
  finish();
  ASSERT_TRUE(there.ok()) << there.error().ToString();
  ASSERT_TRUE(here.ok()) << here.error().ToString();
  EXPECT_TRUE(*there);
  EXPECT_FALSE(*here);
}

}  // namespace
}  // namespace ambit::net
