// Schemas and decoders of the Kubernetes core kinds (kube.h).
#include <arpa/inet.h>

#include <map>
#include <string>

#include "config/field_path.h"
#include "config/kinds.h"
#include "config/mesh_config.h"
#include "config/names.h"

namespace ambit::config::internal {
namespace {

using json = nlohmann::json;

StringCheck Label() { return [](std::string_view v) { return CheckDns1123Label(v); }; }
StringCheck Subdomain() { return [](std::string_view v) { return CheckDns1123Subdomain(v); }; }
StringCheck Dns1035() { return [](std::string_view v) { return CheckDns1035Label(v); }; }
StringCheck Iana() { return [](std::string_view v) { return CheckIanaServiceName(v); }; }

std::string CheckIp(std::string_view v) {
  std::string s(v);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1) return "";
  return "expected an IPv4 or IPv6 address, got " + QuoteForMessage(s);
}

SchemaPtr PortSchema() { return Int(1, 65535); }
SchemaPtr NamedPort() {
  return IntOrStr(1, 65535, "an integer 1-65535 or a port name", Iana());
}

SchemaPtr ProbeSchema() {
  auto http_header = Obj({Req("name", Str()), Req("value", Str())}, "an HTTP header (object)");
  auto probe = Obj(
      {Opt("exec", Obj({Opt("command", StrList())}, "an exec action (object)")),
       Opt("httpGet", Obj({Opt("path", Str()), Req("port", NamedPort()), Opt("host", Str()),
                           Opt("scheme", Enum({"HTTP", "HTTPS"})),
                           Opt("httpHeaders", List(http_header))},
                          "an HTTP GET action (object)")),
       Opt("tcpSocket", Obj({Req("port", NamedPort()), Opt("host", Str())}, "a TCP socket action (object)")),
       Opt("grpc", Obj({Req("port", PortSchema()), Opt("service", Str())}, "a gRPC action (object)")),
       Opt("initialDelaySeconds", Int(0, INT32_MAX)), Opt("periodSeconds", Int(1, INT32_MAX)),
       Opt("timeoutSeconds", Int(1, INT32_MAX)), Opt("successThreshold", Int(1, INT32_MAX)),
       Opt("failureThreshold", Int(1, INT32_MAX)),
       Opt("terminationGracePeriodSeconds", Int(1, INT64_MAX))},
      "a probe (object)");
  return WithRule(probe, AtMostOneOf({"exec", "httpGet", "tcpSocket", "grpc"}));
}

SchemaPtr ContainerSchema() {
  auto env = WithRule(Obj({Req("name", Str("an environment variable name",
                                           [](std::string_view v) { return CheckEnvVarName(v); })),
                           Opt("value", Str()), Opt("valueFrom", AnyObject())},
                          "an environment variable (object)"),
                      AtMostOneOf({"value", "valueFrom"}));
  auto port = Obj({Req("containerPort", PortSchema()), Opt("name", Str("a port name", Iana())),
                   Opt("protocol", Enum({"TCP", "UDP", "SCTP"})), Opt("hostPort", PortSchema()),
                   Opt("hostIP", Str("an IP address", CheckIp))},
                  "a container port (object)");
  auto probe = ProbeSchema();
  return Obj({Req("name", Str("a container name", Label())),
              Req("image", Str()),
              Opt("command", StrList()),
              Opt("args", StrList()),
              Opt("workingDir", Str()),
              Opt("env", List(env)),
              Opt("ports", List(port)),
              Opt("readinessProbe", probe),
              Opt("livenessProbe", probe),
              Opt("startupProbe", probe),
              // Kept verbatim, not used by the local runtime:
              Opt("envFrom", List(AnyObject())),
              Opt("imagePullPolicy", Enum({"Always", "IfNotPresent", "Never"})),
              Opt("resources", AnyObject()),
              Opt("resizePolicy", List(AnyObject())),
              Opt("restartPolicy", Enum({"Always"})),
              Opt("securityContext", AnyObject()),
              Opt("volumeMounts", List(AnyObject())),
              Opt("volumeDevices", List(AnyObject())),
              Opt("lifecycle", AnyObject()),
              Opt("terminationMessagePath", Str()),
              Opt("terminationMessagePolicy", Enum({"File", "FallbackToLogsOnError"})),
              Opt("stdin", Bool()),
              Opt("stdinOnce", Bool()),
              Opt("tty", Bool())},
             "a container (object)");
}

SchemaPtr PodSpecSchema() {
  auto container = ContainerSchema();
  return Obj({Req("containers", List(container, 1)),
              Opt("initContainers", List(container)),
              Opt("restartPolicy", Enum({"Always", "OnFailure", "Never"})),
              Opt("serviceAccountName", Str("a service account name", Subdomain())),
              Opt("serviceAccount", Str("a service account name", Subdomain())),
              Opt("nodeName", Str("a node name", Subdomain())),
              Opt("nodeSelector", LabelMap()),
              Opt("terminationGracePeriodSeconds", Int(0, INT64_MAX)),
              Opt("hostname", Str("a host name", Label())),
              Opt("subdomain", Str("a subdomain", Label())),
              // Kept verbatim, not used by the local runtime:
              Opt("volumes", List(AnyObject())),
              Opt("securityContext", AnyObject()),
              Opt("affinity", AnyObject()),
              Opt("tolerations", List(AnyObject())),
              Opt("imagePullSecrets", List(AnyObject())),
              Opt("dnsPolicy", Enum({"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"})),
              Opt("dnsConfig", AnyObject()),
              Opt("hostNetwork", Bool()),
              Opt("hostPID", Bool()),
              Opt("hostIPC", Bool()),
              Opt("hostUsers", Bool()),
              Opt("shareProcessNamespace", Bool()),
              Opt("priorityClassName", Str()),
              Opt("priority", Int(INT32_MIN, INT32_MAX)),
              Opt("preemptionPolicy", Enum({"PreemptLowerPriority", "Never"})),
              Opt("schedulerName", Str()),
              Opt("automountServiceAccountToken", Bool()),
              Opt("enableServiceLinks", Bool()),
              Opt("activeDeadlineSeconds", Int(1, INT64_MAX)),
              Opt("topologySpreadConstraints", List(AnyObject())),
              Opt("hostAliases", List(AnyObject())),
              Opt("runtimeClassName", Str()),
              Opt("overhead", AnyObject()),
              Opt("readinessGates", List(AnyObject())),
              Opt("setHostnameAsFQDN", Bool()),
              Opt("os", AnyObject()),
              Opt("ephemeralContainers", List(AnyObject())),
              Opt("schedulingGates", List(AnyObject())),
              Opt("resourceClaims", List(AnyObject()))},
             "a pod spec (object)");
}

SchemaPtr ServicePortSchema() {
  return Obj({Opt("name", Str("a port name", Label())),
              Opt("protocol", Enum({"TCP", "UDP", "SCTP"})),
              Opt("appProtocol", Str()),
              Req("port", PortSchema()),
              Opt("targetPort", NamedPort()),
              Opt("nodePort", PortSchema())},
             "a service port (object)");
}

SchemaPtr ServiceSpecSchema() {
  return Obj({Opt("type", Enum({"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"})),
              Opt("clusterIP", Str("an IP address or None", [](std::string_view v) {
                    return v.empty() || v == "None" ? std::string() : CheckIp(v);
                  })),
              Opt("clusterIPs", List(Str("an IP address or None", [](std::string_view v) {
                    return v == "None" ? std::string() : CheckIp(v);
                  }))),
              Opt("selector", LabelMap()),
              Opt("ports", List(ServicePortSchema())),
              Opt("externalName", Str("a DNS name", Subdomain())),
              // Kept verbatim:
              Opt("sessionAffinity", Enum({"None", "ClientIP"})),
              Opt("sessionAffinityConfig", AnyObject()),
              Opt("externalIPs", List(Str("an IP address", CheckIp))),
              Opt("loadBalancerIP", Str()),
              Opt("loadBalancerSourceRanges", StrList()),
              Opt("loadBalancerClass", Str()),
              Opt("externalTrafficPolicy", Enum({"Cluster", "Local"})),
              Opt("internalTrafficPolicy", Enum({"Cluster", "Local"})),
              Opt("ipFamilies", List(Enum({"IPv4", "IPv6"}))),
              Opt("ipFamilyPolicy", Enum({"SingleStack", "PreferDualStack", "RequireDualStack"})),
              Opt("publishNotReadyAddresses", Bool()),
              Opt("healthCheckNodePort", PortSchema()),
              Opt("allocateLoadBalancerNodePorts", Bool()),
              // Kubernetes' values (PreferSameZone and PreferSameNode since 1.33);
              // the ambient model turns them into Service.load_balancing.
              Opt("trafficDistribution", Enum({"PreferClose", "PreferSameZone", "PreferSameNode"}))},
             "a service spec (object)");
}

SchemaPtr PodTemplateSchema() {
  return Obj({Opt("metadata", MetadataSchema(true, Subdomain(), /*is_template=*/true)),
              Req("spec", PodSpecSchema())},
             "a pod template (object)");
}

// ---- Decoders ----

Container DecodeContainer(const json& c) {
  Container out;
  out.name = GetStr(c, "name");
  out.image = GetStr(c, "image");
  out.command = GetStrList(c, "command");
  out.args = GetStrList(c, "args");
  out.working_dir = GetStr(c, "workingDir");
  for (const json& e : Member(c, "env").is_array() ? Member(c, "env") : json::array()) {
    EnvVar v;
    v.name = GetStr(e, "name");
    if (Member(e, "value").is_string()) v.value = GetStr(e, "value");
    v.value_from = Member(e, "valueFrom");
    // Kubernetes treats an env var with neither value nor valueFrom as value "".
    if (!v.value && v.value_from.is_null()) v.value = "";
    out.env.push_back(std::move(v));
  }
  for (const json& p : Member(c, "ports").is_array() ? Member(c, "ports") : json::array()) {
    ContainerPort port;
    port.container_port = static_cast<int32_t>(GetInt(p, "containerPort"));
    port.name = GetStr(p, "name");
    port.protocol = GetStr(p, "protocol", "TCP");
    if (Member(p, "hostPort").is_number_integer()) port.host_port = static_cast<int32_t>(GetInt(p, "hostPort"));
    port.host_ip = GetStr(p, "hostIP");
    out.ports.push_back(std::move(port));
  }
  out.readiness_probe = Member(c, "readinessProbe");
  out.liveness_probe = Member(c, "livenessProbe");
  out.startup_probe = Member(c, "startupProbe");
  out.extra = Extra(c, {"name", "image", "command", "args", "workingDir", "env", "ports",
                        "readinessProbe", "livenessProbe", "startupProbe"});
  return out;
}

PodSpec DecodePodSpec(const json& s, const std::string& path, std::vector<Finding>* findings) {
  PodSpec out;
  std::map<std::string, std::string> container_names;  // name -> path
  std::map<std::string, std::string> port_names;
  for (std::string_view list : {"initContainers", "containers"}) {
    const json& cs = Member(s, list);
    if (!cs.is_array()) continue;
    for (size_t i = 0; i < cs.size(); ++i) {
      Container c = DecodeContainer(cs[i]);
      std::string cpath = JoinIndex(JoinKey(path, list), i);
      auto [it, fresh] = container_names.emplace(c.name, cpath);
      if (!fresh) {
        findings->push_back({JoinKey(cpath, "name"),
                             "duplicate container name '" + c.name + "' (also " + it->second + ")"});
      }
      std::map<std::string, size_t> env_names;
      for (size_t j = 0; j < c.env.size(); ++j) {
        auto [eit, efresh] = env_names.emplace(c.env[j].name, j);
        if (!efresh) {
          findings->push_back({JoinKey(JoinIndex(JoinKey(cpath, "env"), j), "name"),
                               "duplicate environment variable '" + c.env[j].name + "' (also env[" +
                                   std::to_string(eit->second) + "]); the last one wins",
                               Severity::kWarning});
          eit->second = j;
        }
      }
      for (size_t j = 0; j < c.ports.size(); ++j) {
        if (c.ports[j].name.empty()) continue;
        std::string ppath = JoinIndex(JoinKey(cpath, "ports"), j);
        auto [pit, pfresh] = port_names.emplace(c.ports[j].name, ppath);
        if (!pfresh) {
          findings->push_back({JoinKey(ppath, "name"), "duplicate port name '" + c.ports[j].name +
                                                           "' in the pod (also " + pit->second + ")"});
        }
      }
      (list == "containers" ? out.containers : out.init_containers).push_back(std::move(c));
    }
  }
  out.restart_policy = GetStr(s, "restartPolicy", "Always");
  std::string sa_name = GetStr(s, "serviceAccountName");
  std::string sa_old = GetStr(s, "serviceAccount");
  if (!sa_name.empty() && !sa_old.empty() && sa_name != sa_old) {
    findings->push_back({JoinKey(path, "serviceAccount"),
                         "expected the same value as serviceAccountName ('" + sa_name + "'), got '" +
                             sa_old + "'"});
  }
  out.service_account_name = !sa_name.empty() ? sa_name : !sa_old.empty() ? sa_old : "default";
  out.node_name = GetStr(s, "nodeName");
  out.node_selector = GetLabels(s, "nodeSelector");
  out.termination_grace_period_seconds = GetInt(s, "terminationGracePeriodSeconds", 30);
  out.hostname = GetStr(s, "hostname");
  out.subdomain = GetStr(s, "subdomain");
  out.extra = Extra(s, {"containers", "initContainers", "restartPolicy", "serviceAccountName",
                        "serviceAccount", "nodeName", "nodeSelector",
                        "terminationGracePeriodSeconds", "hostname", "subdomain"});
  return out;
}

Resource DecodeNamespace(const json& o, const std::string&, const std::string&, std::vector<Finding>*) {
  Namespace ns;
  ns.metadata = DecodeMeta(Member(o, "metadata"), false);
  ns.extra = Extra(o, {"apiVersion", "kind", "metadata", "status"});
  return ns;
}

Resource DecodePod(const json& o, const std::string&, const std::string& base,
                   std::vector<Finding>* findings) {
  Pod pod;
  pod.metadata = DecodeMeta(Member(o, "metadata"), true);
  pod.spec = DecodePodSpec(Member(o, "spec"), JoinKey(base, "spec"), findings);
  return pod;
}

Resource DecodeService(const json& o, const std::string&, const std::string& base,
                       std::vector<Finding>* findings) {
  Service svc;
  svc.metadata = DecodeMeta(Member(o, "metadata"), true);
  const json& s = Member(o, "spec");
  std::string spath = JoinKey(base, "spec");
  ServiceSpec& spec = svc.spec;
  spec.type = GetStr(s, "type", "ClusterIP");
  spec.cluster_ip = GetStr(s, "clusterIP");
  spec.selector = GetLabels(s, "selector");
  spec.external_name = GetStr(s, "externalName");
  const json& ports = Member(s, "ports");
  std::map<std::string, size_t> names;
  for (size_t i = 0; ports.is_array() && i < ports.size(); ++i) {
    const json& p = ports[i];
    std::string ppath = JoinIndex(JoinKey(spath, "ports"), i);
    ServicePort port;
    port.name = GetStr(p, "name");
    port.protocol = GetStr(p, "protocol", "TCP");
    port.app_protocol = GetStr(p, "appProtocol");
    port.port = static_cast<int32_t>(GetInt(p, "port"));
    const json& target = Member(p, "targetPort");
    if (target.is_string()) {
      port.target_port_name = target.get<std::string>();
    } else {
      port.target_port_number = static_cast<int32_t>(target.is_number_integer() ? target.get<int64_t>() : port.port);
    }
    if (Member(p, "nodePort").is_number_integer()) port.node_port = static_cast<int32_t>(GetInt(p, "nodePort"));
    if (ports.size() > 1 && port.name.empty()) {
      findings->push_back({JoinKey(ppath, "name"),
                           "required field is missing (every port needs a name when a Service has "
                           "more than one)"});
    }
    if (!port.name.empty()) {
      auto [it, fresh] = names.emplace(port.name, i);
      if (!fresh) {
        findings->push_back({JoinKey(ppath, "name"), "duplicate port name '" + port.name + "' (also ports[" +
                                                         std::to_string(it->second) + "])"});
      }
    }
    if (port.node_port && spec.type != "NodePort" && spec.type != "LoadBalancer") {
      findings->push_back({JoinKey(ppath, "nodePort"),
                           "expected no nodePort for a Service of type " + spec.type});
    }
    spec.ports.push_back(std::move(port));
  }
  if (spec.type == "ExternalName") {
    if (spec.external_name.empty()) {
      findings->push_back({JoinKey(spath, "externalName"),
                           "required field is missing (expected a DNS name for type ExternalName)"});
    }
  } else {
    if (!spec.external_name.empty()) {
      findings->push_back({JoinKey(spath, "externalName"), "expected no externalName for type " + spec.type});
    }
    if (spec.ports.empty() && !spec.Headless()) {
      findings->push_back({JoinKey(spath, "ports"),
                           "required field is missing (expected a list of at least 1 service port)"});
    }
  }
  if (spec.Headless() && spec.type != "ClusterIP") {
    findings->push_back({JoinKey(spath, "clusterIP"), "expected clusterIP None only with type ClusterIP"});
  }
  spec.extra = Extra(s, {"type", "clusterIP", "selector", "ports", "externalName"});
  return svc;
}

Resource DecodeServiceAccount(const json& o, const std::string&, const std::string&, std::vector<Finding>*) {
  ServiceAccount sa;
  sa.metadata = DecodeMeta(Member(o, "metadata"), true);
  if (Member(o, "automountServiceAccountToken").is_boolean()) {
    sa.automount_service_account_token = Member(o, "automountServiceAccountToken").get<bool>();
  }
  sa.extra = Extra(o, {"apiVersion", "kind", "metadata", "status", "automountServiceAccountToken"});
  return sa;
}

// ConfigMap keys (k8s.io/apimachinery IsConfigMapKey).
std::string CheckConfigMapKey(std::string_view key) {
  if (key.empty() || key.size() > 253) return "expected a key of 1-253 characters, got " + QuoteForMessage(key);
  if (key == "." || key == "..") return "expected a key other than '.' and '..'";
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return "expected a key of [-._a-zA-Z0-9], got " + QuoteForMessage(key);
  }
  return "";
}

