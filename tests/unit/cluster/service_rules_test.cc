#include "cluster/service_rules.h"

#include <gtest/gtest.h>

namespace ambit::cluster {
namespace {

TEST(ServiceRules, ReplacesTableInOneTransaction) {
  std::string rules = BuildServiceRuleset({});
  EXPECT_EQ(rules.find("table ip ambit_services\ndelete table ip ambit_services\n"), 0u);
  EXPECT_NE(rules.find("type nat hook output priority -90;"), std::string::npos);
  EXPECT_EQ(rules.find("vmap"), std::string::npos);
}

TEST(ServiceRules, SpreadsOverEndpoints) {
  ServiceRule svc{
      "default/web", "10.96.0.10", {{"TCP", 80, {{"10.244.1.2", 8080}, {"10.244.2.3", 8080}}}}};
  std::string rules = BuildServiceRuleset({svc});
  EXPECT_NE(rules.find("10.96.0.10 . tcp . 80 : jump svc_0"), std::string::npos) << rules;
  EXPECT_NE(rules.find("meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.244.1.2 . "
                       "8080, 1 : 10.244.2.3 . 8080 }"),
            std::string::npos)
      << rules;
}

TEST(ServiceRules, RejectsPortsWithoutEndpoints) {
  ServiceRule svc{"default/db", "10.96.0.11", {{"TCP", 5432, {}}, {"UDP", 53, {}}}};
  std::string rules = BuildServiceRuleset({svc});
  EXPECT_EQ(rules.find("jump"), std::string::npos);
  EXPECT_NE(rules.find("10.96.0.11 . tcp . 5432, 10.96.0.11 . udp . 53"), std::string::npos)
      << rules;
  EXPECT_NE(rules.find("reject with tcp reset"), std::string::npos);
}

TEST(ServiceRules, Deterministic) {
  ServiceRule svc{"a/b", "10.96.0.12", {{"TCP", 1, {{"10.244.1.9", 2}}}}};
  EXPECT_EQ(BuildServiceRuleset({svc}), BuildServiceRuleset({svc}));
}

}  // namespace
}  // namespace ambit::cluster
