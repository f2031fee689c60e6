// The hand-off between the ambit-cni plugin and the node agent (pure
// encode/decode). Transport: unix SOCK_SEQPACKET at the path in the plugin's
// config ("agentSocket"); one JSON object per datagram; the plugin sends one
// request and waits for one reply.
//
//   request: {"command":"ADD"|"DEL"|"CHECK",
//             "pod":{"namespace","name","uid","containerId","netns","ips":[...]}}
//   reply:   {"result":"enrolled"|"not_enrolled"|"removed"|"ok"|"error",
//             "message":"..."}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ambit::inpod {

// Largest plugin<->agent datagram (error messages may quote rule scripts).
inline constexpr size_t kMaxCniDatagram = 64 * 1024;

// A pod as the CNI runtime describes it.
struct PodEvent {
  std::string ns;            // K8S_POD_NAMESPACE
  std::string name;          // K8S_POD_NAME
  std::string uid;           // K8S_POD_UID (may be empty; see PodKey)
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS, e.g. /run/netns/<pod> (may be empty on DEL)
  std::vector<std::string> ips;  // from prevResult, without prefix length
  bool operator==(const PodEvent&) const = default;
};

// The identity the agent files a pod under: the uid, or "<ns>/<name>" when the
// runtime did not pass K8S_POD_UID.
std::string PodKey(const PodEvent& pod);

enum class CniCommand { kAdd, kDel, kCheck };

struct CniRequest {
  CniCommand command = CniCommand::kAdd;
  PodEvent pod;
};

enum class CniResult {
  kEnrolled,     // ADD: rules installed, ztunnel told
  kNotEnrolled,  // ADD/DEL/CHECK: not a mesh pod; nothing done
  kRemoved,      // DEL: rules removed, ztunnel told
  kOk,           // CHECK: rules present and current
  kError,        // message says what failed
};

struct CniReply {
  CniResult result = CniResult::kError;
  std::string message;
};

std::string_view ToString(CniCommand command);
std::string_view ToString(CniResult result);

std::string EncodeCniRequest(const CniRequest& request);
Result<CniRequest> DecodeCniRequest(std::string_view json);
std::string EncodeCniReply(const CniReply& reply);
Result<CniReply> DecodeCniReply(std::string_view json);

}  // namespace ambit::inpod
