#include "xds/proxy_node.h"

#include "envoy/config/core/v3/base.pb.h"

namespace ambit::xds {
namespace {

void SetString(google::protobuf::Struct* s, const std::string& key, const std::string& value) {
  (*s->mutable_fields())[key].set_string_value(value);
}

std::string GetString(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}

}  // namespace

std::string ProxyNode::NodeId() const {
  return "ztunnel~" + ip + "~" + pod_name + "." + pod_namespace + "~" + pod_namespace +
         ".svc.cluster.local";
}

void ProxyNode::ToProto(envoy::config::core::v3::Node* out) const {
  out->set_id(NodeId());
  out->set_cluster(cluster_id);
  out->set_user_agent_name("ambit-ztunnel");
  google::protobuf::Struct* md = out->mutable_metadata();
  SetString(md, "NAME", pod_name);
  SetString(md, "NAMESPACE", pod_namespace);
  SetString(md, "INSTANCE_IPS", ip);
  SetString(md, "NODE_NAME", node_name);
  SetString(md, "CLUSTER_ID", cluster_id);
  SetString(md, "ENABLE_HBONE", "true");
}

Result<ProxyNode> ProxyNode::FromProto(const envoy::config::core::v3::Node& node) {
  ProxyNode out;
  const google::protobuf::Struct& md = node.metadata();
  out.node_name = GetString(md, "NODE_NAME");
  if (out.node_name.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "xDS node '" + node.id() + "' has no NODE_NAME string in its metadata");
  }
  out.pod_name = GetString(md, "NAME");
  out.pod_namespace = GetString(md, "NAMESPACE");
  out.ip = GetString(md, "INSTANCE_IPS");
  out.cluster_id = GetString(md, "CLUSTER_ID");
  if (out.cluster_id.empty()) out.cluster_id = node.cluster();
  return out;
}

}  // namespace ambit::xds
