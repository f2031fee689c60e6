// Sections of /config_dump shared by ztunnel and the waypoint
// (https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/): workloads,
// services and policies from a WorkloadState snapshot, certificates from the
// SecretManager, per-loop counters from hbone::Stats. ztunnel's pod sections
// are in src/node/pod_dump.h.
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <vector>

#include "hbone/stats.h"
#include "proxy/secret_manager.h"
#include "state/workload_state.h"

namespace ambit::proxy {

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

}  // namespace ambit::proxy
