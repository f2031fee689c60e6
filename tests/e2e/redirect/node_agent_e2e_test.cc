// e2e: the whole enrollment hand-off on one machine. A pod netns is created,
// the real ambit-cni binary is run for it (ADD/CHECK/DEL) against a real
// NodeAgent, which installs the rules in the pod netns and hands the netns fd
// to an in-process ztunnel (ZdsClient) over ZDS. Label changes go through
// NodeAgent::Reevaluate. Root only.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "inpod/node_agent.h"
#include "inpod/zds_client.h"
#include "inpod/zds_server.h"
#include "redirect/netns_exec.h"
#include "scratch_netns.h"

namespace ambit::inpod {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using redirect::ScratchNetns;

// Stands in for ztunnel: remembers which pods it serves and their netns inode.
class RecordingZtunnel : public WorkloadHandler {
 public:
  Status AddWorkload(const std::string& uid, const WorkloadInfo& info, UniqueFd netns) override {
    std::lock_guard lock(mu_);
    struct stat st {};
    ::fstat(netns.get(), &st);
    pods_[uid] = {info, st.st_ino};
    return Ok();
  }
  Status DelWorkload(const std::string& uid) override {
    std::lock_guard lock(mu_);
    pods_.erase(uid);
    return Ok();
  }
  std::optional<std::pair<WorkloadInfo, ino_t>> Get(const std::string& uid) {
    std::lock_guard lock(mu_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<WorkloadInfo, ino_t>> pods_;
};

// Labels as the cluster store would have them; flipped by the test.
class LabelPolicy : public EnrollmentPolicy {
 public:
  bool ShouldEnroll(const PodEvent& pod) override {
    std::lock_guard lock(mu_);
    return ambient_.contains(pod.ns + "/" + pod.name);
  }
  WorkloadInfo Describe(const PodEvent& pod) override { return {pod.name, pod.ns, "web-sa"}; }
  void Set(const std::string& pod, bool ambient) {
    std::lock_guard lock(mu_);
    if (ambient) {
      ambient_.insert(pod);
    } else {
      ambient_.erase(pod);
    }
  }

 private:
  std::mutex mu_;
  std::set<std::string> ambient_;
};

class NodeAgentE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: e2e needs root to create network namespaces";
    ASSERT_TRUE(pod_.ok());
    const std::string base = "/tmp/ambit-agent-e2e-" + std::to_string(::getpid());
    zds_path_ = base + "-zds.sock";
    cni_path_ = base + "-cni.sock";
    auto zds = ZdsServer::Start({zds_path_});
    ASSERT_TRUE(zds.ok()) << zds.error().ToString();
    zds_ = std::move(*zds);
    ZdsClientOptions client_options;
    client_options.socket_path = zds_path_;
    ztunnel_client_ = std::make_unique<ZdsClient>(client_options, ztunnel_);
    ztunnel_client_->Start();
    ASSERT_TRUE(zds_->WaitForReadyConnection(5s));
    NodeAgentOptions options;
    options.cni_socket_path = cni_path_;
    options.require_ztunnel = true;
    auto agent = NodeAgent::Start(options, policy_, *zds_);
    ASSERT_TRUE(agent.ok()) << agent.error().ToString();
    agent_ = std::move(*agent);
  }
  void TearDown() override {
    agent_.reset();  // removes rules of pods still enrolled
    ztunnel_client_.reset();
    zds_.reset();
  }

  redirect::CommandOutput Cni(const std::string& command) {
    json config = {{"cniVersion", "1.0.0"},
                   {"name", "ambit"},
                   {"type", "ambit-cni"},
                   {"agentSocket", cni_path_},
                   {"prevResult", json::parse(PrevResult())}};
    auto out = redirect::RunInNetns(
        -1,
        {"env", "CNI_COMMAND=" + command, "CNI_CONTAINERID=ctr-" + pod_.name(), "CNI_NETNS=" + pod_.path(),
         "CNI_IFNAME=eth0", "CNI_ARGS=K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_UID=uid-web-0",
         AMBIT_CNI_BINARY},
        config.dump(), 30s);
    EXPECT_TRUE(out.ok());
    return out.ok() ? *out : redirect::CommandOutput{-1, "", ""};
  }
  static std::string PrevResult() {
    return R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"10.254.77.2/24","interface":0}]})";
  }
  bool RulesPresent() { return pod_.Sh("nft list ruleset").find("istio-ambient-nat") != std::string::npos; }
  ino_t PodInode() { return static_cast<ino_t>(*pod_.netns().Inode()); }

  ScratchNetns pod_;
  std::string zds_path_, cni_path_;
  RecordingZtunnel ztunnel_;
  LabelPolicy policy_;
  std::unique_ptr<ZdsServer> zds_;
  std::unique_ptr<ZdsClient> ztunnel_client_;
  std::unique_ptr<NodeAgent> agent_;
};

