// RouteTableUpdater: delta responses of ambit.route.v1.RouteTable into the
// waypoint's RouteTables, resource by resource.
#include "waypoint/route_updates.h"

#include <google/protobuf/any.pb.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "route/table.h"
#include "route/wire.h"
#include "waypoint/http_proxy.h"

namespace ambit::waypoint {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;

constexpr char kReviews[] = "reviews.default.svc.cluster.local";
constexpr char kRatings[] = "ratings.default.svc.cluster.local";

route::RouteRules Rules(const std::string& host, const std::string& prefix) {
  route::Route r;
  r.name = "HTTPRoute default/" + host + " rules[0]";
  r.hosts = {host};
  route::RouteMatch m;
  m.path = route::PathMatch{route::PathMatch::Kind::kPathPrefix, prefix};
  r.matches = {m};
  r.backends = {route::Backend{.host = host}};
  return route::RouteRules{.precedence = route::Precedence::kGatewayApi, .routes = {r}};
}

void Add(DeltaDiscoveryResponse& response, const std::string& name, const std::string& version,
         const google::protobuf::Message& message) {
  auto* r = response.add_resources();
  r->set_name(name);
  r->set_version(version);
  r->mutable_resource()->PackFrom(message);
}

DeltaDiscoveryResponse Response() {
  DeltaDiscoveryResponse response;
  response.set_type_url(std::string(route::kRouteTableTypeUrl));
  return response;
}

// The prefix of the route |tables| hold for |host|, or "" when none.
std::string PrefixOf(const RouteTables& tables, const std::string& host) {
  auto table = tables.Find(host);
  if (table == nullptr || table->routes().empty()) return "";
  return table->routes()[0].matches.at(0).path->value;
}

TEST(RouteTableUpdater, AppliesGoodTablesKeepsThePreviousForBadOnesAndRemoves) {
  RouteTables tables;
  RouteTableUpdater updater;
  updater.Attach(&tables);

  DeltaDiscoveryResponse first = Response();
  Add(first, kReviews, "1", route::EncodeRouteTable(Rules(kReviews, "/a")));
  Add(first, kRatings, "1", route::EncodeRouteTable(Rules(kRatings, "/r")));
  ASSERT_TRUE(updater.Apply(first).ok());
  EXPECT_EQ(PrefixOf(tables, kReviews), "/a");
  EXPECT_EQ(PrefixOf(tables, kRatings), "/r");
  EXPECT_EQ(updater.versions(),
            (std::map<std::string, std::string>{{kRatings, "1"}, {kReviews, "1"}}));

  // One good update, one that does not decode (port out of range), one that
  // does not compile (bad regex): the good one applies, the others keep
  // their previous table, and the error names both.
  DeltaDiscoveryResponse second = Response();
  Add(second, kReviews, "2", route::EncodeRouteTable(Rules(kReviews, "/b")));
  ambit::route::v1::RouteTable bad_port = route::EncodeRouteTable(Rules(kRatings, "/x"));
  bad_port.mutable_routes(0)->mutable_matches(0)->set_port(70000);
  Add(second, kRatings, "2", bad_port);
  route::RouteRules bad_regex = Rules("details.default.svc.cluster.local", "/d");
  bad_regex.routes[0].matches[0].path = route::PathMatch{route::PathMatch::Kind::kRegex, "("};
  Add(second, "details.default.svc.cluster.local", "2", route::EncodeRouteTable(bad_regex));
  Status applied = updater.Apply(second);
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message().find("RouteTable 'ratings.default.svc.cluster.local': "
                                           "routes[0].matches[0].port: 70000 is not a port"),
            std::string::npos)
      << applied.error().message();
  EXPECT_NE(applied.error().message().find("RouteTable 'details.default.svc.cluster.local': "),
            std::string::npos)
      << applied.error().message();
  EXPECT_EQ(PrefixOf(tables, kReviews), "/b");
  EXPECT_EQ(PrefixOf(tables, kRatings), "/r");
  EXPECT_EQ(tables.Find("details.default.svc.cluster.local"), nullptr);
  EXPECT_EQ(updater.versions().at(kReviews), "2");
  EXPECT_EQ(updater.versions().at(kRatings), "1");  // the rejected version is not recorded

  nlohmann::json dump;
  updater.Dump(dump);
  EXPECT_EQ(dump["tables"][kReviews]["version"], "2");
  EXPECT_EQ(dump["tables"][kReviews]["routes"], 1);
  EXPECT_NE(dump["lastRejection"].get<std::string>().find("70000"), std::string::npos);

  // Removed: the Service has no table (the default route).
  DeltaDiscoveryResponse third = Response();
  third.add_removed_resources(kReviews);
  ASSERT_TRUE(updater.Apply(third).ok());
  EXPECT_EQ(tables.Find(kReviews), nullptr);
  EXPECT_EQ(PrefixOf(tables, kRatings), "/r");
  EXPECT_FALSE(updater.versions().contains(kReviews));
}

TEST(RouteTableUpdater, RejectsOtherTypesAndBodies) {
  RouteTables tables;
  RouteTableUpdater updater;
  updater.Attach(&tables);
  DeltaDiscoveryResponse other;
  other.set_type_url("type.googleapis.com/istio.workload.Address");
  EXPECT_FALSE(updater.Apply(other).ok());

  DeltaDiscoveryResponse wrong_body = Response();
  Add(wrong_body, kReviews, "1", DeltaDiscoveryResponse());  // not a RouteTable
  Status applied = updater.Apply(wrong_body);
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message().find(kReviews), std::string::npos);
  EXPECT_EQ(tables.Find(kReviews), nullptr);
}

}  // namespace
}  // namespace ambit::waypoint
