#include "control/store.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "config/parse.h"

namespace ambit::control {
namespace {

TEST(Store, PersistsAndReloads) {
  const std::string path = ::testing::TempDir() + "/store_test.json";
  std::remove(path.c_str());
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  EXPECT_TRUE((*store)->Snapshot()->resources.empty());

  auto parsed = config::ParseManifests(R"(apiVersion: v1
kind: Service
metadata: {name: s, namespace: default}
spec: {clusterIP: 10.96.0.12, ports: [{port: 80}], selector: {app: x}}
)",
                                       "t.yaml");
  ASSERT_TRUE(parsed.ok());
  StoreState next;
  for (auto& r : parsed.resources) next.resources.emplace(config::KeyOf(r), r);
  ASSERT_TRUE((*store)->Commit(next).ok());
  EXPECT_EQ((*store)->Snapshot()->generation, 1u);

  auto reopened = Store::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  auto snap = (*reopened)->Snapshot();
  EXPECT_EQ(snap->generation, 1u);
  EXPECT_EQ(snap->resources, next.resources);
}

TEST(Store, CorruptFileIsAnError) {
  const std::string path = ::testing::TempDir() + "/store_corrupt.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{not json", f);
  std::fclose(f);
  EXPECT_FALSE(Store::Open(path).ok());
}

}  // namespace
}  // namespace ambit::control