TEST_F(NodeAgentE2e, CniAddOfAnUnlabelledPodChangesNothing) {
  auto out = Cni("ADD");
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(json::parse(out.out), json::parse(PrevResult()));
  EXPECT_FALSE(RulesPresent());
  EXPECT_FALSE(ztunnel_.Get("uid-web-0").has_value());
  EXPECT_FALSE(agent_->IsEnrolled("uid-web-0"));
}

TEST_F(NodeAgentE2e, CniAddCheckDelOfAnAmbientPod) {
  policy_.Set("shop/web-0", true);
  auto add = Cni("ADD");
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_EQ(json::parse(add.out), json::parse(PrevResult()));
  EXPECT_TRUE(RulesPresent());
  EXPECT_NE(pod_.Sh("ip rule show").find("fwmark 0x111/0xfff lookup 100"), std::string::npos);
  auto seen = ztunnel_.Get("uid-web-0");
  ASSERT_TRUE(seen.has_value()) << "ztunnel was not told about the pod";
  EXPECT_EQ(seen->second, PodInode()) << "ztunnel got a different netns";
  EXPECT_EQ(seen->first, (WorkloadInfo{"web-0", "shop", "web-sa"}));

  // CHECK repairs drift.
  pod_.Sh("nft delete table inet istio-ambient-mangle");
  auto check = Cni("CHECK");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(pod_.Sh("nft list ruleset").find("istio-ambient-mangle"), std::string::npos);

  auto del = Cni("DEL");
  EXPECT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(pod_.Sh("nft list ruleset"), "");
  EXPECT_EQ(pod_.Sh("ip rule show pref 32764"), "");
  EXPECT_FALSE(ztunnel_.Get("uid-web-0").has_value());
  EXPECT_FALSE(agent_->IsEnrolled("uid-web-0"));
}

TEST_F(NodeAgentE2e, LabelChangesEnrollAndReleaseARunningPod) {
  PodEvent pod{"shop", "web-0", "uid-web-0", "ctr-1", pod_.path(), {"10.254.77.2"}};
  auto unchanged = agent_->Reevaluate(pod);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(*unchanged, CniResult::kNotEnrolled);

  policy_.Set("shop/web-0", true);  // `ambitctl apply` added the label
  auto enrolled = agent_->Reevaluate(pod);
  ASSERT_TRUE(enrolled.ok()) << enrolled.error().ToString();
  EXPECT_EQ(*enrolled, CniResult::kEnrolled);
  EXPECT_TRUE(RulesPresent());
  EXPECT_TRUE(ztunnel_.Get("uid-web-0").has_value());
  EXPECT_EQ(*agent_->Reevaluate(pod), CniResult::kNotEnrolled);  // nothing to change

  policy_.Set("shop/web-0", false);  // label removed
  auto released = agent_->Reevaluate(pod);
  ASSERT_TRUE(released.ok()) << released.error().ToString();
  EXPECT_EQ(*released, CniResult::kRemoved);
  EXPECT_EQ(pod_.Sh("nft list ruleset"), "");
  EXPECT_FALSE(ztunnel_.Get("uid-web-0").has_value());
}

TEST_F(NodeAgentE2e, WithoutZtunnelAddFailsAndLeavesNothing) {
  ztunnel_client_->Stop();
  for (int i = 0; i < 100 && zds_->ReadyConnections() > 0; ++i) std::this_thread::sleep_for(20ms);
  policy_.Set("shop/web-0", true);
  auto add = Cni("ADD");
  EXPECT_EQ(add.exit_code, 100) << add.out;
  EXPECT_NE(json::parse(add.out)["details"].get<std::string>().find("no ztunnel connection"), std::string::npos)
      << add.out;
  EXPECT_FALSE(RulesPresent());
  EXPECT_TRUE(zds_->PodUids().empty());
}

TEST_F(NodeAgentE2e, ShutdownRemovesRulesOfEnrolledPods) {
  policy_.Set("shop/web-0", true);
  ASSERT_EQ(Cni("ADD").exit_code, 0);
  ASSERT_TRUE(RulesPresent());
  agent_.reset();
  EXPECT_EQ(pod_.Sh("nft list ruleset"), "");
}

}  // namespace
}  // namespace ambit::inpod
