// Object metadata and label selectors shared by every kind.
//
// Value types; thread-compatible. Defaults are already applied by the parser
// (namespace "default" for namespaced kinds), so consumers never see "".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ambit::config {

using Labels = std::map<std::string, std::string>;

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;
  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

struct ObjectMeta {
  std::string name;       // DNS-1123 (label, subdomain or 1035 label depending on kind)
  std::string ns;         // "namespace"; "default" when omitted; empty for cluster-scoped kinds
  Labels labels;          // validated keys and values
  Labels annotations;     // validated keys; values free-form
  std::string uid;        // empty when not given
  std::optional<int64_t> generation;
  std::string resource_version;    // opaque; empty when not given
  std::string creation_timestamp;  // RFC 3339 as given; empty when not given
  std::vector<OwnerReference> owner_references;
  std::vector<std::string> finalizers;
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // "In", "NotIn", "Exists", "DoesNotExist"
  std::vector<std::string> values;  // non-empty for In/NotIn, empty otherwise
  friend bool operator==(const LabelSelectorRequirement&, const LabelSelectorRequirement&) = default;
};

// metav1.LabelSelector. An empty selector matches everything.
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;

  bool Matches(const Labels& labels) const;
  bool Empty() const { return match_labels.empty() && match_expressions.empty(); }
  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};

// Map-style selector (Service.spec.selector, Istio WorkloadSelector.matchLabels):
// every pair must be present. An empty selector matches everything.
bool SelectorMatches(const Labels& selector, const Labels& labels);

}  // namespace ambit::config
