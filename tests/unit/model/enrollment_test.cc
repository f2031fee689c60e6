#include "model/enrollment.h"

#include <gtest/gtest.h>

#include "config/mesh_config.h"

namespace ambit::model {
namespace {

using config::Labels;

config::Pod PodWith(Labels labels, Labels annotations = {}) {
  config::Pod pod;
  pod.metadata.name = "p";
  pod.metadata.ns = "ns";
  pod.metadata.labels = std::move(labels);
  pod.metadata.annotations = std::move(annotations);
  return pod;
}

bool Enrolled(const Labels& ns, const config::Pod& pod, const MeshSettings& mesh = {}) {
  return DecideEnrollment(mesh, ns, pod) == Enrollment::kEnroll;
}

const Labels kAmbientNs = {{"istio.io/dataplane-mode", "ambient"}};
const Labels kPlainNs = {};

struct Case {
  const char* name;
  Labels pod;
  Labels annotations;
  Labels ns;
  bool host_network;
  Enrollment want;
};

TEST(Enrollment, LabelRules) {
  const Labels ambient{{"istio.io/dataplane-mode", "ambient"}};
  const Labels none{{"istio.io/dataplane-mode", "none"}};
  const std::vector<Case> cases = {
      {"nothing", {}, {}, {}, false, Enrollment::kNotAmbient},
      {"namespace ambient", {}, {}, ambient, false, Enrollment::kEnroll},
      {"pod ambient", ambient, {}, {}, false, Enrollment::kEnroll},
      {"pod none beats namespace", none, {}, ambient, false, Enrollment::kOptedOut},
      {"pod none alone", none, {}, {}, false, Enrollment::kOptedOut},
      {"pod other value falls back to namespace", {{"istio.io/dataplane-mode", "sidecar"}}, {}, ambient,
       false, Enrollment::kEnroll},
      {"namespace other value", {}, {}, {{"istio.io/dataplane-mode", "Ambient"}}, false,
       Enrollment::kNotAmbient},
      {"injected sidecar", ambient, {{"sidecar.istio.io/status", "{}"}}, {}, false, Enrollment::kSidecar},
      {"pod inject label", {{"sidecar.istio.io/inject", "true"}}, {}, ambient, false, Enrollment::kSidecar},
      {"namespace injection", {}, {}, {{"istio-injection", "enabled"}, {"istio.io/dataplane-mode", "ambient"}},
       false, Enrollment::kSidecar},
      {"namespace injection, pod opts out of injection", {{"sidecar.istio.io/inject", "false"}}, {},
       {{"istio-injection", "enabled"}, {"istio.io/dataplane-mode", "ambient"}}, false, Enrollment::kEnroll},
      {"namespace injection disabled", {}, {}, {{"istio-injection", "disabled"}, {"istio.io/dataplane-mode", "ambient"}},
       false, Enrollment::kEnroll},
      {"host network", ambient, {}, {}, true, Enrollment::kHostNetwork},
      {"none beats sidecar", {{"istio.io/dataplane-mode", "none"}, {"sidecar.istio.io/inject", "true"}}, {}, {},
       false, Enrollment::kOptedOut},
  };
  for (const auto& c : cases) {
    Enrollment got = DecideEnrollment(MeshSettings{}, EnrollmentInput{&c.ns, &c.pod, &c.annotations, c.host_network});
    EXPECT_EQ(got, c.want) << c.name << ": got " << ToString(got);
  }
}

TEST(Enrollment, NamespaceLabelEnrollsItsPods) {
  EXPECT_TRUE(Enrolled(kAmbientNs, PodWith({})));
  EXPECT_FALSE(Enrolled(kPlainNs, PodWith({})));
}

TEST(Enrollment, PodsWithASidecarAreLeftAlone) {
  EXPECT_FALSE(Enrolled(kAmbientNs, PodWith({{"sidecar.istio.io/inject", "true"}})));
  EXPECT_FALSE(Enrolled(kAmbientNs, PodWith({}, {{"sidecar.istio.io/status", "{}"}})));
  Labels injected_ns = {{"istio.io/dataplane-mode", "ambient"}, {"istio-injection", "enabled"}};
  EXPECT_FALSE(Enrolled(injected_ns, PodWith({})));
  EXPECT_TRUE(Enrolled(injected_ns, PodWith({{"sidecar.istio.io/inject", "false"}})));
}

TEST(Enrollment, HostNetworkPodsAreNeverCaptured) {
  config::Pod pod = PodWith({{"istio.io/dataplane-mode", "ambient"}});
  pod.spec.extra = nlohmann::json{{"hostNetwork", true}};
  EXPECT_TRUE(IsHostNetwork(pod));
  EXPECT_EQ(DecideEnrollment(MeshSettings{}, kAmbientNs, pod), Enrollment::kHostNetwork);
}

TEST(Enrollment, DiscoverySelectorsKeepOtherNamespacesOut) {
  MeshSettings mesh;
  config::LabelSelector team;
  team.match_labels = {{"team", "shop"}};
  mesh.discovery_selectors = {team};
  Labels shop = {{"istio.io/dataplane-mode", "ambient"}, {"team", "shop"}};
  EXPECT_TRUE(Enrolled(shop, PodWith({}), mesh));
  EXPECT_EQ(DecideEnrollment(mesh, kAmbientNs, PodWith({})), Enrollment::kNotDiscovered);
  // The pod's own ambient label does not bring it in either.
  EXPECT_EQ(DecideEnrollment(mesh, kPlainNs, PodWith({{"istio.io/dataplane-mode", "ambient"}})),
            Enrollment::kNotDiscovered);
  EXPECT_FALSE(IsManagedNamespace(mesh, kAmbientNs));
  EXPECT_TRUE(IsManagedNamespace(mesh, shop));
  // Selectors are OR-ed.
  config::LabelSelector env;
  env.match_expressions = {{"env", "In", {"dev", "test"}}};
  mesh.discovery_selectors.push_back(env);
  EXPECT_TRUE(Enrolled({{"istio.io/dataplane-mode", "ambient"}, {"env", "dev"}}, PodWith({}), mesh));
  EXPECT_FALSE(Enrolled({{"istio.io/dataplane-mode", "ambient"}, {"env", "prod"}}, PodWith({}), mesh));
}

TEST(Enrollment, RevisionLabels) {
  MeshSettings mesh;  // revision "default"
  Labels canary_ns = {{"istio.io/dataplane-mode", "ambient"}, {"istio.io/rev", "canary"}};
  EXPECT_EQ(DecideEnrollment(mesh, canary_ns, PodWith({})), Enrollment::kOtherRevision);
  EXPECT_FALSE(IsManagedNamespace(mesh, canary_ns));
  // An unmanaged namespace stays unmanaged whatever its pods say.
  EXPECT_EQ(DecideEnrollment(mesh, canary_ns, PodWith({{"istio.io/rev", "default"}})),
            Enrollment::kOtherRevision);
  // In a managed namespace the pod's own label counts.
  EXPECT_EQ(DecideEnrollment(mesh, kAmbientNs, PodWith({{"istio.io/rev", "canary"}})),
            Enrollment::kOtherRevision);
  EXPECT_TRUE(Enrolled({{"istio.io/dataplane-mode", "ambient"}, {"istio.io/rev", "default"}}, PodWith({}), mesh));
  mesh.revision = "canary";
  EXPECT_TRUE(Enrolled(canary_ns, PodWith({}), mesh));
  EXPECT_EQ(DecideEnrollment(mesh, kAmbientNs, PodWith({})), Enrollment::kOtherRevision);
}

}  // namespace
}  // namespace ambit::model

namespace ambit::model {
namespace {

TEST(DnsCaptureAnnotation, ABooleanOverridesTheNodeDefault) {
  EXPECT_EQ(DnsCaptureAnnotation({}), std::nullopt);
  EXPECT_EQ(DnsCaptureAnnotation({{"ambient.istio.io/dns-capture", "false"}}), false);
  EXPECT_EQ(DnsCaptureAnnotation({{"ambient.istio.io/dns-capture", "0"}}), false);
  EXPECT_EQ(DnsCaptureAnnotation({{"ambient.istio.io/dns-capture", "true"}}), true);
  EXPECT_EQ(DnsCaptureAnnotation({{"ambient.istio.io/dns-capture", "True"}}), true);
  // Not a boolean to Go's ParseBool: no override.
  EXPECT_EQ(DnsCaptureAnnotation({{"ambient.istio.io/dns-capture", "no"}}), std::nullopt);
  EXPECT_EQ(DnsCaptureAnnotation({{"ambient.istio.io/dns-capture", "yes"}}), std::nullopt);
}

}  // namespace
}  // namespace ambit::model
