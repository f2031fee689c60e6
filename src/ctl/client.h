// A connection to a cluster's ambitd (ambit.v1.ClusterService over the unix
// socket in the cluster's state directory). Thread-compatible.
#pragma once

#include <memory>
#include <string>

#include "cluster/layout.h"
#include "core/result.h"

namespace ambit::v1 {
class ClusterInfo;
class NodeList;
class PodList;
class ServiceList;
class ManifestRequest;
class ManifestResponse;
class ResourceList;
class AnalyzeResponse;
}  // namespace ambit::v1

namespace ambit::ctl {

class ClusterClient {
 public:
  // Fails with kNotFound when the cluster does not exist and kUnavailable when
  // its ambitd does not answer.
  static Result<std::unique_ptr<ClusterClient>> Connect(const cluster::ClusterLayout& layout,
                                                        int timeout_ms = 3000);
  ~ClusterClient();

  Result<ambit::v1::ClusterInfo> GetInfo();
  Result<ambit::v1::NodeList> ListNodes();
  Result<ambit::v1::PodList> ListPods(const std::string& ns);
  Result<ambit::v1::ServiceList> ListServices(const std::string& ns);
  Result<ambit::v1::ManifestResponse> Apply(const ambit::v1::ManifestRequest& request);
  Result<ambit::v1::ManifestResponse> Delete(const ambit::v1::ManifestRequest& request);
  // Stored objects as JSON text; |kind| "" = every kind, |ns| "" = every namespace.
  Result<ambit::v1::ResourceList> ListResources(const std::string& kind, const std::string& ns);
  Result<ambit::v1::AnalyzeResponse> Analyze(const std::string& ns);

  class Impl;

 private:
  explicit ClusterClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::ctl
