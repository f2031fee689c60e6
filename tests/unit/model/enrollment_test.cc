#include "model/enrollment.h"

#include <gtest/gtest.h>

namespace ambit::model {
namespace {

config::Pod PodWith(config::Labels labels, config::Labels annotations = {}) {
  config::Pod pod;
  pod.metadata.name = "p";
  pod.metadata.ns = "ns";
  pod.metadata.labels = std::move(labels);
  pod.metadata.annotations = std::move(annotations);
  return pod;
}

const config::Labels kAmbientNs = {{"istio.io/dataplane-mode", "ambient"}};
const config::Labels kPlainNs = {};

TEST(Enrollment, NamespaceLabelEnrollsItsPods) {
  EXPECT_TRUE(IsAmbientEnrolled(kAmbientNs, PodWith({})));
  EXPECT_FALSE(IsAmbientEnrolled(kPlainNs, PodWith({})));
}

TEST(Enrollment, PodLabelEnrollsWithoutTheNamespace) {
  EXPECT_TRUE(IsAmbientEnrolled(kPlainNs, PodWith({{"istio.io/dataplane-mode", "ambient"}})));
}

TEST(Enrollment, PodLabelNoneOptsOutOfAnAmbientNamespace) {
  EXPECT_FALSE(IsAmbientEnrolled(kAmbientNs, PodWith({{"istio.io/dataplane-mode", "none"}})));
}

TEST(Enrollment, OtherValuesDoNotEnroll) {
  EXPECT_FALSE(IsAmbientEnrolled(kPlainNs, PodWith({{"istio.io/dataplane-mode", "sidecar"}})));
  EXPECT_FALSE(IsAmbientEnrolled({{"istio.io/dataplane-mode", "Ambient"}}, PodWith({})));
}

TEST(Enrollment, PodsWithASidecarAreLeftAlone) {
  EXPECT_FALSE(IsAmbientEnrolled(kAmbientNs, PodWith({{"sidecar.istio.io/inject", "true"}})));
  EXPECT_FALSE(IsAmbientEnrolled(kAmbientNs, PodWith({}, {{"sidecar.istio.io/status", "{}"}})));
  config::Labels injected_ns = {{"istio.io/dataplane-mode", "ambient"}, {"istio-injection", "enabled"}};
  EXPECT_FALSE(IsAmbientEnrolled(injected_ns, PodWith({})));
  EXPECT_TRUE(IsAmbientEnrolled(injected_ns, PodWith({{"sidecar.istio.io/inject", "false"}})));
}

TEST(Enrollment, HostNetworkPodsAreNeverCaptured) {
  config::Pod pod = PodWith({{"istio.io/dataplane-mode", "ambient"}});
  pod.spec.extra = nlohmann::json{{"hostNetwork", true}};
  EXPECT_TRUE(IsHostNetwork(pod));
  EXPECT_FALSE(IsAmbientEnrolled(kAmbientNs, pod));
}

}  // namespace
}  // namespace ambit::model
