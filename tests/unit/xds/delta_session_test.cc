#include "xds/delta_session.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_resources.h"
#include "xds/type_urls.h"

namespace ambit::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using testing::WorkloadAddress;

class DeltaSessionTest : public ::testing::Test {
 protected:
  void Put(const std::string& name, const std::string& ip) {
    ASSERT_TRUE(store_.Set(kAddressTypeUrl, name, WorkloadAddress("ns", name, ip)).ok());
  }
  std::optional<DeltaDiscoveryResponse> Build(const DeltaSession::Visibility& visible = nullptr) {
    return session_.BuildResponse(kAddressTypeUrl, *store_.Get(kAddressTypeUrl), visible);
  }
  static std::vector<std::string> Names(const DeltaDiscoveryResponse& r) {
    std::vector<std::string> out;
    for (const auto& res : r.resources()) out.push_back(res.name());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::vector<std::string> Removed(const DeltaDiscoveryResponse& r) {
    std::vector<std::string> out(r.removed_resources().begin(), r.removed_resources().end());
    std::sort(out.begin(), out.end());
    return out;
  }
  DeltaDiscoveryRequest Wildcard() {
    DeltaDiscoveryRequest req;
    req.set_type_url(std::string(kAddressTypeUrl));
    return req;
  }

  ResourceStore store_;
  DeltaSession session_;
};

TEST_F(DeltaSessionTest, NothingIsSentBeforeTheClientAsks) {
  Put("a", "10.0.0.1");
  EXPECT_FALSE(Build().has_value());
}

TEST_F(DeltaSessionTest, WildcardGetsEverythingThenOnlyChanges) {
  Put("a", "10.0.0.1");
  Put("b", "10.0.0.2");
  ASSERT_TRUE(session_.OnRequest(Wildcard()).ok());
  auto first = Build();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(Names(*first), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(first->type_url(), kAddressTypeUrl);
  EXPECT_FALSE(first->nonce().empty());
  EXPECT_FALSE(Build().has_value());  // up to date

  Put("b", "10.0.0.22");
  auto second = Build();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Names(*second), std::vector<std::string>{"b"});
  EXPECT_NE(second->nonce(), first->nonce());

  store_.Remove(kAddressTypeUrl, "a");
  auto third = Build();
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(Names(*third).empty());
  EXPECT_EQ(Removed(*third), std::vector<std::string>{"a"});
}

TEST_F(DeltaSessionTest, InitialResourceVersionsSkipWhatTheClientHas) {
  Put("a", "10.0.0.1");
  Put("b", "10.0.0.2");
  DeltaDiscoveryRequest req = Wildcard();
  (*req.mutable_initial_resource_versions())["a"] = store_.Get(kAddressTypeUrl)->at("a").version;
  (*req.mutable_initial_resource_versions())["b"] = "stale";
  (*req.mutable_initial_resource_versions())["gone"] = "v1";
  ASSERT_TRUE(session_.OnRequest(req).ok());
  auto r = Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Names(*r), std::vector<std::string>{"b"});
  EXPECT_EQ(Removed(*r), std::vector<std::string>{"gone"});
}

TEST_F(DeltaSessionTest, FirstResponseIsSentEvenWhenTheClientIsUpToDate) {
  Put("a", "10.0.0.1");
  DeltaDiscoveryRequest req = Wildcard();
  (*req.mutable_initial_resource_versions())["a"] = store_.Get(kAddressTypeUrl)->at("a").version;
  ASSERT_TRUE(session_.OnRequest(req).ok());
  auto r = Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->resources_size(), 0);
  EXPECT_EQ(r->removed_resources_size(), 0);
  EXPECT_FALSE(Build().has_value());
}

TEST_F(DeltaSessionTest, ExplicitSubscriptionsAreAlwaysAnswered) {
  Put("a", "10.0.0.1");
  Put("b", "10.0.0.2");
  DeltaDiscoveryRequest req;
  req.set_type_url(std::string(kAddressTypeUrl));
  req.add_resource_names_subscribe("a");
  req.add_resource_names_subscribe("missing");
  ASSERT_TRUE(session_.OnRequest(req).ok());
  auto r = Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Names(*r), std::vector<std::string>{"a"});          // not b: not subscribed
  EXPECT_EQ(Removed(*r), std::vector<std::string>{"missing"});  // tells it does not exist

  // Re-subscribing sends it again even though the version is unchanged.
  DeltaDiscoveryRequest again;
  again.set_type_url(std::string(kAddressTypeUrl));
  again.add_resource_names_subscribe("a");
  ASSERT_TRUE(session_.OnRequest(again).ok());
  auto r2 = Build();
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(Names(*r2), std::vector<std::string>{"a"});

  // Unsubscribing: no removal is sent (the client dropped it itself), and
  // later changes are not sent.
  DeltaDiscoveryRequest drop;
  drop.set_type_url(std::string(kAddressTypeUrl));
  drop.add_resource_names_unsubscribe("a");
  ASSERT_TRUE(session_.OnRequest(drop).ok());
  Put("a", "10.0.0.11");
  EXPECT_FALSE(Build().has_value());
}

TEST_F(DeltaSessionTest, FilteredResourcesAreNotSentAndBecomeRemovals) {
  Put("a", "10.0.0.1");
  Put("b", "10.0.0.2");
  ASSERT_TRUE(session_.OnRequest(Wildcard()).ok());
  bool hide_b = false;
  auto visible = [&](std::string_view, const VersionedResource& r) {
    return !(hide_b && r.name == "b");
  };
  ASSERT_TRUE(Build(visible).has_value());
  hide_b = true;
  auto r = Build(visible);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Removed(*r), std::vector<std::string>{"b"});
}

TEST_F(DeltaSessionTest, CountsAcksAndNacks) {
  Put("a", "10.0.0.1");
  ASSERT_TRUE(session_.OnRequest(Wildcard()).ok());
  auto r = Build();
  ASSERT_TRUE(r.has_value());
  DeltaDiscoveryRequest ack;
  ack.set_type_url(std::string(kAddressTypeUrl));
  ack.set_response_nonce(r->nonce());
  ASSERT_TRUE(session_.OnRequest(ack).ok());
  DeltaDiscoveryRequest nack = ack;
  nack.mutable_error_detail()->set_message("bad address");
  ASSERT_TRUE(session_.OnRequest(nack).ok());
  auto stats = session_.stats(kAddressTypeUrl);
  EXPECT_EQ(stats.acks, 1u);
  EXPECT_EQ(stats.nacks, 1u);
  EXPECT_EQ(stats.last_nack, "bad address");
  // A NACKed version is not resent until it changes.
  EXPECT_FALSE(Build().has_value());
}

TEST_F(DeltaSessionTest, RequestWithoutTypeUrlIsAnError) {
  DeltaDiscoveryRequest req;
  EXPECT_FALSE(session_.OnRequest(req).ok());
}

}  // namespace
}  // namespace ambit::xds
