#include "config/mesh_config.h"

#include <algorithm>
#include <optional>

#include "config/field_path.h"
#include "config/kinds.h"
#include "config/kube.h"
#include "config/names.h"
#include "config/schema.h"
#include "config/yaml_reader.h"

namespace ambit::config {
namespace {

using json = nlohmann::json;
using internal::Field;
using internal::Opt;

// Every top-level field of istio.mesh.v1alpha1.MeshConfig (istio/api
// mesh/v1alpha1/config.proto), in JSON spelling, except the three read below.
constexpr std::string_view kOtherMeshFields[] = {
    "proxyListenPort", "proxyInboundListenPort", "proxyHttpPort", "connectTimeout",
    "hboneIdleTimeout", "protocolDetectionTimeout", "tcpKeepalive", "ingressClass",
    "ingressService", "ingressControllerMode", "ingressSelector", "enableTracing",
    "accessLogFile", "accessLogFormat", "accessLogEncoding", "enableEnvoyAccessLogService",
    "disableEnvoyListenerLog", "defaultConfig", "outboundTrafficPolicy", "inboundTrafficPolicy",
    "configSources", "enableAutoMtls", "trustDomainAliases", "caCertificates",
    "defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo",
    "localityLbSetting", "zoneAwareLbSetting", "dnsRefreshRate", "h2UpgradePolicy",
    "inboundClusterStatName", "outboundClusterStatName", "certificates", "serviceSettings",
    "serviceScopeConfigs", "enablePrometheusMerge", "verifyCertificateAtClient", "ca",
    "extensionProviders", "defaultProviders", "pathNormalization", "defaultHttpRetryPolicy",
    "meshMTLS", "tlsDefaults", "defaultTrafficPolicy", "serviceEntryVisibility",
};

const internal::SchemaPtr& MeshSchema() {
  static const internal::SchemaPtr schema = [] {
    std::vector<Field> fields = {
        Opt("discoverySelectors", internal::List(internal::LabelSelectorSchema())),
        Opt("rootNamespace",
            internal::Str("a namespace name", [](std::string_view v) { return CheckDns1123Label(v); })),
        Opt("trustDomain", internal::Str()),
    };
    // Not enforced: accepted whatever their shape (reported by name).
    for (std::string_view name : kOtherMeshFields) fields.push_back(Opt(std::string(name), internal::Any()));
    return internal::Obj(std::move(fields), "a MeshConfig (object)");
  }();
  return schema;
}

const internal::SchemaPtr& AmbitSchema() {
  static const internal::SchemaPtr schema =
      internal::Obj({Opt("waypointFailClosed", internal::Bool())}, "Ambit's mesh settings (object)");
  return schema;
}

// proto field name -> JSON name ("root_namespace" -> "rootNamespace").
std::string SnakeToCamel(std::string_view name) {
  std::string out;
  bool upper = false;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

// Reads |yaml| as one mapping (empty text or an empty document = {}).
// Problems are appended with paths under |base|.
std::optional<json> ReadDocument(std::string_view yaml, const std::string& base,
                                 std::vector<MeshConfigProblem>* errors,
                                 internal::Marks* marks) {
  internal::YamlReadResult read = internal::ReadYaml(yaml, "mesh");
  for (const Diagnostic& d : read.diagnostics) {
    std::string where = d.line > 0 ? "line " + std::to_string(d.line) + ": " : "";
    errors->push_back({base, "not valid YAML: " + where + d.message});
  }
  if (!read.diagnostics.empty()) return std::nullopt;
  if (read.documents.size() > 1) {
    errors->push_back({base, "expected one YAML document, got " + std::to_string(read.documents.size())});
    return std::nullopt;
  }
  if (read.documents.empty() || read.documents[0].root.is_null()) return json::object();
  if (!read.documents[0].root.is_object()) {
    errors->push_back({base, "expected a mapping of fields, got " +
                                 internal::DescribeValue(read.documents[0].root)});
    return std::nullopt;
  }
  *marks = std::move(read.documents[0].marks);
  return std::move(read.documents[0].root);
}

void ParseMeshInto(std::string_view yaml, const std::string& base, MeshConfigResult* result) {
  internal::Marks marks;
  auto doc = ReadDocument(yaml, base, &result->errors, &marks);
  if (!doc) return;
  // Proto spellings become JSON spellings; both at once is an error.
  json normalized = json::object();
  for (const auto& [key, value] : doc->items()) {
    std::string camel = key.find('_') == std::string::npos ? key : SnakeToCamel(key);
    if (normalized.contains(camel)) {
      result->errors.push_back({internal::JoinKey(base, key),
                                "given twice (as " + camel + " and " + key + ")"});
      continue;
    }
    normalized[camel] = value;
  }
  std::vector<internal::Finding> findings;
  internal::Validate(normalized, *MeshSchema(), base, &marks, &findings);
  for (auto& f : findings) result->errors.push_back({std::move(f.path), std::move(f.message)});
  if (!findings.empty()) return;
  MeshConfig& mc = result->config;
  const json& selectors = internal::Member(normalized, "discoverySelectors");
  if (selectors.is_array()) {
    for (const json& s : selectors) mc.discovery_selectors.push_back(internal::DecodeLabelSelector(s));
  }
  if (std::string ns = internal::GetStr(normalized, "rootNamespace"); !ns.empty()) mc.root_namespace = ns;
  mc.trust_domain = internal::GetStr(normalized, "trustDomain");
  for (const auto& [key, value] : normalized.items()) {
    if (value.is_null()) continue;
    if (std::find(std::begin(kOtherMeshFields), std::end(kOtherMeshFields), key) !=
        std::end(kOtherMeshFields)) {
      mc.unenforced.push_back(key);
    }
  }
  std::sort(mc.unenforced.begin(), mc.unenforced.end());
}

void ParseAmbitInto(std::string_view yaml, const std::string& base, MeshConfigResult* result) {
  internal::Marks marks;
  auto doc = ReadDocument(yaml, base, &result->errors, &marks);
  if (!doc) return;
  std::vector<internal::Finding> findings;
  internal::Validate(*doc, *AmbitSchema(), base, &marks, &findings);
  for (auto& f : findings) result->errors.push_back({std::move(f.path), std::move(f.message)});
  if (!findings.empty()) return;
  const json& fail_closed = internal::Member(*doc, "waypointFailClosed");
  if (fail_closed.is_boolean()) result->config.waypoint_fail_closed = fail_closed.get<bool>();
}

}  // namespace

MeshConfigResult ParseMeshConfig(std::string_view yaml) {
  MeshConfigResult result;
  ParseMeshInto(yaml, "", &result);
  return result;
}

void ParseAmbitMeshExtensions(std::string_view yaml, MeshConfigResult* result) {
  ParseAmbitInto(yaml, "", result);
}

std::string MeshConfigMapName(std::string_view revision) {
  if (revision.empty() || revision == kDefaultRevision) return "istio";
  return "istio-" + std::string(revision);
}

bool IsMeshConfigMap(const ConfigMap& cm) {
  const std::string& name = cm.metadata.name;
  if (cm.metadata.ns != kIstioSystemNamespace) return false;
  if (name != "istio" && name.rfind("istio-", 0) != 0) return false;
  return cm.data.contains(std::string(kMeshConfigKey)) || cm.data.contains(std::string(kAmbitConfigKey));
}

MeshConfigResult ParseMeshConfigMap(const ConfigMap& cm) {
  MeshConfigResult result;
  if (auto it = cm.data.find(std::string(kMeshConfigKey)); it != cm.data.end()) {
    ParseMeshInto(it->second, internal::JoinKey("data", kMeshConfigKey), &result);
  }
  if (auto it = cm.data.find(std::string(kAmbitConfigKey)); it != cm.data.end()) {
    ParseAmbitInto(it->second, internal::JoinKey("data", kAmbitConfigKey), &result);
  }
  return result;
}

MeshConfig MeshConfigOf(const std::map<ResourceKey, Resource>& resources, std::string_view revision) {
  auto it = resources.find(
      ResourceKey{"ConfigMap", std::string(kIstioSystemNamespace), MeshConfigMapName(revision)});
  if (it == resources.end()) return {};
  const auto* cm = std::get_if<ConfigMap>(&it->second);
  if (!cm) return {};
  MeshConfigResult parsed = ParseMeshConfigMap(*cm);
  return parsed.ok() ? parsed.config : MeshConfig{};
}

bool DiscoverySelected(const std::vector<LabelSelector>& selectors, const Labels& namespace_labels) {
  if (selectors.empty()) return true;
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const LabelSelector& s) { return s.Matches(namespace_labels); });
}

