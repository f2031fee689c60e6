#include "config/kinds.h"

#include "config/field_path.h"
#include "config/names.h"

namespace ambit::config::internal {

using json = nlohmann::json;

const std::vector<KindInfo>& Kinds() {
  static const std::vector<KindInfo>* kinds = [] {
    auto* v = new std::vector<KindInfo>();
    AddKubeKinds(v);
    AddIstioKinds(v);
    AddGatewayKinds(v);
    return v;
  }();
  return *kinds;
}

const KindInfo* FindKind(std::string_view kind) {
  for (const KindInfo& k : Kinds()) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

SchemaPtr MetadataSchema(bool namespaced, StringCheck name_check, bool is_template) {
  auto name = Str("a name", std::move(name_check));
  std::vector<Field> fields = {
      is_template ? Opt("name", name) : Req("name", name),
      Opt("labels", LabelMap()),
      Opt("annotations", Map(Str(), [](std::string_view k) { return CheckQualifiedName(k); },
                             "a map of annotations")),
      Opt("uid", Str()),
      Opt("generation", Int(0, INT64_MAX)),
      Opt("resourceVersion", Str()),
      Opt("creationTimestamp", Str()),
      Opt("ownerReferences", List(Obj({Req("apiVersion", Str()), Req("kind", Str()),
                                       Req("name", Str()), Req("uid", Str()),
                                       Opt("controller", Bool()),
                                       Opt("blockOwnerDeletion", Bool())},
                                      "an owner reference (object)"))),
      Opt("finalizers", StrList()),
      // Server-populated; accepted and not kept (docs/config.md).
      Opt("managedFields", Any()),
      Opt("selfLink", Any()),
      Opt("deletionTimestamp", Any()),
      Opt("deletionGracePeriodSeconds", Any()),
  };
  if (namespaced || is_template) {
    fields.push_back(Opt("namespace", Str("a namespace name",
                                          [](std::string_view v) { return CheckDns1123Label(v); })));
  } else {
    fields.push_back(Opt("namespace", Str("no namespace", [](std::string_view) {
                           return std::string("expected no namespace: this kind is cluster-scoped");
                         })));
  }
  auto schema = Obj(std::move(fields), "object metadata");
  schema = WithRule(schema, [](const json& meta, std::vector<std::pair<std::string, std::string>>* out) {
    auto it = meta.find("annotations");
    if (it == meta.end() || !it->is_object()) return;
    size_t total = 0;
    for (const auto& [k, v] : it->items()) {
      total += k.size() + (v.is_string() ? v.get_ref<const std::string&>().size() : 0);
    }
    if (total > 256 * 1024) {
      out->push_back({"annotations", "expected annotations of at most 262144 bytes in total, got " +
                                         std::to_string(total)});
    }
  });
  return schema;
}

namespace {
void CheckLabels(const Labels& labels, const std::string& path, std::vector<Finding>* findings) {
  auto warn = [&](const std::string& key, std::string message) {
    findings->push_back({JoinKey(path, key), std::move(message), Severity::kWarning});
  };
  for (const auto& [key, value] : labels) {
    if (key == "istio.io/dataplane-mode" && value != "ambient" && value != "none") {
      warn(key, "expected ambient or none, got " + QuoteForMessage(value) + "; Istio ignores other values");
    } else if (key == "istio.io/waypoint-for" && value != "service" && value != "workload" &&
               value != "all" && value != "none") {
      warn(key, "expected service, workload, all or none, got " + QuoteForMessage(value) +
                    "; Istio ignores other values");
    } else if (key == "istio.io/use-waypoint" && !CheckDns1123Subdomain(value).empty()) {
      warn(key, "expected a Gateway name or none, got " + QuoteForMessage(value));
    } else if (key == "istio.io/use-waypoint-namespace" && !CheckDns1123Label(value).empty()) {
      warn(key, "expected a namespace name, got " + QuoteForMessage(value));
    }
  }
}
}  // namespace

void CheckMeshLabels(const Resource& resource, const std::string& base, std::vector<Finding>* findings) {
  std::string meta = JoinKey(base, "metadata");
  CheckLabels(MetaOf(resource).labels, JoinKey(meta, "labels"), findings);
  if (const auto* d = std::get_if<Deployment>(&resource)) {
    CheckLabels(d->spec.template_.metadata.labels,
                JoinKey(JoinKey(JoinKey(JoinKey(base, "spec"), "template"), "metadata"), "labels"), findings);
  }
}

SchemaPtr ObjectSchema(bool namespaced, StringCheck name_check, std::vector<Field> top_level) {
  std::vector<Field> fields = {
      Req("apiVersion", Str()),
      Req("kind", Str()),
      Req("metadata", MetadataSchema(namespaced, std::move(name_check), /*is_template=*/false)),
      Opt("status", Any()),  // owned by the cluster; accepted and not kept
  };
  for (Field& f : top_level) fields.push_back(std::move(f));
  return Obj(std::move(fields), "a Kubernetes object");
}

SchemaPtr LabelSelectorSchema() {
  auto requirement = Obj({Req("key", Str("a label key", [](std::string_view v) { return CheckQualifiedName(v); })),
                          Req("operator", Enum({"In", "NotIn", "Exists", "DoesNotExist"})),
                          Opt("values", StrList())},
                         "a label selector requirement (object)");
  requirement = WithRule(requirement, [](const json& r, std::vector<std::pair<std::string, std::string>>* out) {
    std::string op = GetStr(r, "operator");
    size_t n = Member(r, "values").is_array() ? Member(r, "values").size() : 0;
    if ((op == "In" || op == "NotIn") && n == 0) {
      out->push_back({"values", "expected at least one value for operator " + op});
    }
    if ((op == "Exists" || op == "DoesNotExist") && n > 0) {
      out->push_back({"values", "expected no values for operator " + op});
    }
  });
  return Obj({Opt("matchLabels", LabelMap()), Opt("matchExpressions", List(requirement))},
             "a label selector (object)");
}

const json& Member(const json& o, std::string_view key) {
  static const json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

std::string GetStr(const json& o, std::string_view key, std::string def) {
  const json& v = Member(o, key);
  return v.is_string() ? v.get<std::string>() : def;
}

int64_t GetInt(const json& o, std::string_view key, int64_t def) {
  const json& v = Member(o, key);
  return v.is_number_integer() ? v.get<int64_t>() : def;
}

Labels GetLabels(const json& o, std::string_view key) {
  Labels out;
  const json& v = Member(o, key);
  if (!v.is_object()) return out;
  for (const auto& [k, val] : v.items()) {
    if (val.is_string()) out[k] = val.get<std::string>();
  }
  return out;
}

std::vector<std::string> GetStrList(const json& o, std::string_view key) {
  std::vector<std::string> out;
  const json& v = Member(o, key);
  if (!v.is_array()) return out;
  for (const json& item : v) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

json Extra(const json& o, std::initializer_list<std::string_view> consumed) {
  json out = json::object();
  if (!o.is_object()) return out;
  for (const auto& [k, v] : o.items()) {
    if (v.is_null()) continue;
    bool taken = false;
    for (std::string_view c : consumed) taken = taken || c == k;
    if (!taken) out[k] = v;
  }
  return out;
}

ObjectMeta DecodeMeta(const json& meta, bool namespaced) {
  ObjectMeta m;
  m.name = GetStr(meta, "name");
  if (namespaced) m.ns = GetStr(meta, "namespace", "default");
  m.labels = GetLabels(meta, "labels");
  m.annotations = GetLabels(meta, "annotations");
  m.uid = GetStr(meta, "uid");
  if (Member(meta, "generation").is_number_integer()) m.generation = GetInt(meta, "generation");
  m.resource_version = GetStr(meta, "resourceVersion");
  m.creation_timestamp = GetStr(meta, "creationTimestamp");
  for (const json& ref : Member(meta, "ownerReferences").is_array() ? Member(meta, "ownerReferences")
                                                                     : json::array()) {
    OwnerReference r;
    r.api_version = GetStr(ref, "apiVersion");
    r.kind = GetStr(ref, "kind");
    r.name = GetStr(ref, "name");
    r.uid = GetStr(ref, "uid");
    if (Member(ref, "controller").is_boolean()) r.controller = Member(ref, "controller").get<bool>();
    if (Member(ref, "blockOwnerDeletion").is_boolean()) {
      r.block_owner_deletion = Member(ref, "blockOwnerDeletion").get<bool>();
    }
    m.owner_references.push_back(std::move(r));
  }
  m.finalizers = GetStrList(meta, "finalizers");
  return m;
}

LabelSelector DecodeLabelSelector(const json& selector) {
  LabelSelector s;
  s.match_labels = GetLabels(selector, "matchLabels");
  const json& exprs = Member(selector, "matchExpressions");
  if (exprs.is_array()) {
    for (const json& e : exprs) {
      s.match_expressions.push_back(
          LabelSelectorRequirement{GetStr(e, "key"), GetStr(e, "operator"), GetStrList(e, "values")});
    }
  }
  return s;
}

}  // namespace ambit::config::internal
