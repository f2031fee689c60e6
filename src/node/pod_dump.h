// Sections of ztunnel's /config_dump about its pods
// (https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/): the pods
// it serves and their open connections. The sections both proxies have are in
// src/proxy/config_dump.h.
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <vector>

#include "node/pod_manager.h"

namespace ambit::node {

// An array of {uid, name, namespace, serviceAccount, identity, listeners, ...}.
void DumpPods(const std::vector<PodStatus>& pods, nlohmann::json& out);

// An array of {pod, direction, source, destination, identity, ageSeconds,
// bytesFromApp, bytesToApp} (the byte counts only where the connection has an
// app socket), ordered by pod, then age (oldest first).
void DumpConnections(const std::vector<PodManager::PodConnections>& pods, nlohmann::json& out);

}  // namespace ambit::node
