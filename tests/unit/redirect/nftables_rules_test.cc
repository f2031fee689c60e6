#include "redirect/nftables_rules.h"

#include <gtest/gtest.h>

#include "golden.h"

namespace ambit::redirect {
namespace {

using testing::CompareWithGolden;

TEST(NftablesRules, DefaultInstallScriptMatchesGolden) {
  EXPECT_EQ(CompareWithGolden("nftables_default.golden", NftablesInstallScript({})), "");
}

TEST(NftablesRules, WithoutDnsCaptureMatchesGolden) {
  RedirectOptions options;
  options.dns_capture = false;
  EXPECT_EQ(CompareWithGolden("nftables_no_dns.golden", NftablesInstallScript(options)), "");
}

TEST(NftablesRules, Ipv6MatchesGolden) {
  RedirectOptions options;
  options.ipv6 = true;
  EXPECT_EQ(CompareWithGolden("nftables_ipv6.golden", NftablesInstallScript(options)), "");
}

TEST(NftablesRules, RemoveScriptMatchesGolden) {
  EXPECT_EQ(CompareWithGolden("nftables_remove.golden", NftablesRemoveScript()), "");
}

TEST(NftablesRules, RawTableOnlyWithDnsCapture) {
  RedirectOptions options;
  EXPECT_EQ(NftablesTables(options).size(), 3u);
  options.dns_capture = false;
  auto tables = NftablesTables(options);
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].name, "istio-ambient-nat");
  EXPECT_EQ(tables[1].name, "istio-ambient-mangle");
  EXPECT_EQ(tables[0].listing.find("15053"), std::string::npos);
}

TEST(NftablesRules, HbonePortIsNeverRedirected) {
  const std::string nat = NftablesTables({})[0].listing;
  // The only inbound redirect excludes 15008 in the same rule.
  EXPECT_NE(nat.find("tcp dport != 15008 meta mark & 0x00000fff != 0x00000539 counter redirect to :15006"),
            std::string::npos);
  EXPECT_EQ(nat.find("redirect to :15008"), std::string::npos);
}

TEST(NftablesRules, EveryTableIsReplacedAtomically) {
  // Each table is first created (so the delete cannot fail) and deleted, then
  // recreated, all in one script = one nft transaction.
  const std::string script = NftablesInstallScript({});
  for (std::string_view name : kNftTableNames) {
    const std::string drop = "table inet " + std::string(name) + "\ndelete table inet " + std::string(name) + "\n";
    const auto at = script.find(drop);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_LT(at, script.find("table inet " + std::string(name) + " {")) << name;
  }
}

TEST(NftablesRules, ListingComparisonIgnoresWhitespaceOnly) {
  EXPECT_TRUE(SameNftListing("table inet x {\n\tchain a {\n\t}\n}\n", "table inet x {\n  chain a {\n\n  }\n}"));
  EXPECT_FALSE(SameNftListing("table inet x { chain a { accept } }", "table inet x { chain a { drop } }"));
  EXPECT_FALSE(SameNftListing("table inet x { chain a { accept } }", ""));
}

}  // namespace
}  // namespace ambit::redirect
