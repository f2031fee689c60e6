#include "state/state_store.h"

#include "core/check.h"

namespace ambit::state {

StateStore::StateStore() : current_(std::make_shared<const WorkloadState>()) {}

void StateStore::Publish(std::shared_ptr<const WorkloadState> state) {
  AMBIT_CHECK(state != nullptr, "publishing a null WorkloadState");
  std::shared_ptr<const WorkloadState> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(current_);
    current_ = std::move(state);
    generation_.fetch_add(1, std::memory_order_release);
  }
  // |old| may be the last reference; release it outside the lock.
}

std::shared_ptr<const WorkloadState> StateStore::Snapshot() const {
  std::lock_guard lock(mu_);
  return current_;
}

StateReader::StateReader(const StateStore& store) : store_(store) { Refresh(); }

void StateReader::Refresh() {
  // Read the generation before the pointer: if a Publish lands in between we
  // hold a newer snapshot with an older generation and simply refresh again.
  uint64_t generation = store_.generation();
  cached_ = store_.Snapshot();
  cached_generation_ = generation;
}

const WorkloadState& StateReader::Get() { return *Hold(); }

const std::shared_ptr<const WorkloadState>& StateReader::Hold() {
  if (store_.generation() != cached_generation_) Refresh();
  return cached_;
}

}  // namespace ambit::state
