// The desired state of a local cluster: every applied resource plus what ambitd
// decided for them (pods generated from Deployments, node assignments, pod UIDs,
// service ClusterIPs, ServiceEntry VIPs), persisted as one JSON file written atomically, so a
// restarted ambitd loses nothing and a failed write leaves the old state.
//
// StoreState is an immutable snapshot once published; Store is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/resource.h"
#include "core/result.h"

namespace ambit::control {

struct StoreState {
  std::map<config::ResourceKey, config::Resource> resources;
  // Bumped on every commit; lets watchers skip unchanged snapshots.
  uint64_t generation = 0;
  // Auto-allocated ServiceEntry addresses: "<ns>/<name>" -> host -> IPs
  // (model::ServiceEntryAddresses; "serviceEntryAddresses" in the file).
  std::map<std::string, std::map<std::string, std::vector<std::string>>> service_entry_addresses;

  std::vector<const config::Pod*> Pods() const;
  std::vector<const config::Service*> Services() const;
  std::vector<const config::ServiceEntry*> ServiceEntries() const;
  bool HasNamespace(const std::string& ns) const;
};

class Store {
 public:
  // Reads |path|; a missing file is an empty store, a corrupt one an error.
  static Result<std::unique_ptr<Store>> Open(std::string path);

  std::shared_ptr<const StoreState> Snapshot() const;
  // Persists |next| (generation is set here) and publishes it. On error nothing changes.
  Status Commit(StoreState next);

  // Serialization (exposed for tests).
  static std::string Serialize(const StoreState& state);
  static Result<StoreState> Deserialize(const std::string& text, const std::string& where);

 private:
  explicit Store(std::string path, StoreState initial);

  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const StoreState> state_;
};

}  // namespace ambit::control
