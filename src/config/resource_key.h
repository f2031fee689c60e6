// ResourceKey identifies one resource within a cluster: kind, namespace, name.
//
// Value type; thread-compatible. `ns` is empty for cluster-scoped kinds
// (Namespace). Kind is the Kubernetes kind string ("Deployment", "HTTPRoute"),
// independent of the apiVersion it was written with.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>

namespace ambit::config {

struct ResourceKey {
  std::string kind;
  std::string ns;
  std::string name;

  // "Kind ns/name", or "Kind name" when cluster-scoped.
  std::string ToString() const;
  friend auto operator<=>(const ResourceKey&, const ResourceKey&) = default;
  friend bool operator==(const ResourceKey&, const ResourceKey&) = default;
};

struct ResourceKeyHash {
  std::size_t operator()(const ResourceKey& key) const;
};

}  // namespace ambit::config