std::string CheckBase64(std::string_view v) {
  auto fail = [&] { return "expected base64 text (RFC 4648, padded), got " + QuoteForMessage(v); };
  if (v.size() % 4 != 0) return fail();
  size_t pad = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
    if (c == '=') {
      ++pad;
      if (i + 2 < v.size() || pad > 2) return fail();
    } else if (!alpha || pad > 0) {
      return fail();
    }
  }
  return "";
}

inline constexpr size_t kMaxConfigMapBytes = 1024 * 1024;

Resource DecodeConfigMap(const json& o, const std::string&, const std::string& base,
                         std::vector<Finding>* findings) {
  ConfigMap cm;
  cm.metadata = DecodeMeta(Member(o, "metadata"), true);
  cm.data = GetLabels(o, "data");
  cm.binary_data = GetLabels(o, "binaryData");
  if (Member(o, "immutable").is_boolean()) cm.immutable = Member(o, "immutable").get<bool>();
  size_t total = 0;
  for (const auto& [k, v] : cm.data) total += k.size() + v.size();
  for (const auto& [k, v] : cm.binary_data) {
    total += k.size() + v.size() / 4 * 3;
    if (cm.data.contains(k)) {
      findings->push_back({JoinKey(JoinKey(base, "binaryData"), k), "duplicate key (also in data)"});
    }
  }
  if (total > kMaxConfigMapBytes) {
    findings->push_back({base, "expected at most 1048576 bytes of data in a ConfigMap, got " +
                                   std::to_string(total)});
  }
  if (IsMeshConfigMap(cm)) {
    for (auto& p : ParseMeshConfigMap(cm).errors) {
      findings->push_back({base.empty() ? p.path : base + "." + p.path, std::move(p.message)});
    }
  }
  return cm;
}

