// Runs the real ambit-cni binary (as a runtime would: CNI_* environment,
// config on stdin) against a fake node agent listening on a unix socket.
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "inpod/cni_protocol.h"
#include "inpod/seqpacket.h"
#include "redirect/netns_exec.h"

namespace ambit::inpod {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kPrevResult = R"({"cniVersion":"1.0.0",
  "interfaces":[{"name":"eth0","sandbox":"/run/netns/pod-a"}],
  "ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1","interface":0}]})";

// Answers one request per connection with |reply|, recording what it got.
class FakeAgent {
 public:
  explicit FakeAgent(CniReply reply)
      : path_("/tmp/ambit-cni-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".sock"),
        reply_(std::move(reply)) {
    auto listener = ListenSeqpacket(path_);
    EXPECT_TRUE(listener.ok());
    if (listener.ok()) listener_ = std::move(*listener);
    thread_ = std::thread([this] {
      auto conn = AcceptSeqpacket(listener_.get(), 10s);
      if (!conn.ok()) return;
      auto datagram = ReceiveDatagram(conn->get(), 10s, kMaxCniDatagram);
      if (!datagram.ok()) return;
      auto request = DecodeCniRequest(datagram->bytes);
      if (request.ok()) received_ = *request;
      (void)SendDatagram(conn->get(), EncodeCniReply(reply_), -1, 10s);
    });
  }
  ~FakeAgent() {
    Join();
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // Waits for the one exchange to finish; then received() is final.
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  const std::optional<CniRequest>& received() const { return received_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
  CniReply reply_;
  UniqueFd listener_;
  std::thread thread_;
  std::optional<CniRequest> received_;
};

redirect::CommandOutput RunPlugin(const std::string& command, const std::string& config) {
  auto out = redirect::RunInNetns(
      -1,
      {"env", "CNI_COMMAND=" + command, "CNI_CONTAINERID=ctr-1", "CNI_NETNS=/run/netns/pod-a", "CNI_IFNAME=eth0",
       "CNI_PATH=/usr/lib/cni", "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_UID=u-1",
       AMBIT_CNI_BINARY},
      config, 20s);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().ToString());
  return out.ok() ? *out : redirect::CommandOutput{-1, "", ""};
}

std::string Config(const std::string& socket) {
  json c = {{"cniVersion", "1.0.0"}, {"name", "ambit"}, {"type", "ambit-cni"}, {"agentSocket", socket},
            {"prevResult", json::parse(kPrevResult)}};
  return c.dump();
}

TEST(AmbitCniBinary, AddForwardsThePodAndPrintsPrevResultUnchanged) {
  FakeAgent agent({CniResult::kEnrolled, ""});
  auto out = RunPlugin("ADD", Config(agent.path()));
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(json::parse(out.out), json::parse(kPrevResult));
  agent.Join();
  ASSERT_TRUE(agent.received().has_value());
  EXPECT_EQ(agent.received()->command, CniCommand::kAdd);
  EXPECT_EQ(agent.received()->pod, (PodEvent{"shop", "web-0", "u-1", "ctr-1", "/run/netns/pod-a", {"10.244.1.5"}}));
}

TEST(AmbitCniBinary, DelForwardsAndPrintsNothing) {
  FakeAgent agent({CniResult::kRemoved, ""});
  auto out = RunPlugin("DEL", Config(agent.path()));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "");
  agent.Join();
  ASSERT_TRUE(agent.received().has_value());
  EXPECT_EQ(agent.received()->command, CniCommand::kDel);
}

TEST(AmbitCniBinary, AgentErrorBecomesCniErrorOnStdout) {
  FakeAgent agent({CniResult::kError, "no ztunnel connection"});
  auto out = RunPlugin("ADD", Config(agent.path()));
  EXPECT_EQ(out.exit_code, 100);
  json err = json::parse(out.out);
  EXPECT_EQ(err["code"], 100);
  EXPECT_EQ(err["details"], "no ztunnel connection");
  EXPECT_FALSE(err["msg"].get<std::string>().empty());
}

TEST(AmbitCniBinary, MissingAgentIsTryAgainLater) {
  auto out = RunPlugin("ADD", Config("/tmp/ambit-no-such-agent.sock"));
  EXPECT_EQ(out.exit_code, 11);
  EXPECT_EQ(json::parse(out.out)["code"], 11);
  auto del = RunPlugin("DEL", Config("/tmp/ambit-no-such-agent.sock"));
  EXPECT_EQ(del.exit_code, 0);
  EXPECT_EQ(del.out, "");
}

TEST(AmbitCniBinary, Version) {
  auto out = RunPlugin("VERSION", "");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(json::parse(out.out)["cniVersion"], "1.0.0");
}

}  // namespace
}  // namespace ambit::inpod
