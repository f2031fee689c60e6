#include <gtest/gtest.h>

#include <map>

#include "inpod/lookup_policy.h"

namespace ambit::inpod {
namespace {

TEST(LookupEnrollmentPolicy, FollowsTheStoresDecision) {
  std::map<std::string, PodDecision> store;
  store["shop/web-0"] = {true, "", "web"};
  store["shop/db-0"] = {false, "opted out", ""};
  LookupEnrollmentPolicy policy([&](const PodEvent& pod) -> std::optional<PodDecision> {
    auto it = store.find(pod.ns + "/" + pod.name);
    if (it == store.end()) return std::nullopt;
    return it->second;
  });
  PodEvent web{"shop", "web-0", "", "", "", {}};
  PodEvent db{"shop", "db-0", "", "", "", {}};
  PodEvent ghost{"shop", "ghost", "", "", "", {}};
  EXPECT_TRUE(policy.ShouldEnroll(web));
  EXPECT_FALSE(policy.ShouldEnroll(db));
  EXPECT_FALSE(policy.ShouldEnroll(ghost));
  EXPECT_EQ(policy.Describe(web), (WorkloadInfo{"web-0", "shop", "web"}));
  EXPECT_EQ(policy.Describe(db).service_account, "default");
  // Changes are seen on the next question.
  store["shop/web-0"].enroll = false;
  EXPECT_FALSE(policy.ShouldEnroll(web));
}

}  // namespace
}  // namespace ambit::inpod
