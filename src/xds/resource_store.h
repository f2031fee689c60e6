// ResourceStore: the control plane's current set of xDS resources, per type
// URL, each with a content version (versioned_resource.h).
//
// Thread-safe. Readers get an immutable snapshot of one type (copy-on-write:
// every mutation builds a new map that shares the unchanged entries), so a
// push computes its diff without holding the store's lock. Writers are
// ambitd's model code: after any config change it may simply hand the whole
// recomputed set to SetAll(); only entries whose content changed get a new
// version, and only those reach the proxies. Listeners run after each
// mutation that changed something, on the mutating thread; they must not
// mutate the store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "xds/versioned_resource.h"

namespace ambit::xds {

// name -> resource, immutable once published.
using TypeSnapshot = std::map<std::string, VersionedResource, std::less<>>;

// What one mutation changed.
struct StoreChange {
  std::vector<std::string> upserted;  // added or content changed
  std::vector<std::string> removed;
  bool empty() const { return upserted.empty() && removed.empty(); }
};

class ResourceStore {
 public:
  using Listener = std::function<void(std::string_view type_url, const StoreChange& change)>;

  ResourceStore() = default;
  ResourceStore(const ResourceStore&) = delete;
  ResourceStore& operator=(const ResourceStore&) = delete;

  // Makes |resources| (name -> message) the complete set for |type_url|:
  // new and changed entries are upserted, missing ones removed. Every message
  // must be of |type_url| (InvalidArgument otherwise, and nothing changes).
  Result<StoreChange> SetAll(std::string_view type_url,
                             const std::map<std::string, const google::protobuf::Message*>& resources);
  // Adds or replaces one resource.
  Result<StoreChange> Set(std::string_view type_url, std::string name,
                          const google::protobuf::Message& message);
  // Removes one resource; an unknown name is not an error (empty change).
  StoreChange Remove(std::string_view type_url, std::string_view name);

  // The current resources of |type_url| (empty map if none). Never null.
  std::shared_ptr<const TypeSnapshot> Get(std::string_view type_url) const;
  // Incremented by every mutation that changed something.
  uint64_t revision() const;

  // Registers |listener| for every later change. Listeners cannot be removed;
  // the store must not outlive what they capture.
  void AddListener(Listener listener);

 private:
  // Swaps in |next| for |type_url| if |change| is non-empty, then notifies.
  void Commit(std::string_view type_url, std::shared_ptr<const TypeSnapshot> next,
              const StoreChange& change);

  std::mutex write_mu_;  // serializes mutations (held through listener calls)
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const TypeSnapshot>, std::less<>> types_;  // guarded
  uint64_t revision_ = 0;                                                         // guarded
  std::vector<Listener> listeners_;                                               // guarded
};

}  // namespace ambit::xds
