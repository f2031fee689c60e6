// WorkloadState: one immutable snapshot of everything ztunnel knows from
// discovery (workloads, services, authorization policies) with the lookups
// the route decision needs.
//
// Immutable after construction, hence safe to read from any number of threads
// without locking. Pointers and references returned by lookups stay valid for
// as long as the caller holds the std::shared_ptr<const WorkloadState> they
// came from (see StateStore). A new snapshot is built from the previous one's
// Contents plus a delta; unchanged entries are shared, not copied, and the
// indexes are rebuilt (O(n log n) per applied update). Among them, per
// service port, the list of endpoints that can serve it, so that picking one
// per connection is an index into that list (O(1) in the endpoint count).
// Also per snapshot: the compiled L4 authorization policies
// (authz::PolicyIndex), built from the previous snapshot's so that unchanged
// policies are not compiled again, each workload's applicable policies
// resolved to pointers into it (so a decision looks nothing up by name), and
// a policy generation that tells whether anything authorization looks at
// changed.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "authz/policy_index.h"
#include "state/workload.h"

namespace istio::security {
class Authorization;
}

namespace ambit::state {

using Authorization = istio::security::Authorization;

// An address or a hostname to connect to.
inline bool HasDestination(const Workload& w) { return !w.addresses.empty() || !w.hostname.empty(); }
// The workload's first address; empty for a hostname-only workload.
inline std::string_view FirstAddress(const Workload& w) {
  return w.addresses.empty() ? std::string_view() : std::string_view(w.addresses.front());
}

// A chosen (or candidate) backend for a service port.
// Borrows from the snapshot it came from (like every lookup result).
struct ServiceEndpoint {
  const Workload* workload = nullptr;
  std::string_view address;  // packed IP: the workload's first address ("" = use workload->hostname)
  uint16_t target_port = 0;  // port to connect to on the workload
};

class WorkloadState {
 public:
  // The named resources, keyed by xDS resource name.
  struct Contents {
    std::map<std::string, std::shared_ptr<const Workload>, std::less<>> workloads;  // by uid
    std::map<std::string, std::shared_ptr<const Service>, std::less<>> services;    // by ns/hostname
    std::map<std::string, std::shared_ptr<const Authorization>, std::less<>> policies;  // ns/name
  };

  WorkloadState() = default;
  // |previous|, if given, is the snapshot |contents| was derived from: its
  // compiled policies are reused for the same (pointer-equal) resources and
  // the policy generation carries over when nothing it covers changed.
  explicit WorkloadState(Contents contents, const WorkloadState* previous = nullptr);

  WorkloadState(const WorkloadState&) = delete;
  WorkloadState& operator=(const WorkloadState&) = delete;

  const Contents& contents() const { return contents_; }

  const Workload* FindWorkloadByUid(std::string_view uid) const;
  // |packed_ip|: 4 or 16 bytes. Host-network workloads are never found by IP.
  const Workload* FindWorkloadByAddress(std::string_view network, std::string_view packed_ip) const;

  // |key|: "namespace/hostname".
  const Service* FindServiceByKey(std::string_view key) const;
  const Service* FindServiceByVip(std::string_view network, std::string_view packed_ip) const;

  // Every endpoint of |service| that can serve |service_port|: workloads that
  // list the service, have an address and a known target port (the
  // workload's own non-zero mapping for the port, else the service's), in uid
  // order. Healthy ones only unless |include_unhealthy|. Empty if the service
  // has no such port (the first mapping of a port listed twice counts).
  std::vector<ServiceEndpoint> Endpoints(const Service& service, uint16_t service_port,
                                         bool include_unhealthy = false) const;

