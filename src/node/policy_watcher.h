// PolicyWatcher: re-decides open inbound connections when L4 authorization
// changes (ztunnel's PolicyWatcher,
// https://github.com/istio/ztunnel/blob/master/src/proxy/connection_manager.rs).
//
// It observes the StateStore. For each published snapshot whose policy
// generation differs from the one it replaces (a policy added, changed or
// removed, or a workload's namespace or policy keys changed), it asks every
// affected pod's ConnectionTracker to post each connection's recheck to the
// connection's own loop; there the connection is decided again against the
// newest snapshot and closed if now denied. A publication that changes
// nothing authorization sees costs one integer compare.
//
// Affected pods: all of them when a policy changed (as ztunnel) or when the
// snapshot was not built from the one it replaces; otherwise the pods whose
// workload (same namespace and name) is in the snapshot's
// policy_changed_workloads().
//
// Thread-safety: the observer runs on the publishing thread; the counters
// and Detach are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "node/pod.h"
#include "state/state_store.h"

namespace ambit::node {

class PolicyWatcher {
 public:
  // Every pod whose connections may need a new decision (live and draining).
  using PodSource = std::function<std::vector<std::shared_ptr<Pod>>()>;

  // Observes |store| from now on. |pods| is called on the publishing thread.
  PolicyWatcher(state::StateStore& store, PodSource pods);
  ~PolicyWatcher();  // Detach()

  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;

  // Stops acting on publications (the store keeps a no-op observer).
  void Detach();

  // Publications that changed the policy generation, and pod re-checks
  // requested (a pod counts once per such publication).
  std::uint64_t policy_updates() const;
  std::uint64_t pod_rechecks() const;

  // Pure: whether |current| (replacing |previous|, null for the first one)
  // changes a decision about connections to |pod|.
  static bool Affects(const state::WorkloadState* previous, const state::WorkloadState& current,
                      const PodSpec& pod);

 private:
  struct Shared {
    std::mutex mu;
    PodSource pods;  // empty once detached; guarded by mu
    std::atomic<std::uint64_t> updates{0};
    std::atomic<std::uint64_t> rechecks{0};
  };
  std::shared_ptr<Shared> shared_;
};

}  // namespace ambit::node
