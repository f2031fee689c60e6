// ambit-cni: chained CNI plugin. Reads the network config from stdin and the
// CNI_* environment, asks the node agent to enroll/release the pod, prints the
// previous result unchanged (or a CNI error object) on stdout. Notes go to
// stderr. See src/inpod/cni_plugin.h for the contract.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "inpod/cni_plugin.h"

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

int main() {
  ambit::inpod::CniEnvironment env;
  env.command = Env("CNI_COMMAND");
  env.container_id = Env("CNI_CONTAINERID");
  env.netns = Env("CNI_NETNS");
  env.ifname = Env("CNI_IFNAME");
  env.args = Env("CNI_ARGS");
  std::string config;
  if (env.command != "VERSION") {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) config.append(buf, n);
  }
  ambit::inpod::CniOutput out = ambit::inpod::RunCniPlugin(env, config, ambit::inpod::CallAgentOverSocket);
  std::fwrite(out.stdout_text.data(), 1, out.stdout_text.size(), stdout);
  std::fflush(stdout);
  if (!out.log.empty()) std::fprintf(stderr, "%s\n", out.log.c_str());
  return out.exit_code;
}
