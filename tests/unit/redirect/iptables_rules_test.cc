#include "redirect/iptables_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "golden.h"

namespace ambit::redirect {
namespace {

using testing::CompareWithGolden;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(AMBIT_REDIRECT_TESTDATA) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(IptablesRules, FreshInstallScriptMatchesGolden) {
  auto script = IptablesRestoreScript(IptablesRules({}, IpFamily::kV4), {});
  EXPECT_EQ(CompareWithGolden("iptables_default.golden", script), "");
}

TEST(IptablesRules, WithoutDnsCaptureMatchesGolden) {
  RedirectOptions options;
  options.dns_capture = false;
  auto script = IptablesRestoreScript(IptablesRules(options, IpFamily::kV4), {});
  EXPECT_EQ(CompareWithGolden("iptables_no_dns.golden", script), "");
}

TEST(IptablesRules, Ip6tablesMatchesGolden) {
  auto script = IptablesRestoreScript(IptablesRules({}, IpFamily::kV6), {});
  EXPECT_EQ(CompareWithGolden("ip6tables_default.golden", script), "");
}

// iptables-save output captured (iptables 1.8.9, nf_tables) right after
// installing the default rule set in a scratch namespace.
TEST(IptablesRules, RealSaveOutputIsRecognisedAsUpToDate) {
  auto state = ParseIptablesSave(ReadTestdata("iptables_save_installed.txt"));
  ASSERT_EQ(state.size(), 3u);
  EXPECT_TRUE(state["nat"].chains.contains("ISTIO_PRERT"));
  EXPECT_TRUE(state["nat"].chains.contains("PREROUTING"));
  EXPECT_TRUE(IptablesUpToDate(IptablesRules({}, IpFamily::kV4), state));
  // The same namespace does not match a rule set without DNS capture: raw is a leftover.
  RedirectOptions no_dns;
  no_dns.dns_capture = false;
  EXPECT_FALSE(IptablesUpToDate(IptablesRules(no_dns, IpFamily::kV4), state));
}

TEST(IptablesRules, DriftIsDetected) {
  auto state = ParseIptablesSave(ReadTestdata("iptables_save_installed.txt"));
  auto& nat = state["nat"].rules;
  auto it = std::find_if(nat.begin(), nat.end(), [](const std::string& r) { return r.find("15001") != std::string::npos; });
  ASSERT_NE(it, nat.end());
  nat.erase(it);
  EXPECT_FALSE(IptablesUpToDate(IptablesRules({}, IpFamily::kV4), state));
}

TEST(IptablesRules, DuplicateJumpIsDrift) {
  auto state = ParseIptablesSave(ReadTestdata("iptables_save_installed.txt"));
  state["mangle"].rules.push_back("-A PREROUTING -j ISTIO_PRERT");
  EXPECT_FALSE(IptablesUpToDate(IptablesRules({}, IpFamily::kV4), state));
  // Reapplying deletes both jumps before adding one back.
  auto script = IptablesRestoreScript(IptablesRules({}, IpFamily::kV4), state);
  size_t deletes = 0;
  for (size_t pos = 0; (pos = script.find("-D PREROUTING -j ISTIO_PRERT\n", pos)) != std::string::npos; ++pos) {
    ++deletes;
  }
  EXPECT_EQ(deletes, 4u);  // mangle x2, nat x1, raw x1
}

TEST(IptablesRules, EmptyNamespaceIsNotUpToDate) {
  EXPECT_FALSE(IptablesUpToDate(IptablesRules({}, IpFamily::kV4), {}));
}

TEST(IptablesRules, RemovalOfInstalledRulesMatchesGolden) {
  auto state = ParseIptablesSave(ReadTestdata("iptables_save_installed.txt"));
  EXPECT_EQ(CompareWithGolden("iptables_remove.golden", IptablesRestoreScript({}, state)), "");
}

TEST(IptablesRules, RemovalOfNothingIsEmpty) {
  const char* clean =
      "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -d 10.0.0.1/32 -j ACCEPT\nCOMMIT\n";
  EXPECT_EQ(IptablesRestoreScript({}, ParseIptablesSave(clean)), "");
  EXPECT_TRUE(OwnedIptablesRules(ParseIptablesSave(clean)).empty());
}

TEST(IptablesRules, ForeignRulesAreNeverTouched) {
  std::string text = ReadTestdata("iptables_save_installed.txt");
  auto state = ParseIptablesSave(text);
  state["nat"].rules.push_back("-A OUTPUT -d 10.0.0.1/32 -j ACCEPT");
  state["filter"].chains.insert("KUBE-FOO");
  state["filter"].rules.push_back("-A KUBE-FOO -j DROP");
  auto script = IptablesRestoreScript({}, state);
  EXPECT_EQ(script.find("10.0.0.1"), std::string::npos);
  EXPECT_EQ(script.find("KUBE-FOO"), std::string::npos);
  EXPECT_EQ(script.find("*filter"), std::string::npos);
}

TEST(IptablesRules, ParserSkipsCommentsAndCounters) {
  auto state = ParseIptablesSave("# Generated\n*raw\n:PREROUTING ACCEPT [12:34]\n:ISTIO_PRERT - [0:0]\r\nCOMMIT\n# done\n");
  ASSERT_EQ(state.count("raw"), 1u);
  EXPECT_EQ(state["raw"].chains, (std::set<std::string>{"PREROUTING", "ISTIO_PRERT"}));
  EXPECT_TRUE(state["raw"].rules.empty());
  // An owned chain without rules still counts as ours (removal deletes it).
  EXPECT_EQ(OwnedIptablesRules(state).count("raw"), 1u);
}

}  // namespace
}  // namespace ambit::redirect
