#include "proxy/readiness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace ambit::proxy {
namespace {

TEST(ReadinessTest, BlockersAndChecks) {
  Readiness r;
  EXPECT_TRUE(r.ready());
  std::atomic<bool> synced{false};
  r.AddCheck("xds", [&] { return synced.load(); });
  r.Block("zds");
  EXPECT_EQ(r.pending(), (std::vector<std::string>{"xds", "zds"}));
  synced = true;
  EXPECT_EQ(r.pending(), (std::vector<std::string>{"zds"}));
  r.Unblock("zds");
  EXPECT_TRUE(r.ready());
  synced = false;  // checks are live: readiness can be lost again
  EXPECT_FALSE(r.ready());
}

}  // namespace
}  // namespace ambit::proxy
