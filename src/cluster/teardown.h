// Removing every trace of a local cluster, with or without a running ambitd.
#pragma once

#include "cluster/layout.h"
#include "core/result.h"

namespace ambit::cluster {

// True if the cluster's state directory or any of its namespaces exists.
bool ClusterExists(const ClusterLayout& layout);

// Stops ambitd and every process of the cluster (marked by AMBIT_CLUSTER or living
// in one of its namespaces), deletes its network namespaces (with them every link,
// address, route and nft table inside) and removes its state directory.
// Continues past individual failures and reports the first one.
Status TeardownCluster(const ClusterLayout& layout);

}  // namespace ambit::cluster
