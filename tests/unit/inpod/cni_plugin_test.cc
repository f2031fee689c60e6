#include "inpod/cni_plugin.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ambit::inpod {
namespace {

using nlohmann::json;

const char* kPrevResult = R"({
  "cniVersion": "1.0.0",
  "interfaces": [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:ff", "sandbox": "/run/netns/p1"}],
  "ips": [{"address": "10.88.0.7/16", "gateway": "10.88.0.1", "interface": 0},
          {"address": "fd00::7/64", "interface": 0}],
  "routes": [{"dst": "0.0.0.0/0"}],
  "dns": {}
})";

std::string Config(bool with_prev = true, const std::string& version = "1.0.0", bool with_socket = true) {
  json c = {{"cniVersion", version}, {"name", "ambit"}, {"type", "ambit-cni"}};
  if (with_socket) c["agentSocket"] = "/run/ambit/agent.sock";
  if (with_prev) c["prevResult"] = json::parse(kPrevResult);
  return c.dump();
}

CniEnvironment Env(const std::string& command) {
  return {command, "c0ffee", "/run/netns/p1", "eth0",
          "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_UID=uid-123"};
}

// Records the request and answers with a fixed reply.
struct FakeAgent {
  Result<CniReply> reply = CniReply{CniResult::kEnrolled, ""};
  std::vector<CniRequest> requests;
  std::string socket;
  AgentCall call() {
    return [this](const std::string& s, const CniRequest& r, std::chrono::seconds) -> Result<CniReply> {
      socket = s;
      requests.push_back(r);
      return reply;
    };
  }
};

json ErrorObject(const CniOutput& out) { return json::parse(out.stdout_text); }

TEST(CniPlugin, AddForwardsThePodAndPrintsPrevResultUnchanged) {
  FakeAgent agent;
  CniOutput out = RunCniPlugin(Env("ADD"), Config(), agent.call());
  EXPECT_EQ(out.exit_code, 0) << out.stdout_text;
  EXPECT_EQ(json::parse(out.stdout_text), json::parse(kPrevResult));
  ASSERT_EQ(agent.requests.size(), 1u);
  const CniRequest& r = agent.requests[0];
  EXPECT_EQ(agent.socket, "/run/ambit/agent.sock");
  EXPECT_EQ(r.command, CniCommand::kAdd);
  EXPECT_EQ(r.pod, (PodEvent{"shop", "web-0", "uid-123", "c0ffee", "/run/netns/p1", {"10.88.0.7", "fd00::7"}}));
}

TEST(CniPlugin, NotEnrolledStillPassesThrough) {
  FakeAgent agent;
  agent.reply = CniReply{CniResult::kNotEnrolled, ""};
  CniOutput out = RunCniPlugin(Env("ADD"), Config(), agent.call());
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(json::parse(out.stdout_text), json::parse(kPrevResult));
}

TEST(CniPlugin, AgentErrorIsACniError) {
  FakeAgent agent;
  agent.reply = CniReply{CniResult::kError, "pod netns /run/netns/p1: `nft -f -` exited with status 1: boom"};
  CniOutput out = RunCniPlugin(Env("ADD"), Config(), agent.call());
  EXPECT_EQ(out.exit_code, kCniAgentRefused);
  json err = ErrorObject(out);
  EXPECT_EQ(err["code"], kCniAgentRefused);
  EXPECT_EQ(err["cniVersion"], "1.0.0");
  EXPECT_NE(err["msg"].get<std::string>().find("shop/web-0"), std::string::npos);
  EXPECT_NE(err["details"].get<std::string>().find("boom"), std::string::npos);
}

TEST(CniPlugin, UnreachableAgentFailsAddButNotDel) {
  FakeAgent agent;
  agent.reply = Error(ErrorCode::kUnavailable, "connecting to /run/ambit/agent.sock: No such file or directory");
  CniOutput add = RunCniPlugin(Env("ADD"), Config(), agent.call());
  EXPECT_EQ(add.exit_code, kCniTryAgainLater);
  EXPECT_EQ(ErrorObject(add)["code"], kCniTryAgainLater);
  CniOutput del = RunCniPlugin(Env("DEL"), Config(false), agent.call());
  EXPECT_EQ(del.exit_code, 0);
  EXPECT_EQ(del.stdout_text, "");
  EXPECT_NE(del.log.find("unreachable"), std::string::npos);
}

TEST(CniPlugin, DelAndCheckPrintNothingOnSuccess) {
  FakeAgent agent;
  agent.reply = CniReply{CniResult::kRemoved, ""};
  CniEnvironment del_env = Env("DEL");
  del_env.netns = "";  // allowed on DEL
  CniOutput del = RunCniPlugin(del_env, Config(false), agent.call());
  EXPECT_EQ(del.exit_code, 0);
  EXPECT_EQ(del.stdout_text, "");
  ASSERT_EQ(agent.requests.size(), 1u);
  EXPECT_EQ(agent.requests[0].command, CniCommand::kDel);
  agent.reply = CniReply{CniResult::kOk, ""};
  CniOutput check = RunCniPlugin(Env("CHECK"), Config(), agent.call());
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_EQ(check.stdout_text, "");
  EXPECT_EQ(agent.requests.back().command, CniCommand::kCheck);
}

