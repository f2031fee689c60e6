// Sections of /config_dump built from ztunnel's state
// (https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/): workloads,
// services and policies from a WorkloadState snapshot,
// certificates from the SecretManager.
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <vector>

#include "hbone/stats.h"
#include "node/pod_manager.h"
#include "node/secret_manager.h"
#include "state/workload_state.h"

namespace ambit::node {

// An array of workloads ordered by uid.
void DumpWorkloads(const state::WorkloadState& state, nlohmann::json& out);
// An array of services ordered by "namespace/hostname", each with its endpoints.
void DumpServices(const state::WorkloadState& state, nlohmann::json& out);
// An array of authorization policies (protobuf JSON mapping).
void DumpPolicies(const state::WorkloadState& state, nlohmann::json& out);
// An array of {identity, state, leases, certChain, rootCerts, ...}.
void DumpCertificates(const std::vector<CertStatus>& certs, nlohmann::json& out);

// An array with one {index, connections, bytes} per worker loop of |stats|
// (shard i + 1 is loop i): app connections whose bytes that loop copied and
// the payload bytes it copied, both directions, since start. Reads relaxed
// atomics; safe from any thread while the loops run.
void DumpWorkers(const hbone::Stats& stats, nlohmann::json& out);

// An array of {uid, name, namespace, serviceAccount, identity, listeners, ...}.
void DumpPods(const std::vector<PodStatus>& pods, nlohmann::json& out);

// An array of {pod, direction, source, destination, identity, ageSeconds,
// bytesFromApp, bytesToApp} (the byte counts only where the connection has an
// app socket), ordered by pod, then age (oldest first).
void DumpConnections(const std::vector<PodManager::PodConnections>& pods, nlohmann::json& out);

}  // namespace ambit::node