Resource DecodeDeployment(const json& o, const std::string&, const std::string& base,
                          std::vector<Finding>* findings) {
  Deployment d;
  d.metadata = DecodeMeta(Member(o, "metadata"), true);
  const json& s = Member(o, "spec");
  std::string spath = JoinKey(base, "spec");
  d.spec.replicas = static_cast<int32_t>(GetInt(s, "replicas", 1));
  d.spec.selector = DecodeLabelSelector(Member(s, "selector"));
  const json& t = Member(s, "template");
  std::string tpath = JoinKey(spath, "template");
  d.spec.template_.metadata = DecodeMeta(Member(t, "metadata"), false);
  d.spec.template_.metadata.ns = GetStr(Member(t, "metadata"), "namespace");
  d.spec.template_.spec = DecodePodSpec(Member(t, "spec"), JoinKey(tpath, "spec"), findings);
  if (d.spec.selector.Empty()) {
    findings->push_back({JoinKey(spath, "selector"),
                         "expected a non-empty selector (matchLabels or matchExpressions)"});
  } else if (!d.spec.selector.Matches(d.spec.template_.metadata.labels)) {
    findings->push_back({JoinKey(spath, "selector"),
                         "does not match spec.template.metadata.labels (the selector must select "
                         "the pods this Deployment creates)"});
  }
  if (d.spec.template_.spec.restart_policy != "Always") {
    findings->push_back({JoinKey(JoinKey(tpath, "spec"), "restartPolicy"),
                         "expected Always in a Deployment, got '" + d.spec.template_.spec.restart_policy + "'"});
  }
  d.spec.extra = Extra(s, {"replicas", "selector", "template"});
  return d;
}

}  // namespace

