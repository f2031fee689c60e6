// The settings a cluster was created with (<state>/cluster.json), written by
// `ambitctl cluster up` and read by ambitd. Value type; thread-compatible.
#pragma once

#include <string>

#include "cluster/cni.h"
#include "cluster/layout.h"
#include "core/result.h"

namespace ambit::cluster {

struct ClusterConfig {
  std::string name;
  int node_count = 1;
  CniSettings cni;
};

std::string ClusterConfigToJson(const ClusterConfig& config);
Result<ClusterConfig> ClusterConfigFromJson(const std::string& text, const std::string& where);
Result<ClusterConfig> LoadClusterConfig(const ClusterLayout& layout);
Status SaveClusterConfig(const ClusterLayout& layout, const ClusterConfig& config);

}  // namespace ambit::cluster
