#include "state/address_decode.h"

#include <gtest/gtest.h>

#include <functional>

#include "istio/security/authorization.pb.h"
#include "istio/workload/workload.pb.h"
#include "state/ip_bytes.h"

namespace ambit::state {
namespace {

namespace wl = istio::workload;

wl::Address SampleWorkload() {
  wl::Address a;
  wl::Workload* w = a.mutable_workload();
  w->set_uid("Kubernetes//Pod/shop/cart-1");
  w->set_name("cart-1");
  w->set_namespace_("shop");
  w->add_addresses(PackIp("10.1.0.5").value());
  w->set_tunnel_protocol(wl::HBONE);
  w->set_service_account("cart");
  w->set_node("node-1");
  wl::PortList ports;
  wl::Port* p = ports.add_ports();
  p->set_service_port(80);
  p->set_target_port(8080);
  (*w->mutable_services())["shop/cart.shop.svc.cluster.local"] = ports;
  return a;
}

TEST(DecodeAddress, WorkloadFieldsAndDefaults) {
  auto decoded = DecodeAddress("Kubernetes//Pod/shop/cart-1", SampleWorkload());
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  const auto& w = std::get<std::shared_ptr<const Workload>>(*decoded);
  EXPECT_EQ(w->ns, "shop");
  EXPECT_EQ(w->tunnel_protocol, TunnelProtocol::kHbone);
  EXPECT_EQ(w->trust_domain, "cluster.local");  // elided on the wire -> default
  EXPECT_EQ(w->Identity().ToString(), "spiffe://cluster.local/ns/shop/sa/cart");
  EXPECT_EQ(w->services.at("shop/cart.shop.svc.cluster.local"),
            (std::vector<PortMapping>{{80, 8080}}));
  EXPECT_TRUE(w->healthy);
}

TEST(DecodeAddress, ServiceMustBeNamedNamespaceSlashHostname) {
  wl::Address a;
  wl::Service* s = a.mutable_service();
  s->set_name("cart");
  s->set_namespace_("shop");
  s->set_hostname("cart.shop.svc.cluster.local");
  wl::NetworkAddress* vip = s->add_addresses();
  vip->set_address(PackIp("10.96.0.7").value());
  s->add_ports()->set_service_port(80);
  wl::Port* grpc = s->add_ports();
  grpc->set_service_port(9090);
  grpc->set_app_protocol(wl::GRPC);
  wl::Port* http = s->add_ports();
  http->set_service_port(8080);
  http->set_app_protocol(wl::HTTP11);
  auto ok = DecodeAddress("shop/cart.shop.svc.cluster.local", a);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  const auto& svc = std::get<std::shared_ptr<const Service>>(*ok);
  EXPECT_EQ(svc->vips.size(), 1u);
  ASSERT_EQ(svc->ports.size(), 3u);
  EXPECT_EQ(svc->ports[0].app_protocol, AppProtocol::kUnknown);
  EXPECT_EQ(svc->ports[1].app_protocol, AppProtocol::kGrpc);
  EXPECT_EQ(svc->ports[2].app_protocol, AppProtocol::kHttp11);
  auto mismatch = DecodeAddress("shop/other", a);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message().find("differs from the resource name"), std::string::npos);
}

TEST(DecodeAddress, RejectsMalformedResourcesNamingTheField) {
  struct Case {
    const char* what;
    std::function<void(wl::Address&)> mutate;
  };
  std::vector<Case> cases = {
      {"bytes, want 4 or 16", [](wl::Address& a) { a.mutable_workload()->add_addresses("abc"); }},
      {"unsupported tunnel_protocol",
       [](wl::Address& a) { a.mutable_workload()->set_tunnel_protocol(wl::LEGACY_ISTIO_MTLS); }},
      {"differs from the resource name",
       [](wl::Address& a) { a.mutable_workload()->set_uid("someone-else"); }},
      {"out of range",
       [](wl::Address& a) {
         (*a.mutable_workload()->mutable_services())["shop/x"].add_ports()->set_service_port(70000);
       }},
      {"neither addresses nor hostname",
       [](wl::Address& a) { a.mutable_workload()->clear_addresses(); }},
      {"neither workload nor service", [](wl::Address& a) { a.Clear(); }},
  };
  for (const Case& c : cases) {
    wl::Address a = SampleWorkload();
    c.mutate(a);
    auto r = DecodeAddress("Kubernetes//Pod/shop/cart-1", a);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.what), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("Kubernetes//Pod/shop/cart-1"), std::string::npos);
  }
}

