#include <gtest/gtest.h>

#include "config/names.h"

namespace ambit::config {
namespace {

TEST(NamesTest, Dns1123Label) {
  EXPECT_EQ(CheckDns1123Label("reviews-v1"), "");
  EXPECT_EQ(CheckDns1123Label("0abc"), "");
  EXPECT_NE(CheckDns1123Label(""), "");
  EXPECT_NE(CheckDns1123Label("-a"), "");
  EXPECT_NE(CheckDns1123Label("a-"), "");
  EXPECT_NE(CheckDns1123Label("A"), "");
  EXPECT_NE(CheckDns1123Label("a.b"), "");
  EXPECT_EQ(CheckDns1123Label(std::string(63, 'a')), "");
  EXPECT_NE(CheckDns1123Label(std::string(64, 'a')), "");
}

TEST(NamesTest, Dns1123SubdomainAnd1035) {
  EXPECT_EQ(CheckDns1123Subdomain("a.b-c.d"), "");
  EXPECT_NE(CheckDns1123Subdomain("a..b"), "");
  EXPECT_NE(CheckDns1123Subdomain("a."), "");
  EXPECT_NE(CheckDns1123Subdomain(std::string(254, 'a')), "");
  EXPECT_EQ(CheckDns1035Label("svc1"), "");
  EXPECT_NE(CheckDns1035Label("1svc"), "");
}

TEST(NamesTest, LabelKeysAndValues) {
  EXPECT_EQ(CheckQualifiedName("app"), "");
  EXPECT_EQ(CheckQualifiedName("istio.io/dataplane-mode"), "");
  EXPECT_EQ(CheckQualifiedName("A_b.c"), "");
  EXPECT_NE(CheckQualifiedName("/a"), "");
  EXPECT_NE(CheckQualifiedName("Istio.io/x"), "");
  EXPECT_NE(CheckQualifiedName("a/b/c"), "");
  EXPECT_NE(CheckQualifiedName(std::string(64, 'a')), "");
  EXPECT_EQ(CheckLabelValue(""), "");
  EXPECT_EQ(CheckLabelValue("v1.2_x"), "");
  EXPECT_NE(CheckLabelValue("a b"), "");
  EXPECT_NE(CheckLabelValue("-a"), "");
}

TEST(NamesTest, PortNamesAndEnv) {
  EXPECT_EQ(CheckIanaServiceName("http"), "");
  EXPECT_EQ(CheckIanaServiceName("http-2"), "");
  EXPECT_NE(CheckIanaServiceName("8080"), "");
  EXPECT_NE(CheckIanaServiceName("a--b"), "");
  EXPECT_NE(CheckIanaServiceName("http-metrics-port"), "");  // 17 > 15
  EXPECT_EQ(CheckEnvVarName("LOG_DIR"), "");
  EXPECT_NE(CheckEnvVarName("A=B"), "");
  EXPECT_NE(CheckEnvVarName(""), "");
}

}  // namespace
}  // namespace ambit::config
