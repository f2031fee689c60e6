#include "inpod/enrollment.h"

#include <gtest/gtest.h>

namespace ambit::inpod {
namespace {

struct Case {
  const char* name;
  EnrollmentInput input;
  Enrollment want;
};

TEST(Enrollment, LabelRules) {
  const Labels ambient{{"istio.io/dataplane-mode", "ambient"}};
  const Labels none{{"istio.io/dataplane-mode", "none"}};
  const std::vector<Case> cases = {
      {"nothing", {}, Enrollment::kNotAmbient},
      {"namespace ambient", {{}, {}, ambient}, Enrollment::kEnroll},
      {"pod ambient", {ambient, {}, {}}, Enrollment::kEnroll},
      {"pod none beats namespace", {none, {}, ambient}, Enrollment::kOptedOut},
      {"pod none alone", {none, {}, {}}, Enrollment::kOptedOut},
      {"pod other value falls back to namespace", {{{"istio.io/dataplane-mode", "sidecar"}}, {}, ambient},
       Enrollment::kEnroll},
      {"namespace other value", {{}, {}, {{"istio.io/dataplane-mode", "Ambient"}}}, Enrollment::kNotAmbient},
      {"injected sidecar", {ambient, {{"sidecar.istio.io/status", "{}"}}, {}}, Enrollment::kSidecar},
      {"pod inject label", {{{"sidecar.istio.io/inject", "true"}}, {}, ambient}, Enrollment::kSidecar},
      {"namespace injection", {{}, {}, {{"istio-injection", "enabled"}, {"istio.io/dataplane-mode", "ambient"}}},
       Enrollment::kSidecar},
      {"namespace injection, pod opts out of injection",
       {{{"sidecar.istio.io/inject", "false"}}, {}, {{"istio-injection", "enabled"}, {"istio.io/dataplane-mode", "ambient"}}},
       Enrollment::kEnroll},
      {"namespace injection disabled", {{}, {}, {{"istio-injection", "disabled"}, {"istio.io/dataplane-mode", "ambient"}}},
       Enrollment::kEnroll},
      {"host network", {ambient, {}, {}, /*host_network=*/true}, Enrollment::kHostNetwork},
      {"none beats sidecar", {{{"istio.io/dataplane-mode", "none"}, {"sidecar.istio.io/inject", "true"}}, {}, {}},
       Enrollment::kOptedOut},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DecideEnrollment(c.input), c.want) << c.name << ": got " << ToString(DecideEnrollment(c.input));
  }
}

}  // namespace
}  // namespace ambit::inpod

#include "inpod/label_policy.h"

namespace ambit::inpod {
namespace {

TEST(LabelEnrollmentPolicy, AppliesTheLabelRulesToWhatTheStoreKnows) {
  std::map<std::string, PodFacts> store;
  store["shop/web-0"] = {{{}, {}, {{"istio.io/dataplane-mode", "ambient"}}}, "web"};
  store["shop/db-0"] = {{{{"istio.io/dataplane-mode", "none"}}, {}, {{"istio.io/dataplane-mode", "ambient"}}}, ""};
  LabelEnrollmentPolicy policy([&](const PodEvent& pod) -> std::optional<PodFacts> {
    auto it = store.find(pod.ns + "/" + pod.name);
    if (it == store.end()) return std::nullopt;
    return it->second;
  });
  PodEvent web{"shop", "web-0", "", "", "", {}};
  PodEvent db{"shop", "db-0", "", "", "", {}};
  PodEvent ghost{"shop", "ghost", "", "", "", {}};
  EXPECT_TRUE(policy.ShouldEnroll(web));
  EXPECT_FALSE(policy.ShouldEnroll(db));
  EXPECT_FALSE(policy.ShouldEnroll(ghost));
  EXPECT_EQ(policy.Describe(web), (WorkloadInfo{"web-0", "shop", "web"}));
  EXPECT_EQ(policy.Describe(db).service_account, "default");
  // Label changes are seen on the next question.
  store["shop/web-0"].labels.pod_labels["istio.io/dataplane-mode"] = "none";
  EXPECT_FALSE(policy.ShouldEnroll(web));
}

}  // namespace
}  // namespace ambit::inpod
