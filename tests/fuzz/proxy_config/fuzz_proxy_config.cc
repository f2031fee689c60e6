// Fuzzes what `ambitctl proxy-config` reads from a ztunnel's admin: the HTTP
// reply (ParseHttpReply) and the /config_dump document rendered as each view,
// table and JSON. Byte 0 picks the view and options; the rest is the reply,
// whose body (when it parses) is the dump.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ctl/netns_http.h"
#include "ctl/proxy_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace ambit::ctl;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto reply = ParseHttpReply(text);
  if (reply.ok() && (reply->status < 100 || reply->status > 599)) std::abort();
  const std::string dump = reply.ok() ? reply->body : text;
  static const ProxyView kViews[] = {ProxyView::kWorkloads, ProxyView::kServices, ProxyView::kPolicies,
                                     ProxyView::kCertificates, ProxyView::kConnections};
  RenderOptions options;
  options.json = (data[0] & 0x08) != 0;
  options.node_column = (data[0] & 0x10) != 0;
  auto out = RenderProxyConfig(kViews[data[0] % 5], {{"node1", dump}, {"node2", dump}}, options);
  // A table always has its header line; errors always name the node.
  if (out.ok() && out->empty()) std::abort();
  if (!out.ok() && out.error().ToString().find("node node1") == std::string::npos) std::abort();
  return 0;
}