void AddKubeKinds(std::vector<KindInfo>* kinds) {
  kinds->push_back(KindInfo{
      "Namespace", {"v1"}, false,
      ObjectSchema(false, Label(), {Opt("spec", Obj({Opt("finalizers", StrList())}, "a namespace spec (object)"))}),
      DecodeNamespace});
  kinds->push_back(KindInfo{"Pod", {"v1"}, true,
                            ObjectSchema(true, Subdomain(), {Req("spec", PodSpecSchema())}), DecodePod});
  kinds->push_back(KindInfo{"Service", {"v1"}, true,
                            ObjectSchema(true, Dns1035(), {Req("spec", ServiceSpecSchema())}),
                            DecodeService});
  kinds->push_back(KindInfo{"ServiceAccount", {"v1"}, true,
                            ObjectSchema(true, Subdomain(),
                                         {Opt("automountServiceAccountToken", Bool()),
                                          Opt("secrets", List(AnyObject())),
                                          Opt("imagePullSecrets", List(AnyObject()))}),
                            DecodeServiceAccount});
  kinds->push_back(KindInfo{
      "ConfigMap", {"v1"}, true,
      ObjectSchema(true, Subdomain(),
                   {Opt("data", Map(Str(), CheckConfigMapKey, "a map of keys to strings")),
                    Opt("binaryData", Map(Str("base64 text", CheckBase64), CheckConfigMapKey,
                                          "a map of keys to base64 text")),
                    Opt("immutable", Bool())}),
      DecodeConfigMap});
  auto deployment_spec =
      Obj({Opt("replicas", Int(0, INT32_MAX)), Req("selector", LabelSelectorSchema()),
           Req("template", PodTemplateSchema()),
           // Kept verbatim:
           Opt("strategy", AnyObject()), Opt("minReadySeconds", Int(0, INT32_MAX)),
           Opt("revisionHistoryLimit", Int(0, INT32_MAX)),
           Opt("progressDeadlineSeconds", Int(1, INT32_MAX)), Opt("paused", Bool())},
          "a deployment spec (object)");
  kinds->push_back(KindInfo{"Deployment", {"apps/v1"}, true,
                            ObjectSchema(true, Subdomain(), {Req("spec", deployment_spec)}),
                            DecodeDeployment});
}

}  // namespace ambit::config::internal
