#include <gtest/gtest.h>

#include "config/parse.h"
#include "config/serialize.h"

namespace ambit::config {
namespace {

// parse -> ToJson -> parse gives equal resources, for every kind in the file.
class FileRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FileRoundTripTest, EveryResourceSurvivesJson) {
  ParseResult first = ParseFile(std::string(AMBIT_CONFIG_TESTDATA) + "/" + GetParam());
  ASSERT_TRUE(first.ok()) << FormatDiagnostics(first.diagnostics);
  ASSERT_FALSE(first.resources.empty());
  for (const Resource& r : first.resources) {
    nlohmann::json j = ToJson(r);
    ParseResult again = ParseJsonObject(j, "roundtrip.json");
    ASSERT_TRUE(again.ok()) << KeyOf(r).ToString() << "\n"
                            << FormatDiagnostics(again.diagnostics) << j.dump(2);
    ASSERT_EQ(again.resources.size(), 1u);
    EXPECT_TRUE(again.resources[0] == r) << KeyOf(r).ToString() << "\n" << j.dump(2) << "\n"
                                         << ToJsonString(again.resources[0]);
    // And through text (what `ambitctl get -o json` prints and `apply -f` reads).
    ParseResult text = ParseManifests(ToJsonString(r), "roundtrip.json");
    ASSERT_TRUE(text.ok()) << FormatDiagnostics(text.diagnostics);
    EXPECT_TRUE(text.resources.at(0) == r) << KeyOf(r).ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Files, FileRoundTripTest, ::testing::Values("bookinfo.yaml", "traffic.yaml"));

TEST(RoundTripTest, DefaultsBecomeExplicit) {
  ParseResult r = ParseManifests(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}]
)", "s.yaml");
  ASSERT_TRUE(r.ok());
  nlohmann::json j = ToJson(r.resources.at(0));
  EXPECT_EQ(j, nlohmann::json::parse(R"({
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "s", "namespace": "default"},
    "spec": {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}
  })"));
}

TEST(RoundTripTest, MetadataAndPreservedFieldsSurvive) {
  ParseResult r = ParseManifests(R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  namespace: n
  uid: 0b5c-11
  generation: 3
  annotations: {note: "hello: world"}
  ownerReferences: [{apiVersion: v1, kind: X, name: x, uid: u, controller: true}]
spec:
  strategy: {type: Recreate}
  selector:
    matchExpressions: [{key: app, operator: In, values: [a]}]
  template:
    metadata: {labels: {app: a}}
    spec:
      nodeSelector: {disk: ssd}
      initContainers: [{name: init, image: i, command: ["true"]}]
      containers:
      - name: c
        image: i
        env: [{name: A, valueFrom: {fieldRef: {fieldPath: status.podIP}}}, {name: B}]
        resources: {limits: {cpu: "1"}}
status: {replicas: 1}
)", "d.yaml");
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  const Deployment& d = std::get<Deployment>(r.resources.at(0));
  EXPECT_EQ(d.metadata.generation, 3);
  EXPECT_EQ(d.spec.template_.spec.init_containers.at(0).command, (std::vector<std::string>{"true"}));
  EXPECT_FALSE(d.spec.template_.spec.containers[0].env[0].value.has_value());
  EXPECT_EQ(d.spec.template_.spec.containers[0].env[1].value, "");
  nlohmann::json j = ToJson(r.resources[0]);
  EXPECT_FALSE(j.contains("status"));
  EXPECT_EQ(j["spec"]["strategy"]["type"], "Recreate");
  EXPECT_EQ(j["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"], "1");
  ParseResult again = ParseJsonObject(j, "d.json");
  ASSERT_TRUE(again.ok()) << FormatDiagnostics(again.diagnostics);
  EXPECT_TRUE(again.resources.at(0) == r.resources[0]) << j.dump(2);
}

}  // namespace
}  // namespace ambit::config
