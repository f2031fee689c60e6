#include "net/socket_address.h"

#include <netinet/in.h>

#include <gtest/gtest.h>

namespace ambit::net {
namespace {

TEST(SocketAddress, ParsesAndPrintsIpv4) {
  auto a = SocketAddress::Parse("10.1.2.3:8080");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_TRUE(a->ip().is_v4());
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->ToString(), "10.1.2.3:8080");
}

TEST(IpAddress, PrintsEveryIpv4OctetWidth) {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "10.0.100.9", "1.20.3.40", "192.168.10.200"}) {
    auto ip = IpAddress::Parse(text);
    ASSERT_TRUE(ip.ok()) << text;
    EXPECT_EQ(ip->ToString(), text);
  }
}

TEST(SocketAddress, ParsesAndPrintsBracketedIpv6) {
  auto a = SocketAddress::Parse("[fd00::1]:15008");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_TRUE(a->ip().is_v6());
  EXPECT_EQ(a->ToString(), "[fd00::1]:15008");
}

TEST(SocketAddress, RejectsMalformedText) {
  for (const char* bad : {"", "10.1.2.3", "10.1.2.3:", "10.1.2.3:65536", "10.1.2.3:-1", "fd00::1:80",
                          "[fd00::1]80", "[10.0.0.1]:80", "host:80", "10.1.2.3:80x", "[::1]:",
                          "10.1.2.300:1"}) {
    EXPECT_FALSE(SocketAddress::Parse(bad).ok()) << bad;
  }
}

TEST(SocketAddress, NormalizesV4MappedSockaddr) {
  auto v4 = SocketAddress::Parse("192.168.0.7:99");
  ASSERT_TRUE(v4.ok());
  sockaddr_storage ss;
  socklen_t len = v4->ToSockaddrV6(&ss);
  EXPECT_EQ(ss.ss_family, AF_INET6);
  auto back = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *v4);
  EXPECT_TRUE(back->ip().is_v4());
}

TEST(SocketAddress, RoundTripsThroughSockaddr) {
  for (const char* text : {"127.0.0.1:1", "[::1]:65535"}) {
    auto a = SocketAddress::Parse(text);
    ASSERT_TRUE(a.ok());
    sockaddr_storage ss;
    socklen_t len = a->ToSockaddr(&ss);
    auto b = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(std::hash<SocketAddress>()(*a), std::hash<SocketAddress>()(*b));
  }
}

TEST(IpAddress, DistinguishesFamiliesAndUnspecified) {
  EXPECT_TRUE(IpAddress::Parse("0.0.0.0")->IsUnspecified());
  EXPECT_TRUE(IpAddress::Parse("::")->IsUnspecified());
  EXPECT_FALSE(IpAddress::Parse("::1")->IsUnspecified());
  EXPECT_NE(*IpAddress::Parse("::"), *IpAddress::Parse("0.0.0.0"));
}

TEST(SocketAddress, FromPartsTakesAnIpAndAPortGivenApart) {
  auto addr = SocketAddress::FromParts("127.0.0.1", 15000);
  ASSERT_TRUE(addr.ok()) << addr.error().ToString();
  EXPECT_EQ(addr->ToString(), "127.0.0.1:15000");
  auto bad_ip = SocketAddress::FromParts("127.0.0.x", 80);
  ASSERT_FALSE(bad_ip.ok());
  EXPECT_NE(bad_ip.error().ToString().find("127.0.0.x"), std::string::npos);
  auto bad_port = SocketAddress::FromParts("::1", 65536);
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.error().ToString().find("65536"), std::string::npos);
}

}  // namespace
}  // namespace ambit::net
