// The registry of supported kinds: for each, the apiVersions it is served at,
// the schema of the whole object and the decoder to its typed struct.
// Internal to ambit_config.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/resource.h"
#include "config/schema.h"

namespace ambit::config::internal {

// Decodes an object that passed `schema` validation. Appends semantic problems
// (paths relative to `base`, already joined) to `findings`; the result is only
// used when no finding was added.
using Decoder = Resource (*)(const nlohmann::json& object, const std::string& api_version,
                             const std::string& base, std::vector<Finding>* findings);

struct KindInfo {
  std::string kind;
  std::vector<std::string> api_versions;  // first is preferred
  bool namespaced = true;
  SchemaPtr schema;                       // the whole object
  Decoder decode = nullptr;
};

// All supported kinds, in documentation order. Built once; thread-safe.
const std::vector<KindInfo>& Kinds();
const KindInfo* FindKind(std::string_view kind);

// Shared pieces used by the per-family files.
SchemaPtr ObjectSchema(bool namespaced, StringCheck name_check, std::vector<Field> top_level);
SchemaPtr MetadataSchema(bool namespaced, StringCheck name_check, bool is_template);
SchemaPtr LabelSelectorSchema();
ObjectMeta DecodeMeta(const nlohmann::json& meta, bool namespaced);
LabelSelector DecodeLabelSelector(const nlohmann::json& selector);

// Accessors for validated trees (absent or null -> default).
std::string GetStr(const nlohmann::json& o, std::string_view key, std::string def = "");
int64_t GetInt(const nlohmann::json& o, std::string_view key, int64_t def = 0);
Labels GetLabels(const nlohmann::json& o, std::string_view key);
std::vector<std::string> GetStrList(const nlohmann::json& o, std::string_view key);
// The object's non-null members except `consumed` (an empty object if none).
nlohmann::json Extra(const nlohmann::json& o, std::initializer_list<std::string_view> consumed);
const nlohmann::json& Member(const nlohmann::json& o, std::string_view key);  // null if absent

// Warnings for Istio's well-known labels with values Istio would ignore
// (istio.io/dataplane-mode, istio.io/waypoint-for, istio.io/use-waypoint,
// istio.io/use-waypoint-namespace), on the resource and its pod template.
void CheckMeshLabels(const Resource& resource, const std::string& base, std::vector<Finding>* findings);

// Per-family registration (kube_kinds.cc, istio_kinds.cc, gateway_kinds.cc).
void AddKubeKinds(std::vector<KindInfo>* kinds);
void AddIstioKinds(std::vector<KindInfo>* kinds);
void AddGatewayKinds(std::vector<KindInfo>* kinds);

}  // namespace ambit::config::internal
