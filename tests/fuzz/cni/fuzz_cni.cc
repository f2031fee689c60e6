// Fuzzes the CNI side: the plugin's handling of its stdin network config (with
// an in-memory agent) and the agent's decoding of plugin requests and replies.
// Byte 0 selects the CNI command and the fake agent's answer; the rest is the
// JSON text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "inpod/cni_plugin.h"
#include "inpod/cni_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace ambit::inpod;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  static const char* kCommands[] = {"ADD", "DEL", "CHECK", "VERSION"};
  CniEnvironment env{kCommands[data[0] & 3], "ctr", "/run/netns/p", "eth0",
                     "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=name"};
  const CniResult answer = static_cast<CniResult>((data[0] >> 2) % 5);
  CniOutput out = RunCniPlugin(env, text, [&](const std::string&, const CniRequest& request, std::chrono::seconds) {
    // What the plugin sends must always decode on the agent's side.
    if (!DecodeCniRequest(EncodeCniRequest(request)).ok()) std::abort();
    return ambit::Result<CniReply>(CniReply{answer, "m"});
  });
  if (out.exit_code != 0 && out.stdout_text.empty()) std::abort();  // errors are always reported on stdout

  auto request = DecodeCniRequest(text);
  if (request.ok()) {
    auto again = DecodeCniRequest(EncodeCniRequest(*request));
    if (!again.ok() || !(again->pod == request->pod) || again->command != request->command) std::abort();
  }
  (void)DecodeCniReply(text);
  (void)ResultIps(text);
  (void)ParseCniArgs(text);
  return 0;
}