  // Service VIP:port -> one healthy endpoint, chosen uniformly by |random|
  // (the caller supplies randomness so this stays a pure function): the
  // endpoint at index random % n of Endpoints(service, port) (n = its size).
  // nullopt when the VIP is not a known service, the port is not one of its
  // ports, or it has no healthy endpoint. Hot path: one VIP lookup plus a
  // scan of the service's ports, no allocation for an IPv4 VIP; independent
  // of the number of endpoints.
  //
  // A service with load_balancing (kFailover, kStrict) chooses instead among
  // the endpoints that rank best for |source| (the client workload; ztunnel's
  // load_balance ranking: the length of the prefix of routing_preference on
  // which endpoint and client agree, network first counting above the rest);
  // kStrict takes only full matches (else nullopt). Those sets are decided
  // per snapshot for every distinct client locality, so this stays one hash
  // lookup (the client's locality) plus an index. An unknown |source| (null,
  // or not of this snapshot) gets every endpoint under kFailover and none
  // under kStrict. ALLOW_ALL also admits unhealthy endpoints.
  std::optional<ServiceEndpoint> PickServiceEndpoint(std::string_view network,
                                                     std::string_view packed_vip,
                                                     uint16_t service_port,
                                                     uint64_t random,
                                                     const Workload* source = nullptr) const;
  // Same, for a |service| already found (e.g. by FindServiceByVip). A Service
  // from another snapshot is looked up by key (slow: allocates) and picked
  // without load_balancing.
  std::optional<ServiceEndpoint> PickServiceEndpoint(const Service& service,
                                                     uint16_t service_port,
                                                     uint64_t random,
                                                     const Workload* source = nullptr) const;

  // Policies that apply to workloads in |ns|: namespace-scoped ones of |ns| and
  // global ones (stored under the empty namespace). Selector-scoped policies are
  // listed by key in Workload::authorization_policies; see FindPolicy.
  std::vector<const Authorization*> NamespacePolicies(std::string_view ns) const;
  const Authorization* FindPolicy(std::string_view key) const;

  // Every policy of this snapshot, compiled (L4 authorization decisions).
  const authz::PolicyIndex& policy_index() const { return policy_index_; }

  // A workload's policies resolved against policy_index() when the snapshot
  // is built: |scoped| = ScopedPolicies(workload.ns), |listed| =
  // ListedPolicies(workload.authorization_policies). Workloads listing the
  // same keys share one |listed| set. Borrowed from this snapshot.
  struct WorkloadPolicies {
    const authz::PolicySet* scoped = nullptr;
    const authz::PolicySet* listed = nullptr;
  };
  // |workload| must be one of this snapshot's (e.g. from FindWorkloadByAddress);
  // null otherwise, and when the snapshot has no policy at all (nothing to
  // enforce). One pointer-keyed hash lookup; no string work.
  const WorkloadPolicies* FindWorkloadPolicies(const Workload& workload) const;

  // What L4 authorization sees — the policies, and every workload's
  // namespace and policy keys — has a generation: a snapshot built from a
  // previous one keeps its generation when none of that changed, and takes
  // a new process-wide unique one otherwise (0 = no policy and no workload
  // listing one). Comparing generations tells whether open connections need
  // a new decision (ztunnel's PolicyWatcher).
  uint64_t policy_generation() const { return policy_generation_; }
  // The generation of the snapshot this one was built from (0 without one).
  uint64_t previous_policy_generation() const { return previous_policy_generation_; }
  // Relative to that snapshot: whether any policy changed (added, removed,
  // replaced), and "namespace/name" of the workloads that are new, gone
  // (if they listed policies) or whose namespace or policy keys changed,
  // sorted. Without a previous snapshot every policy and workload counts as
  // changed.
  bool policies_changed() const { return policies_changed_; }
  const std::vector<std::string>& policy_changed_workloads() const {
    return policy_changed_workloads_;
  }

  size_t workload_count() const { return contents_.workloads.size(); }
  size_t service_count() const { return contents_.services.size(); }
  size_t policy_count() const { return contents_.policies.size(); }

