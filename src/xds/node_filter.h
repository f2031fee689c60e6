// NodeResourceFilter: which resources a given proxy receives (the per-node
// filtering seam: each node proxy receives only what it needs). The default
// sends everything in the store; a later filter can
// restrict workloads to those on or reachable from the node.
//
// Implementations must be thread-safe and cheap: they run for every resource
// on every push to every stream.
#pragma once

#include <string_view>

#include "xds/proxy_node.h"
#include "xds/versioned_resource.h"

namespace ambit::xds {

class NodeResourceFilter {
 public:
  virtual ~NodeResourceFilter() = default;
  virtual bool Visible(const ProxyNode& node, std::string_view type_url,
                       const VersionedResource& resource) const = 0;
};

class SendEverythingFilter final : public NodeResourceFilter {
 public:
  bool Visible(const ProxyNode&, std::string_view, const VersionedResource&) const override {
    return true;
  }
};

}  // namespace ambit::xds
