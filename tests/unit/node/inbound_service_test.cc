// The destination_service a receiving ztunnel reports for an inbound
// connection: the Service the client named (only among the destination's own
// Services), else the first whose port targets the connection's port on that
// workload (resolved per workload, or the Service's numeric targetPort), else
// none.
#include "node/inbound_service.h"

#include <gtest/gtest.h>

#include "state/ip_bytes.h"

namespace ambit::node {
namespace {

std::shared_ptr<const state::Service> Svc(const std::string& name,
                                          std::vector<state::PortMapping> ports) {
  auto s = std::make_shared<state::Service>();
  s->name = name;
  s->ns = "shop";
  s->hostname = name + ".shop.svc.cluster.local";
  s->vips = {{"", *state::PackIp("10.96.0." + std::to_string(name.size()))}};
  s->ports = std::move(ports);
  return s;
}

class InboundServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // web: port 80 -> 8080; admin: 9000 -> named port (resolved per workload);
    // metrics: 9100 -> 9100 (numeric, the workload gives no target port).
    contents_.services["shop/web.shop.svc.cluster.local"] = Svc("web", {{80, 8080}});
    contents_.services["shop/admin.shop.svc.cluster.local"] = Svc("admin", {{9000, 0}});
    contents_.services["shop/metrics.shop.svc.cluster.local"] = Svc("metrics", {{9100, 9100}});
    contents_.services["shop/other.shop.svc.cluster.local"] = Svc("other", {{80, 8080}});
    auto w = std::make_shared<state::Workload>();
    w->uid = "c//Pod/shop/web-1";
    w->name = "web-1";
    w->ns = "shop";
    w->addresses = {*state::PackIp("10.1.0.2")};
    w->services["shop/web.shop.svc.cluster.local"] = {{80, 8080}};
    w->services["shop/admin.shop.svc.cluster.local"] = {{9000, 9443}};
    w->services["shop/metrics.shop.svc.cluster.local"] = {{9100, 0}};
    // A second Service on the same target port (sorted before web by key).
    w->services["shop/alias.shop.svc.cluster.local"] = {{8080, 8080}};
    contents_.services["shop/alias.shop.svc.cluster.local"] = Svc("alias", {{8080, 8080}});
    contents_.workloads[w->uid] = w;
    state_ = std::make_unique<state::WorkloadState>(contents_);
    web1_ = state_->FindWorkloadByUid("c//Pod/shop/web-1");
    ASSERT_NE(web1_, nullptr);
  }
  std::string Guess(std::uint16_t port, std::string_view host = {}) {
    const state::Service* s = GuessInboundService(*state_, *web1_, port, host);
    return s == nullptr ? "none" : s->hostname;
  }

  state::WorkloadState::Contents contents_;
  std::unique_ptr<state::WorkloadState> state_;
  const state::Workload* web1_ = nullptr;
};

TEST_F(InboundServiceTest, TheServiceTheClientNamedWins) {
  EXPECT_EQ(Guess(8080, "web.shop.svc.cluster.local"), "web.shop.svc.cluster.local");
  EXPECT_EQ(Guess(8080, "alias.shop.svc.cluster.local"), "alias.shop.svc.cluster.local");
  // Named even for another port: the client routed by it.
  EXPECT_EQ(Guess(9443, "web.shop.svc.cluster.local"), "web.shop.svc.cluster.local");
}

TEST_F(InboundServiceTest, ANameOutsideTheWorkloadsServicesIsNotTrusted) {
  // "other" exists and has the port, but does not select web-1.
  EXPECT_EQ(Guess(8080, "other.shop.svc.cluster.local"), "alias.shop.svc.cluster.local");
  EXPECT_EQ(Guess(1234, "nope.shop.svc.cluster.local"), "none");
}

TEST_F(InboundServiceTest, ByTargetPortOnThisWorkload) {
  EXPECT_EQ(Guess(8080), "alias.shop.svc.cluster.local");    // first by key
  EXPECT_EQ(Guess(9443), "admin.shop.svc.cluster.local");    // named port, resolved per workload
  EXPECT_EQ(Guess(9100), "metrics.shop.svc.cluster.local");  // the Service's numeric targetPort
  EXPECT_EQ(Guess(9000), "none");                            // a service port is not a target port
  EXPECT_EQ(Guess(22), "none");
}

TEST_F(InboundServiceTest, AWorkloadOfNoServiceHasNone) {
  state::Workload lone;
  lone.ns = "shop";
  lone.name = "lone";
  EXPECT_EQ(GuessInboundService(*state_, lone, 8080, "web.shop.svc.cluster.local"), nullptr);
}

}  // namespace
}  // namespace ambit::node
