// ServiceEntry in the ambient model (Istio's lowering,
// https://istio.io/latest/docs/reference/config/networking/service-entry/):
//
//  - Every host of a ServiceEntry becomes an istio.workload.Service keyed
//    "<namespace>/<host>", named after the ServiceEntry, with the entry's ports
//    (target port = targetPort or the port number) and subjectAltNames, and as
//    addresses the entry's `addresses` (IPs or CIDRs) or, when it has none and
//    resolution is not NONE, the VIPs auto-allocated for that host.
//  - Endpoints: `endpoints` (resolution STATIC or DNS) become one Workload each,
//    uid "<cluster_id>/networking.istio.io/ServiceEntry/<ns>/<name>/<address>",
//    serving every host of the entry on the endpoint's port for the port name
//    (`ports`), else the entry port's target; an address that is not an IP is
//    the Workload's `hostname`, resolved by ztunnel when it connects. These
//    workloads are outside the mesh (tunnel NONE: plaintext). resolution DNS
//    without endpoints or selector: one hostname Workload per host.
//    `workloadSelector` instead adds the hosts to the services of the matching
//    pods of the entry's namespace (HBONE when they are enrolled).
//
// VIP auto-allocation (Istio's PILOT_ENABLE_IP_AUTOALLOCATE controller): each
// non-wildcard host of an entry with resolution other than NONE, no
// `addresses`, and no label networking.istio.io/enable-autoallocate-ip=false
// gets one IPv4 address from 240.240.0.0/16 and one IPv6 address from
// 2001:2::/48. Allocations are kept by the caller (ambitd persists them with
// the store) and passed back in, so a host keeps its addresses across restarts,
// pushes and unrelated changes; addresses of deleted hosts are freed.
//
// Pure functions; thread-compatible.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/istio.h"
#include "config/kube.h"
#include "istio/workload/workload.pb.h"
#include "model/ambient_input.h"

namespace ambit::model {

inline constexpr char kAutoAllocateV4Prefix[] = "240.240.0.0/16";
inline constexpr char kAutoAllocateV6Prefix[] = "2001:2::/48";
inline constexpr char kAutoAllocateLabel[] = "networking.istio.io/enable-autoallocate-ip";

// "<namespace>/<name>" -> host -> addresses (text).
using ServiceEntryAddresses = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

// Whether |entry|'s hosts get auto-allocated addresses.
bool WantsAutoAddresses(const config::ServiceEntry& entry);

// The allocation for |entries| given the |previous| one: kept where a host
// still wants one, new (lowest free) for new hosts, dropped for the rest.
ServiceEntryAddresses AllocateServiceEntryAddresses(const std::vector<const config::ServiceEntry*>& entries,
                                                    const ServiceEntryAddresses& previous);

// The Service resources of |in| (see above), added to |out|; problems
// (unparseable addresses, a host another entry of the namespace already has)
// are appended to |warnings|.
void AddServiceEntryServices(const MeshSettings& mesh, const ServiceEntryInput& in,
                             std::map<std::string, istio::workload::Address>* out,
                             std::vector<std::string>* warnings);

// The Workload resources for |in|'s endpoints.
void AddServiceEntryWorkloads(const MeshSettings& mesh, const ServiceEntryInput& in,
                              std::map<std::string, istio::workload::Address>* out,
                              std::vector<std::string>* warnings);

// Adds |in|'s hosts to |pod_workload|'s services when its workloadSelector
// selects |pod| (same namespace).
void AddServiceEntryMembership(const ServiceEntryInput& in, const config::Pod& pod,
                               istio::workload::Workload* pod_workload);

}  // namespace ambit::model