TEST(DecodeAddress, LoadBalancingAndLocality) {
  wl::Address w = SampleWorkload();
  w.mutable_workload()->mutable_locality()->set_region("eu");
  w.mutable_workload()->mutable_locality()->set_zone("eu-1a");
  auto decoded = DecodeAddress("Kubernetes//Pod/shop/cart-1", w);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  const auto& workload = std::get<std::shared_ptr<const Workload>>(*decoded);
  EXPECT_EQ(workload->locality, (Locality{"eu", "eu-1a", ""}));

  wl::Address a;
  wl::Service* s = a.mutable_service();
  s->set_name("cart");
  s->set_namespace_("shop");
  s->set_hostname("cart.shop.svc.cluster.local");
  auto plain = DecodeAddress("shop/cart.shop.svc.cluster.local", a);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(std::get<std::shared_ptr<const Service>>(*plain)->load_balancing.has_value());

  wl::LoadBalancing* lb = s->mutable_load_balancing();
  lb->add_routing_preference(wl::LoadBalancing::NETWORK);
  lb->add_routing_preference(wl::LoadBalancing::REGION);
  lb->add_routing_preference(wl::LoadBalancing::ZONE);
  lb->set_mode(wl::LoadBalancing::FAILOVER);
  auto ok = DecodeAddress("shop/cart.shop.svc.cluster.local", a);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  const auto& got = std::get<std::shared_ptr<const Service>>(*ok)->load_balancing;
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, (LoadBalancing{{LbScope::kNetwork, LbScope::kRegion, LbScope::kZone},
                                 LbMode::kFailover, false}));

  lb->add_routing_preference(static_cast<wl::LoadBalancing::Scope>(0));  // UNSPECIFIED_SCOPE
  auto bad = DecodeAddress("shop/cart.shop.svc.cluster.local", a);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("load_balancing.routing_preference[3]"), std::string::npos)
      << bad.error().ToString();
}

TEST(DecodeAddress, KeepsTheHostnameOfAWorkloadWithoutAddresses) {
  wl::Address a = SampleWorkload();
  a.mutable_workload()->clear_addresses();
  a.mutable_workload()->set_hostname("backend.example.net");
  auto r = DecodeAddress("Kubernetes//Pod/shop/cart-1", a);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const auto& w = std::get<std::shared_ptr<const Workload>>(*r);
  EXPECT_EQ(w->hostname, "backend.example.net");
  EXPECT_TRUE(w->addresses.empty());
}

TEST(DecodeAuthorization, ChecksKeyAndPrefixes) {
  istio::security::Authorization p;
  p.set_name("deny-all");
  p.set_namespace_("shop");
  EXPECT_TRUE(DecodeAuthorization("shop/deny-all", p).ok());
  EXPECT_FALSE(DecodeAuthorization("shop/other", p).ok());
  auto* ip = p.add_rules()->add_clauses()->add_matches()->add_source_ips();
  ip->set_address(PackIp("10.0.0.0").value());
  ip->set_length(33);
  EXPECT_FALSE(DecodeAuthorization("shop/deny-all", p).ok());
}

}  // namespace
}  // namespace ambit::state

namespace ambit::state {
namespace {

TEST(DecodeAddress, WaypointRequiredExtensionMarksWorkloadsAndServices) {
  wl::Address workload = SampleWorkload();
  auto plain = DecodeAddress("Kubernetes//Pod/shop/cart-1", workload);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(std::get<std::shared_ptr<const Workload>>(*plain)->waypoint_required);
  workload.mutable_workload()->add_extensions()->set_name("some.other/extension");
  workload.mutable_workload()->add_extensions()->set_name(std::string(kWaypointRequiredExtension));
  auto marked = DecodeAddress("Kubernetes//Pod/shop/cart-1", workload);
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE(std::get<std::shared_ptr<const Workload>>(*marked)->waypoint_required);

  wl::Address service;
  wl::Service* s = service.mutable_service();
  s->set_name("cart");
  s->set_namespace_("shop");
  s->set_hostname("cart.shop.svc.cluster.local");
  auto unmarked = DecodeAddress("shop/cart.shop.svc.cluster.local", service);
  ASSERT_TRUE(unmarked.ok());
  EXPECT_FALSE(std::get<std::shared_ptr<const Service>>(*unmarked)->waypoint_required);
  s->add_extensions()->set_name("ambit.io/waypoint-required");
  auto required = DecodeAddress("shop/cart.shop.svc.cluster.local", service);
  ASSERT_TRUE(required.ok());
  EXPECT_TRUE(std::get<std::shared_ptr<const Service>>(*required)->waypoint_required);
}

}  // namespace
}  // namespace ambit::state
