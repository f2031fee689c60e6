// Small builders for istio.workload resources used by the xds tests.
#pragma once

#include <string>

#include "istio/workload/workload.pb.h"

namespace ambit::xds::testing {

// A workload "Kubernetes//Pod/<ns>/<name>" at |ip| (HBONE).
istio::workload::Address WorkloadAddress(const std::string& ns, const std::string& name,
                                         const std::string& ip);
std::string WorkloadUid(const std::string& ns, const std::string& name);

// A service "<ns>/<name>.<ns>.svc.cluster.local" at |vip| with port 80 -> 8080.
istio::workload::Address ServiceAddress(const std::string& ns, const std::string& name,
                                        const std::string& vip);
std::string ServiceKey(const std::string& ns, const std::string& name);

}  // namespace ambit::xds::testing
