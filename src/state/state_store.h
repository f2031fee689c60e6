// StateStore: the one place the current WorkloadState snapshot lives, and
// StateReader: the per-thread handle the data path reads it through.
//
// Threading model (docs/xds.md):
//  - One writer (the xDS client thread) builds a new immutable WorkloadState
//    off to the side and calls Publish(). Publish takes a mutex briefly to swap
//    the pointer and bumps an atomic generation counter.
//  - Each data-path worker owns a StateReader. StateReader::Get() loads the
//    generation (one atomic acquire load) and, only when it moved, copies the
//    new pointer under the mutex. In the steady state the data path takes no
//    lock and touches no shared reference count.
//  - A snapshot stays alive while any reader still holds it; the last holder
//    frees it, on whichever thread that is.
//  - Observers (e.g. ztunnel's policy watcher) hear of each publication on
//    the publishing thread, after readers can see it, one at a time in
//    publication order.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "state/workload_state.h"

namespace ambit::state {

class StateStore {
 public:
  // Starts with an empty snapshot (generation 0).
  StateStore();

  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Makes |state| current, then tells every observer. Thread-safe. |state|
  // must not be null.
  void Publish(std::shared_ptr<const WorkloadState> state);

  // Called with (the snapshot replaced, the new one) after each Publish, on
  // the publisher's thread, never concurrently with itself; it should be
  // quick (post slow work elsewhere). Add observers before publishing
  // starts; they stay for the store's lifetime. Thread-safe.
  using Observer = std::function<void(const std::shared_ptr<const WorkloadState>& previous,
                                      const std::shared_ptr<const WorkloadState>& current)>;
  void AddObserver(Observer observer);

  // The current snapshot. Thread-safe; takes the mutex (off the hot path:
  // admin, tests, or holding a snapshot across an asynchronous operation).
  std::shared_ptr<const WorkloadState> Snapshot() const;

  // Incremented by every Publish. Thread-safe, lock-free.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const WorkloadState> current_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};           // written under mu_
  // Held while observers run, so they see publications one at a time and
  // in order (taken before mu_, never inside it).
  std::mutex observers_mu_;
  std::vector<Observer> observers_;  // guarded by observers_mu_
};

// Per-thread cached view of a StateStore. Not thread-safe: one per worker.
// The store must outlive the reader.
class StateReader {
 public:
  explicit StateReader(const StateStore& store);

  // The newest published snapshot; valid until the next Get() on this reader.
  const WorkloadState& Get();
  // Same snapshot as a shared pointer, to keep it past the next Get().
  const std::shared_ptr<const WorkloadState>& Hold();

 private:
  void Refresh();

  const StateStore& store_;
  std::shared_ptr<const WorkloadState> cached_;
  uint64_t cached_generation_ = 0;
};

}  // namespace ambit::state
