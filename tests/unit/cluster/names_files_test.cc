#include "cluster/names_files.h"

#include <gtest/gtest.h>

namespace ambit::cluster {
namespace {

TEST(NamesFiles, HostsHasEveryFormForOwnNamespace) {
  std::string hosts = BuildHostsFile("client", "shop", "10.244.2.5",
                                     {{"web", "shop", "10.96.0.10"}, {"db", "data", "10.96.0.11"}});
  EXPECT_NE(hosts.find("10.244.2.5\tclient\n"), std::string::npos);
  EXPECT_NE(hosts.find("10.96.0.10\tweb.shop.svc.cluster.local web.shop.svc web.shop web\n"),
            std::string::npos)
      << hosts;
  // Another namespace's service gets no bare short name.
  EXPECT_NE(hosts.find("10.96.0.11\tdb.data.svc.cluster.local db.data.svc db.data\n"),
            std::string::npos)
      << hosts;
}

TEST(NamesFiles, SkipsHeadlessServices) {
  std::string hosts = BuildHostsFile("p", "ns", "", {{"h", "ns", ""}});
  EXPECT_EQ(hosts.find(" h\n"), std::string::npos);
}

TEST(NamesFiles, ResolvConfSearchList) {
  std::string resolv = BuildResolvConf("shop", "127.0.0.1");
  EXPECT_NE(resolv.find("search shop.svc.cluster.local svc.cluster.local cluster.local\n"),
            std::string::npos);
  EXPECT_NE(resolv.find("nameserver 127.0.0.1\n"), std::string::npos);
}

}  // namespace
}  // namespace ambit::cluster
