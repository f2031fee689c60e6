// Writing Resources back as Kubernetes JSON (also valid YAML).
//
// ToJson(r) is an object {apiVersion, kind, metadata, spec...} with every
// default made explicit; ParseJsonObject(ToJson(r)) yields a resource equal to
// r (round trip, tested). Pure functions; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/resource.h"

namespace ambit::config {

nlohmann::json ToJson(const Resource& resource);
nlohmann::json ToJson(const ObjectMeta& meta);

// ToJson(resource).dump(indent). Never throws: invalid UTF-8 (impossible in
// parsed resources, which are checked) is replaced by U+FFFD.
std::string ToJsonString(const Resource& resource, int indent = 2);

}  // namespace ambit::config
