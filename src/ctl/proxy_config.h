// `ambitctl proxy-config workloads|services|policies|certificates|connections`:
// the views of `istioctl ztunnel-config`
// (https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/) over
// each node's ztunnel /config_dump (admin 127.0.0.1:15000 in the node's
// network namespace).
//
// Rendering is pure (RenderProxyConfig); ProxyConfig does the I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ambit::ctl {

enum class ProxyView { kWorkloads, kServices, kPolicies, kCertificates, kConnections };

// "workloads" | "workload" | "w" ... ; errors list the accepted names.
Result<ProxyView> ParseProxyView(std::string_view name);
// The /config_dump key the view reads ("workloads", ...).
const char* SectionName(ProxyView view);

// One node's /config_dump, as fetched (text), or why it could not be.
struct NodeDump {
  std::string node;
  std::string config_dump;  // the whole /config_dump JSON document
};

struct RenderOptions {
  bool json = false;         // print the raw section(s)
  bool node_column = false;  // several nodes: lead with the ztunnel's node
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// The text to print for |view| over |dumps| (in the given order). A table
// (header always printed, even with no rows) or, with json, the raw section:
// the section itself for one node without node_column, else an object
// {node: section}. Errors name the node and what is wrong with its dump.
Result<std::string> RenderProxyConfig(ProxyView view, const std::vector<NodeDump>& dumps,
                                      const RenderOptions& options);

struct ProxyConfigOptions {
  std::string cluster;
  std::string what;    // the view
  std::string node;    // "" = every node
  std::string output;  // "" (table) | json
};

// Fetches the dumps (ambitd lists the nodes) and renders. A node that cannot
// be read is reported in |errors| ("node node2: ...") while the others print.
struct ProxyConfigOutput {
  std::string text;
  std::vector<std::string> errors;
};
Result<ProxyConfigOutput> ProxyConfig(const ProxyConfigOptions& options);

}  // namespace ambit::ctl
