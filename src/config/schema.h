// A small structural schema for JSON trees, and its validator. Internal to
// ambit_config: every supported kind's fields are described with these
// builders (kube_schema.cc, istio_schema.cc, gateway_schema.cc).
//
// Schemas are immutable after construction and shared (thread-safe to use).
// Validation never stops at the first problem: every finding is appended, with
// its field path and a message saying what was expected and what was found.
// A null value counts as absent (as in Kubernetes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/yaml_reader.h"

namespace ambit::config::internal {

class Schema;
using SchemaPtr = std::shared_ptr<const Schema>;
// Returns "" when the string is valid, else a full message ("expected ..., got '...'").
using StringCheck = std::function<std::string(std::string_view)>;

struct Field {
  std::string name;
  SchemaPtr schema;
  bool required = false;
};

// A rule over a whole object, run after its fields; appends (relative path, message).
using ObjectRule =
    std::function<void(const nlohmann::json& object, std::vector<std::pair<std::string, std::string>>*)>;

class Schema {
 public:
  enum class Type { kAny, kAnyObject, kString, kInt, kNumber, kBool, kIntOrString, kObject, kList, kMap };
  Type type = Type::kAny;
  std::string expected;  // e.g. "an integer 1-65535"
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  size_t min_items = 0;
  size_t max_items = SIZE_MAX;
  std::vector<std::string> enum_values;
  StringCheck string_check;  // strings, and the string half of IntOrString
  std::vector<Field> fields;
  SchemaPtr item;            // list items, map values
  StringCheck key_check;     // map keys
  std::vector<ObjectRule> rules;
};

struct Finding {
  std::string path;
  std::string message;
  Severity severity = Severity::kError;  // warnings do not reject the document
};

using Marks = std::unordered_map<std::string, SourceMark>;

void Validate(const nlohmann::json& value, const Schema& schema, const std::string& path,
              const Marks* marks, std::vector<Finding>* findings);

// ---- Builders ----
SchemaPtr Any();
SchemaPtr AnyObject();  // must be an object; contents not checked
SchemaPtr Str();
SchemaPtr Str(std::string expected, StringCheck check);
SchemaPtr Enum(std::vector<std::string> values);
SchemaPtr Int(int64_t min, int64_t max);
SchemaPtr Num();
SchemaPtr Bool();
SchemaPtr IntOrStr(int64_t min, int64_t max, std::string expected, StringCheck check);
SchemaPtr Obj(std::vector<Field> fields, std::string expected = "an object");
SchemaPtr List(SchemaPtr item, size_t min_items = 0, size_t max_items = SIZE_MAX);
SchemaPtr StrList();
SchemaPtr Map(SchemaPtr value, StringCheck key_check = nullptr, std::string expected = "a map");
SchemaPtr StrMap();  // map of string -> string
SchemaPtr LabelMap();  // labels: qualified-name keys, label values
SchemaPtr WithRule(SchemaPtr object, ObjectRule rule);
inline Field Opt(std::string name, SchemaPtr schema) { return Field{std::move(name), std::move(schema), false}; }
inline Field Req(std::string name, SchemaPtr schema) { return Field{std::move(name), std::move(schema), true}; }

// Go/Gateway-style duration: "10s", "1.5s", "100ms", "1h30m".
std::string CheckDuration(std::string_view value);
// Rule: at most one of `names` present (non-null).
ObjectRule AtMostOneOf(std::vector<std::string> names);
// Rule: exactly one of `names` present.
ObjectRule ExactlyOneOf(std::vector<std::string> names);

}  // namespace ambit::config::internal
