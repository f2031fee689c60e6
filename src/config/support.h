// What Ambit does with each kind and field it stores: ONE table, kind/field ->
// status + what is not done. `ambitctl apply` prints a warning for every entry
// that is not enforced and that the applied object uses; docs/config.md shows
// the table. Work that makes a kind or field enforced flips its entry here
// (and adds entries for the parts that stay unenforced).
//
// An entry's `field` is a path into the object as ToJson writes it:
//   ""                          the kind as a whole (any object of the kind)
//   "spec.action"               the field is set (not null, not an empty list/object)
//   "spec.rules[].to[].operation.methods"  "[]" = any item of a list
// With `value`, the entry applies only when the field is that string; a value
// starting with '!' applies when the field is set to anything else.
// kind "PodSpec" applies to a Pod at "spec." and to a Deployment's pod
// template at "spec.template.spec.".
//
// Pure data and functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/resource.h"

namespace ambit::config {

enum class Support {
  kEnforced,     // acted on as Istio/Kubernetes does
  kPartial,      // acted on in part; the message says what is not done
  kNotEnforced,  // stored (and shown by `get`), not acted on
};

struct SupportEntry {
  std::string_view kind;
  std::string_view field;
  Support status;
  std::string_view message;  // what is (not) done; shown after "<path>: "
  std::string_view value = {};
};

// The table, in docs/config.md order.
const std::vector<SupportEntry>& SupportTable();
std::string_view ToString(Support status);

struct SupportWarning {
  std::string path;  // the field path in the object ("" = the whole object)
  std::string message;
  friend bool operator==(const SupportWarning&, const SupportWarning&) = default;
};

// One warning per kPartial/kNotEnforced entry that |resource| uses (for a
// list path, once per entry, at the first item that uses it). For the mesh
// ConfigMap also one per MeshConfig field that is set but not enforced.
std::vector<SupportWarning> CheckSupport(const Resource& resource);

}  // namespace ambit::config
