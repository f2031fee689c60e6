#include "node/policy_watcher.h"

#include <algorithm>
#include <string>

namespace ambit::node {

bool PolicyWatcher::Affects(const state::WorkloadState* previous,
                            const state::WorkloadState& current, const PodSpec& pod) {
  const std::uint64_t before = previous == nullptr ? 0 : previous->policy_generation();
  if (before == current.policy_generation()) return false;
  if (current.policies_changed() || current.previous_policy_generation() != before) return true;
  const std::string key = pod.ns + "/" + pod.name;
  const auto& changed = current.policy_changed_workloads();
  return std::binary_search(changed.begin(), changed.end(), key);
}

PolicyWatcher::PolicyWatcher(state::StateStore& store, PodSource pods)
    : shared_(std::make_shared<Shared>()) {
  shared_->pods = std::move(pods);
  store.AddObserver([shared = shared_](const std::shared_ptr<const state::WorkloadState>& previous,
                                       const std::shared_ptr<const state::WorkloadState>& current) {
    const std::uint64_t before = previous == nullptr ? 0 : previous->policy_generation();
    if (before == current->policy_generation()) return;  // the common case: nothing to do
    std::lock_guard lock(shared->mu);
    if (!shared->pods) return;
    shared->updates.fetch_add(1, std::memory_order_relaxed);
    for (const std::shared_ptr<Pod>& pod : shared->pods()) {
      if (!Affects(previous.get(), *current, pod->spec())) continue;
      shared->rechecks.fetch_add(1, std::memory_order_relaxed);
      pod->connections().RecheckAll();
    }
  });
}

PolicyWatcher::~PolicyWatcher() { Detach(); }

void PolicyWatcher::Detach() {
  std::lock_guard lock(shared_->mu);
  shared_->pods = nullptr;
}

std::uint64_t PolicyWatcher::policy_updates() const {
  return shared_->updates.load(std::memory_order_relaxed);
}

std::uint64_t PolicyWatcher::pod_rechecks() const {
  return shared_->rechecks.load(std::memory_order_relaxed);
}

}  // namespace ambit::node
