#include <gtest/gtest.h>

#include "dns/proxy.h"

namespace ambit::dns {
namespace {

TEST(ResolvConf, ReadsNameserversInOrder) {
  auto ns = ParseResolvConfNameservers(
      "# Managed\nsearch a.svc.cluster.local\nnameserver 10.96.0.2\nnameserver fe80::1%eth0 # v6\n"
      "nameserver not-an-ip\nnameserver 127.0.0.53\nnameserver 10.0.0.9\noptions ndots:5\n");
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_EQ(ns[0].ToString(), "10.96.0.2:53");
  EXPECT_EQ(ns[1].ToString(), "[fe80::1]:53");
  EXPECT_EQ(ns[2].ToString(), "127.0.0.53:53");
}

TEST(ResolvConf, EmptyWhenNoneListed) { EXPECT_TRUE(ParseResolvConfNameservers("search x\n").empty()); }

}  // namespace
}  // namespace ambit::dns