 private:
  static std::string AddressKey(std::string_view network, std::string_view packed_ip);
  // A workload that lists a service, with the ports it gives for it.
  struct Member {
    const Workload* workload = nullptr;
    const std::vector<PortMapping>* ports = nullptr;  // workload->services[key]
  };
  // Per service key of this snapshot: the workloads that list it.
  struct ServiceIndex {
    std::string key;              // "namespace/hostname"
    std::vector<Member> members;  // ordered by uid
  };
  // An endpoint that can serve one service port (healthy, has an address,
  // known target port).
  struct Eligible {
    const Workload* workload = nullptr;
    uint16_t target_port = 0;
  };
  // One service port and its eligible endpoints: eligible_[first, first + count),
  // in uid order.
  struct PortEndpoints {
    uint16_t service_port = 0;
    uint32_t first = 0;
    uint32_t count = 0;
    // With load_balancing (kFailover/kStrict): ranked_[ranked_first + p] is
    // the range of eligible_ (or ranked_eligible_, see Range) a client of
    // locality profile p chooses from.
    bool ranked = false;
    uint32_t ranked_first = 0;
  };
  // A range of eligible endpoints: eligible_ when !own, else ranked_eligible_.
  struct Range {
    uint32_t first = 0;
    uint32_t count = 0;
    bool own = false;
  };
  // A service of this snapshot with its precomputed endpoints per port:
  // port_endpoints_[first_port, first_port + port_count), one per distinct
  // service port (the first mapping of a repeated port).
  struct ServiceEntry {
    const Service* service = nullptr;
    const ServiceIndex* index = nullptr;  // null when no workload lists it
    uint32_t first_port = 0;
    uint32_t port_count = 0;
  };
  // The port |ports| (a workload's mappings for the service) serves
  // |service_mapping|'s service port on (0 = it cannot).
  static uint16_t TargetPort(const std::vector<PortMapping>& ports,
                             const PortMapping& service_mapping);
  // The service's first mapping for |service_port|, null if none.
  static const PortMapping* FindMapping(const Service& service, uint16_t service_port);
  const PortEndpoints* FindPort(const ServiceEntry& entry, uint16_t service_port) const;
  static ServiceEndpoint ToEndpoint(const Eligible& e) {
    return ServiceEndpoint{e.workload, FirstAddress(*e.workload), e.target_port};
  }
  std::optional<ServiceEndpoint> Pick(const ServiceEntry& entry, uint16_t service_port,
                                      uint64_t random, const Workload* source) const;
  // ztunnel's rank of |endpoint| for a client at |client| under |lb|; -1 when
  // kStrict excludes it.
  static int Rank(const LoadBalancing& lb, const Workload& client, const Workload& endpoint);
  // Fills ranked_ for |port| (its eligible_ range already set) and |lb|.
  void RankPort(PortEndpoints& port, const LoadBalancing& lb);
  // The members of |index| that can serve |mapping| (healthy ones only unless
  // |include_unhealthy|), by walking them. Empty if either is null.
  static std::vector<ServiceEndpoint> CollectEndpoints(const ServiceIndex* index,
                                                       const PortMapping* mapping,
                                                       bool include_unhealthy);

  // Sets the policy generation and change list against |previous|.
  void TrackPolicyChanges(const WorkloadState* previous);
  // Fills workload_policies_ (when there are policies).
  void ResolveWorkloadPolicies();

  Contents contents_;
  authz::PolicyIndex policy_index_;
  uint64_t policy_generation_ = 0;
  uint64_t previous_policy_generation_ = 0;
  bool policies_changed_ = false;
  std::vector<std::string> policy_changed_workloads_;
  std::unordered_map<const Workload*, WorkloadPolicies> workload_policies_;
  // The distinct non-empty |listed| sets (a deque: elements do not move).
  std::deque<authz::PolicySet> listed_sets_;
  // network + '/' + packed ip -> workload / service
  std::unordered_map<std::string, const Workload*> workload_by_address_;
  std::unordered_map<std::string, const ServiceEntry*> service_by_vip_;
  // service key -> its index (workloads listing it, ordered by uid). Built
  // for every key any workload lists, whether or not the service is known.
  std::unordered_map<std::string, ServiceIndex> endpoints_by_key_;
  // Every service of this snapshot (node-based map: entries do not move).
  std::unordered_map<const Service*, ServiceEntry> service_entries_;
  // The per-port endpoint lists of every service, back to back (one
  // allocation each rather than two per service).
  std::vector<PortEndpoints> port_endpoints_;
  std::vector<Eligible> eligible_;
  // Locality profiles: one representative workload per distinct (network,
  // region, zone, subzone, node, cluster) among this snapshot's workloads, and
  // each workload's profile index.
  std::vector<const Workload*> profiles_;
  std::unordered_map<const Workload*, uint32_t> profile_of_;
  // Per ranked port, one Range per profile; the endpoint sets that are not
  // a whole port range, back to back.
  std::vector<Range> ranked_;
  std::vector<Eligible> ranked_eligible_;
};

}  // namespace ambit::state
