#include "cluster/supervisor.h"

#include <gtest/gtest.h>

#include "cluster/process.h"

namespace ambit::cluster {
namespace {

TEST(Supervisor, SpecRoundTrip) {
  ContainerSpec spec;
  spec.cluster = "c";
  spec.pod_namespace = "ns";
  spec.pod_name = "p";
  spec.name = "main";
  spec.argv = {"sh", "-c", "echo \"hi\""};
  spec.env = {{"A", "1"}, {"B", "x=y"}};
  spec.working_dir = "/tmp";
  spec.restart_policy = "OnFailure";
  spec.sandbox = {"/run/netns/x", "/s/hosts", "/s/resolv.conf", "/s/tmp", "p"};
  spec.log_file = "/s/logs/main.log";
  spec.status_file = "/s/main.status";
  auto back = ContainerSpecFromJson(ContainerSpecToJson(spec));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->argv, spec.argv);
  EXPECT_EQ(back->env, spec.env);
  EXPECT_EQ(back->restart_policy, "OnFailure");
  EXPECT_EQ(back->sandbox.netns_path, "/run/netns/x");
  EXPECT_EQ(back->sandbox.tmp_dir, "/s/tmp");
  EXPECT_EQ(back->status_file, "/s/main.status");
}

TEST(Supervisor, RejectsBadSpecs) {
  EXPECT_FALSE(ContainerSpecFromJson("nope").ok());
  EXPECT_FALSE(ContainerSpecFromJson("{}").ok());
}

TEST(Supervisor, StatusRoundTrip) {
  ContainerStatus st;
  st.supervisor = {1234, 5678};
  st.state = ContainerState::kTerminated;
  st.exit_code = 3;
  st.restarts = 2;
  st.final = true;
  st.message = "why";
  const std::string path = ::testing::TempDir() + "/status_test.json";
  ASSERT_TRUE(WriteFileAtomic(path, ContainerStatusToJson(st)).ok());
  auto back = ReadContainerStatus(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->supervisor.pid, 1234);
  EXPECT_EQ(back->supervisor.start_time, 5678u);
  EXPECT_EQ(back->state, ContainerState::kTerminated);
  EXPECT_EQ(back->exit_code, 3);
  EXPECT_EQ(back->restarts, 2);
  EXPECT_TRUE(back->final);
  EXPECT_EQ(back->message, "why");
  EXPECT_FALSE(ReadContainerStatus(path + ".missing"));
}

}  // namespace
}  // namespace ambit::cluster
