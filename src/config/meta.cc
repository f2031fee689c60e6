#include "config/meta.h"

#include <algorithm>

namespace ambit::config {

bool SelectorMatches(const Labels& selector, const Labels& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

bool LabelSelector::Matches(const Labels& labels) const {
  if (!SelectorMatches(match_labels, labels)) return false;
  for (const LabelSelectorRequirement& req : match_expressions) {
    auto it = labels.find(req.key);
    bool present = it != labels.end();
    bool in_values =
        present && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.op == "In" && !in_values) return false;
    if (req.op == "NotIn" && in_values) return false;
    if (req.op == "Exists" && !present) return false;
    if (req.op == "DoesNotExist" && present) return false;
  }
  return true;
}

}  // namespace ambit::config
