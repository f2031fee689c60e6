#include "redirect/policy_routes.h"

#include <gtest/gtest.h>

#include "golden.h"
#include "redirect/options.h"

namespace ambit::redirect {
namespace {

using testing::CompareWithGolden;

TEST(PolicyRoutes, CommandsMatchGolden) {
  std::vector<IpArgs> all = PolicyRouteAddCommands(IpFamily::kV4);
  for (auto& c : PolicyRouteAddCommands(IpFamily::kV6)) all.push_back(c);
  for (IpFamily f : {IpFamily::kV4, IpFamily::kV6}) {
    all.push_back(PolicyRuleQuery(f));
    all.push_back(PolicyRouteQuery(f));
    all.push_back(PolicyRuleDelete(f));
    all.push_back(PolicyRouteDelete(f));
  }
  EXPECT_EQ(CompareWithGolden("policy_routes.golden", RenderIpCommands(all)), "");
}

// Output of `ip -j rule show pref 32764` (iproute2 6.1) after the rule was added.
TEST(PolicyRoutes, RecognisesOurRule) {
  auto has = HasPolicyRule(R"([{"priority":32764,"src":"all","fwmark":"0x111","fwmask":"0xfff","table":"100"}])");
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
}

TEST(PolicyRoutes, RejectsOtherRules) {
  for (const char* json : {R"([])", "", R"([{"priority":32764,"src":"all","fwmark":"0x111","table":"100"}])",
                           R"([{"priority":32764,"src":"all","fwmark":"0x539","fwmask":"0xfff","table":"100"}])",
                           R"([{"priority":32765,"src":"all","fwmark":"0x111","fwmask":"0xfff","table":"100"}])"}) {
    auto has = HasPolicyRule(json);
    ASSERT_TRUE(has.ok()) << json;
    EXPECT_FALSE(*has) << json;
  }
}

TEST(PolicyRoutes, RecognisesOurRoute) {
  auto has = HasPolicyRoute(R"([{"type":"local","dst":"default","dev":"lo","scope":"host","flags":[]}])");
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
  auto other = HasPolicyRoute(R"([{"type":"unicast","dst":"default","dev":"eth0","flags":[]}])");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other);
}

TEST(PolicyRoutes, GarbageIsAnError) {
  auto bad = HasPolicyRule("Error: something");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("Error: something"), std::string::npos);
  EXPECT_FALSE(HasPolicyRoute("{}").ok());
}

TEST(Options, ParsesBackends) {
  EXPECT_EQ(*ParseBackend("nftables"), Backend::kNftables);
  EXPECT_EQ(*ParseBackend("nft"), Backend::kNftables);
  EXPECT_EQ(*ParseBackend("iptables"), Backend::kIptables);
  auto bad = ParseBackend("ebpf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ToString(Backend::kIptables), "iptables");
  EXPECT_EQ(RedirectOptions{}.backend, Backend::kNftables);
}

}  // namespace
}  // namespace ambit::redirect
