#include "state/state_store.h"

#include "core/check.h"

namespace ambit::state {

StateStore::StateStore() : current_(std::make_shared<const WorkloadState>()) {}

void StateStore::Publish(std::shared_ptr<const WorkloadState> state) {
  AMBIT_CHECK(state != nullptr, "publishing a null WorkloadState");
  std::lock_guard observing(observers_mu_);
  std::shared_ptr<const WorkloadState> old;
  {
    std::lock_guard lock(mu_);
    old = current_;
    current_ = state;
    generation_.fetch_add(1, std::memory_order_release);
  }
  for (const Observer& observer : observers_) observer(old, state);
  // |old| may be the last reference; it is released outside mu_.
}

void StateStore::AddObserver(Observer observer) {
  std::lock_guard observing(observers_mu_);
  observers_.push_back(std::move(observer));
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
