// ProxyMain's command line (the signal and drain half runs in the binaries'
// tests: tests/integration/node/ztunnel_binary_test.sh and
// tests/integration/waypoint/waypoint_binary_test.sh).
#include "proxy/main.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ambit::proxy {
namespace {

// Parses |args| (after the program name) with a fresh ProxyMain named |name|
// (a logger is registered per name, so each test uses its own).
struct Parsed {
  std::optional<int> code;
  std::chrono::milliseconds drain{0};
};

Parsed ParseArgs(const std::string& name, ProxyConfig& config, std::vector<std::string> args,
                 std::string* own_flag = nullptr) {
  ProxyMain m(name, "test proxy", config);
  if (own_flag != nullptr) m.app().add_option("--own", *own_flag, "a proxy's own flag");
  m.DescribeDrain("Grace for this test's connections");
  args.insert(args.begin(), name);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Parsed out;
  out.code = m.Parse(static_cast<int>(argv.size()), argv.data());
  out.drain = m.drain();
  return out;
}

TEST(ProxyMainTest, SharedFlagsFillTheConfig) {
  ProxyConfig config;
  std::string own;
  Parsed p = ParseArgs("proxy-main-test-1", config,
                       {"--xds-address",
                        "unix:/x.sock",
                        "--ca-address",
                        "ca:15012",
                        "--credential-file",
                        "/cred",
                        "--trust-domain",
                        "td",
                        "--cluster-id",
                        "c1",
                        "--workers",
                        "3",
                        "--admin-address",
                        "127.0.0.2",
                        "--admin-port",
                        "1500",
                        "--status-address",
                        "127.0.0.3",
                        "--metrics-port",
                        "1502",
                        "--readiness-port",
                        "1521",
                        "--secret-ttl",
                        "1h",
                        "--drain-seconds",
                        "7",
                        "--log-level",
                        "warn",
                        "--own",
                        "mine"},
                       &own);
  EXPECT_FALSE(p.code.has_value());
  EXPECT_EQ(config.xds_address, "unix:/x.sock");
  EXPECT_EQ(config.ca_address, "ca:15012");
  EXPECT_EQ(config.credential_file, "/cred");
  EXPECT_EQ(config.trust_domain, "td");
  EXPECT_EQ(config.cluster_id, "c1");
  EXPECT_EQ(config.workers, 3u);
  EXPECT_EQ(config.admin_address.ToString(), "127.0.0.2:1500");
  EXPECT_EQ(config.metrics_address.ToString(), "127.0.0.3:1502");
  EXPECT_EQ(config.readiness_address.ToString(), "127.0.0.3:1521");
  EXPECT_EQ(config.secret_ttl, std::chrono::hours(1));
  EXPECT_EQ(p.drain, std::chrono::seconds(7));
  EXPECT_EQ(own, "mine");
}

TEST(ProxyMainTest, DefaultsAreIstios) {
  ProxyConfig config;
  Parsed p = ParseArgs("proxy-main-test-2", config, {"--xds-address", "unix:/x.sock"});
  EXPECT_FALSE(p.code.has_value());
  EXPECT_EQ(config.admin_address.ToString(), "127.0.0.1:15000");
  EXPECT_EQ(config.metrics_address.ToString(), "0.0.0.0:15020");
  EXPECT_EQ(config.readiness_address.ToString(), "0.0.0.0:15021");
  EXPECT_EQ(config.secret_ttl, std::chrono::hours(24));
  EXPECT_EQ(p.drain, std::chrono::seconds(5));
}

TEST(ProxyMainTest, BadFlagsEndWithAnExitCode) {
  ProxyConfig config;
  EXPECT_EQ(ParseArgs("proxy-main-test-3", config, {"--help"}).code, 0);
  auto missing = ParseArgs("proxy-main-test-4", config, {});
  ASSERT_TRUE(missing.code.has_value()) << "--xds-address is required";
  EXPECT_NE(*missing.code, 0);
  EXPECT_EQ(
      ParseArgs("proxy-main-test-5", config, {"--xds-address", "x", "--secret-ttl", "1s"}).code, 2);
  EXPECT_EQ(
      ParseArgs("proxy-main-test-6", config, {"--xds-address", "x", "--log-level", "loud"}).code,
      2);
  EXPECT_EQ(
      ParseArgs("proxy-main-test-7", config, {"--xds-address", "x", "--admin-address", "not-an-ip"})
          .code,
      2);
  EXPECT_EQ(
      ParseArgs("proxy-main-test-8", config, {"--xds-address", "x", "--drain-seconds", "-3"}).drain,
      std::chrono::seconds(0));
}

}  // namespace
}  // namespace ambit::proxy
