// `ambitctl cluster up|down`: creating and removing a local cluster.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"

namespace ambit::ctl {

inline constexpr int kDefaultNodes = 2;

// Creates the cluster (state dir, cluster.json) if it does not exist, starts its
// ambitd if it is not running, and waits until it answers. Idempotent; fails if
// the cluster exists with a different node count. |ambitd| is the binary to run.
// On failure a cluster this call created is removed again.
Status ClusterUp(const std::string& cluster, std::optional<int> nodes, const std::string& ambitd);

// Removes everything of the cluster, whether or not its ambitd runs.
Status ClusterDown(const std::string& cluster);

// The ambitd binary next to the running ambitctl, else "ambitd" on PATH.
std::string FindAmbitd();

}  // namespace ambit::ctl
