#include "control/cluster_service.h"

#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include "ambit/v1/cluster.grpc.pb.h"
#include "cluster/topology.h"

namespace ambit::control {
namespace {

class ClusterServiceImpl final : public ambit::v1::ClusterService::Service {
 public:
  ClusterServiceImpl(cluster::ClusterLayout layout, cluster::ClusterConfig config)
      : layout_(std::move(layout)), config_(std::move(config)) {}

  grpc::Status GetInfo(grpc::ServerContext*, const ambit::v1::GetInfoRequest*,
                       ambit::v1::ClusterInfo* out) override {
    out->set_name(config_.name);
    out->set_node_count(config_.node_count);
    out->set_state_dir(layout_.StateDir());
    out->set_ambitd_pid(static_cast<int32_t>(::getpid()));
    out->set_ready(true);
    return grpc::Status::OK;
  }

  grpc::Status ListNodes(grpc::ServerContext*, const ambit::v1::ListRequest*,
                         ambit::v1::NodeList* out) override {
    for (const auto& n : cluster::DescribeNodes(layout_, config_.node_count)) {
      auto* node = out->add_nodes();
      node->set_name(n.name);
      node->set_ip(n.ip);
      node->set_pod_cidr(n.pod_cidr);
      node->set_netns(n.netns_path);
    }
    return grpc::Status::OK;
  }

 private:
  const cluster::ClusterLayout layout_;
  const cluster::ClusterConfig config_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeClusterService(const cluster::ClusterLayout& layout,
                                                  const cluster::ClusterConfig& config) {
  return std::make_unique<ClusterServiceImpl>(layout, config);
}

}  // namespace ambit::control
