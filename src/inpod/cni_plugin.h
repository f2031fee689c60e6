// The ambit-cni plugin's logic, separate from process I/O so it can be tested:
// a chained CNI plugin (spec 1.0.0) that forwards each pod to the node agent
// and passes the previous plugin's result through unchanged.
//
// Network config (stdin), besides the standard cniVersion/name/type:
//   "agentSocket": path of the node agent's CNI socket (required for ADD/CHECK)
//   "agentTimeoutSeconds": how long to wait for the agent (default 30)
//   "prevResult": the result of the plugins before us (required for ADD/CHECK)
// CNI_ARGS must carry K8S_POD_NAMESPACE and K8S_POD_NAME (K8S_POD_UID if
// known); a container without them is not a pod and is passed through.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "inpod/cni_protocol.h"

namespace ambit::inpod {

inline constexpr std::string_view kCniSpecVersion = "1.0.0";

// CNI error codes used (https://github.com/containernetworking/cni/blob/main/SPEC.md#error):
// well-known ones, and 100+ for ours.
enum CniErrorCode : int {
  kCniIncompatibleVersion = 1,
  kCniInvalidEnvironment = 4,
  kCniDecodeFailure = 6,
  kCniInvalidConfig = 7,
  kCniTryAgainLater = 11,
  kCniAgentRefused = 100,  // the node agent answered with an error
};

// The CNI_* environment of one invocation.
struct CniEnvironment {
  std::string command;  // CNI_COMMAND
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;  // CNI_ARGS, "K=V;K=V"
};

struct CniOutput {
  int exit_code = 0;
  std::string stdout_text;  // the result, the error object, or nothing
  std::string log;          // human-readable note for stderr (may be empty)
};

// Sends one request to the node agent at |socket| and returns its reply.
using AgentCall =
    std::function<Result<CniReply>(const std::string& socket, const CniRequest&, std::chrono::seconds timeout)>;

// Runs one plugin invocation.
CniOutput RunCniPlugin(const CniEnvironment& env, std::string_view stdin_config, const AgentCall& call_agent);

// "K8S_POD_NAMESPACE=a;K8S_POD_NAME=b" -> map (malformed pairs are skipped).
std::map<std::string, std::string> ParseCniArgs(std::string_view args);
// IP addresses (prefix length removed) listed in a CNI result's "ips".
std::vector<std::string> ResultIps(std::string_view result_json);

// The real transport: unix SOCK_SEQPACKET, one JSON datagram each way.
Result<CniReply> CallAgentOverSocket(const std::string& socket, const CniRequest& request,
                                     std::chrono::seconds timeout);

}  // namespace ambit::inpod