TEST(CniPlugin, ConfigAndEnvironmentErrors) {
  FakeAgent agent;
  EXPECT_EQ(RunCniPlugin(Env("ADD"), Config(false), agent.call()).exit_code, kCniInvalidConfig);
  EXPECT_EQ(RunCniPlugin(Env("ADD"), Config(true, "0.2.0"), agent.call()).exit_code, kCniIncompatibleVersion);
  EXPECT_EQ(RunCniPlugin(Env("ADD"), "not json", agent.call()).exit_code, kCniDecodeFailure);
  EXPECT_EQ(RunCniPlugin(Env("ADD"), Config(true, "1.0.0", false), agent.call()).exit_code, kCniInvalidConfig);
  EXPECT_EQ(RunCniPlugin(Env("FROB"), Config(), agent.call()).exit_code, kCniInvalidEnvironment);
  CniEnvironment no_netns = Env("ADD");
  no_netns.netns = "";
  EXPECT_EQ(RunCniPlugin(no_netns, Config(), agent.call()).exit_code, kCniInvalidEnvironment);
  CniEnvironment no_id = Env("ADD");
  no_id.container_id = "";
  EXPECT_EQ(RunCniPlugin(no_id, Config(), agent.call()).exit_code, kCniInvalidEnvironment);
  EXPECT_TRUE(agent.requests.empty());
  // The error object is the spec's shape.
  json err = ErrorObject(RunCniPlugin(Env("ADD"), Config(false), agent.call()));
  EXPECT_TRUE(err.contains("code") && err.contains("msg") && err.contains("cniVersion"));
}

TEST(CniPlugin, NonPodContainersPassThroughWithoutTheAgent) {
  FakeAgent agent;
  CniEnvironment env = Env("ADD");
  env.args = "IgnoreUnknown=1";
  CniOutput out = RunCniPlugin(env, Config(), agent.call());
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(json::parse(out.stdout_text), json::parse(kPrevResult));
  EXPECT_TRUE(agent.requests.empty());
}

TEST(CniPlugin, VersionListsSupportedVersions) {
  FakeAgent agent;
  CniOutput out = RunCniPlugin({"VERSION", "", "", "", ""}, "", agent.call());
  EXPECT_EQ(out.exit_code, 0);
  json v = json::parse(out.stdout_text);
  EXPECT_EQ(v["cniVersion"], "1.0.0");
  EXPECT_NE(std::find(v["supportedVersions"].begin(), v["supportedVersions"].end(), "1.0.0"),
            v["supportedVersions"].end());
}

TEST(CniPlugin, ArgsAndIps) {
  auto args = ParseCniArgs("A=1;B=;=x;C=a=b;junk");
  EXPECT_EQ(args, (std::map<std::string, std::string>{{"A", "1"}, {"B", ""}, {"C", "a=b"}}));
  EXPECT_EQ(ResultIps(kPrevResult), (std::vector<std::string>{"10.88.0.7", "fd00::7"}));
  EXPECT_TRUE(ResultIps("[]").empty());
  EXPECT_TRUE(ResultIps(R"({"ips":[{"address":5},"x"]})").empty());
}

TEST(CniProtocol, RequestAndReplyRoundTrip) {
  CniRequest request{CniCommand::kCheck, {"ns", "name", "uid", "cid", "/run/netns/x", {"10.0.0.1"}}};
  auto decoded = DecodeCniRequest(EncodeCniRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->command, CniCommand::kCheck);
  EXPECT_EQ(decoded->pod, request.pod);
  auto reply = DecodeCniReply(EncodeCniReply({CniResult::kRemoved, "done"}));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->result, CniResult::kRemoved);
  EXPECT_EQ(reply->message, "done");
  EXPECT_EQ(PodKey(request.pod), "uid");
  EXPECT_EQ(PodKey(PodEvent{"ns", "name", "", "", "", {}}), "ns/name");
}

TEST(CniProtocol, RejectsMalformedMessages) {
  EXPECT_FALSE(DecodeCniRequest("").ok());
  EXPECT_FALSE(DecodeCniRequest("[]").ok());
  EXPECT_FALSE(DecodeCniRequest(R"({"command":"ADD"})").ok());
  EXPECT_FALSE(DecodeCniRequest(R"({"command":"RUN","pod":{"namespace":"a","name":"b"}})").ok());
  EXPECT_FALSE(DecodeCniRequest(R"({"command":"ADD","pod":{"namespace":"a"}})").ok());
  EXPECT_FALSE(DecodeCniRequest(R"({"command":"ADD","pod":{"namespace":"a","name":"b","ips":"x"}})").ok());
  EXPECT_FALSE(DecodeCniRequest(R"({"command":"ADD","pod":{"namespace":"a","name":"b","uid":7}})").ok());
  EXPECT_TRUE(DecodeCniRequest(R"({"command":"ADD","pod":{"namespace":"a","name":"b"}})").ok());
  EXPECT_FALSE(DecodeCniReply(R"({"result":"maybe"})").ok());
  EXPECT_FALSE(DecodeCniReply("{").ok());
}

}  // namespace
}  // namespace ambit::inpod

namespace ambit::inpod {
namespace {

TEST(CniPlugin, NonStringVersionAndInvalidUtf8DoNotThrow) {
  FakeAgent agent;
  EXPECT_EQ(RunCniPlugin(Env("ADD"), R"({"cniVersion": 1, "prevResult": {}})", agent.call()).exit_code,
            kCniIncompatibleVersion);
  agent.reply = CniReply{CniResult::kError, std::string("bad \xff\xfe bytes")};
  CniOutput out = RunCniPlugin(Env("ADD"), Config(), agent.call());
  EXPECT_EQ(out.exit_code, kCniAgentRefused);
  EXPECT_TRUE(json::parse(out.stdout_text, nullptr, false).is_object());
  EXPECT_TRUE(DecodeCniReply(EncodeCniReply({CniResult::kError, "\xc3"})).ok());
}

}  // namespace
}  // namespace ambit::inpod
