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