std::string RequestedRevision(const Labels& namespace_labels, const Labels* pod_labels) {
  const std::string key(kRevisionLabel);
  if (pod_labels) {
    if (auto it = pod_labels->find(key); it != pod_labels->end() && !it->second.empty()) return it->second;
  }
  if (auto it = namespace_labels.find(key); it != namespace_labels.end() && !it->second.empty()) {
    return it->second;
  }
  return std::string(kDefaultRevision);
}

NamespaceScope ScopeOfNamespace(const std::vector<LabelSelector>& discovery_selectors,
                                std::string_view revision, const Labels& namespace_labels) {
  if (!DiscoverySelected(discovery_selectors, namespace_labels)) return NamespaceScope::kNotSelected;
  std::string_view served = revision.empty() ? kDefaultRevision : revision;
  if (RequestedRevision(namespace_labels, nullptr) != served) return NamespaceScope::kOtherRevision;
  return NamespaceScope::kManaged;
}

std::string_view ToString(NamespaceScope scope) {
  switch (scope) {
    case NamespaceScope::kManaged:
      return "managed";
    case NamespaceScope::kNotSelected:
      return "outside meshConfig.discoverySelectors";
    case NamespaceScope::kOtherRevision:
      return "labelled istio.io/rev for another revision";
  }
  return "unknown";
}

}  // namespace ambit::config
