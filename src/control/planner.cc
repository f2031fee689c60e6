#include "control/planner.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <set>

#include "cluster/layout.h"
#include "config/serialize.h"
#include "control/waypoint_objects.h"
#include "model/service_entries.h"

namespace ambit::control {
namespace {

using config::Diagnostic;
using config::ResourceKey;

constexpr uint32_t kServiceBase = 0x0A600000;  // 10.96.0.0
constexpr uint32_t kServiceMask = 0xFFFF0000;  // /16
constexpr uint32_t kFirstAllocated = 10;       // 10.96.0.10 and up

std::optional<uint32_t> ParseIpv4(const std::string& s) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string FormatIpv4(uint32_t v) {
  in_addr a{};
  a.s_addr = htonl(v);
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

const config::OwnerReference* ControllerOf(const config::Pod& pod) {
  for (const auto& ref : pod.metadata.owner_references) {
    if (ref.kind == "Deployment") return &ref;
  }
  return nullptr;
}

bool OwnedBy(const config::Pod& pod, const std::string& ns, const std::string& deployment) {
  const auto* ref = ControllerOf(pod);
  return ref && pod.metadata.ns == ns && ref->name == deployment;
}

class Planner {
 public:
  Planner(const StoreState& current, const Manifests& input, const PlanContext* ctx)
      : current_(current), input_(input), ctx_(ctx) {}

  Diagnostic At(size_t i, std::string path, std::string message) const {
    Diagnostic d;
    const auto& o = input_.origins[i];
    const auto& r = input_.resources[i];
    d.file = o.file;
    d.line = o.line;
    d.document = o.document;
    d.kind = std::string(config::KindOf(r));
    d.ns = config::MetaOf(r).ns;
    d.name = config::MetaOf(r).name;
    d.path = std::move(path);
    d.message = std::move(message);
    return d;
  }

  // Checks of one pod spec against this machine and cluster.
  void CheckPodSpec(size_t i, const config::PodSpec& spec, const std::string& path) {
    if (!spec.init_containers.empty()) {
      diags_.push_back(At(i, path + ".initContainers",
                          "init containers are not supported by the local cluster"));
    }
    for (size_t c = 0; c < spec.containers.size(); ++c) {
      const auto& ctr = spec.containers[c];
      const std::string cpath = path + ".containers[" + std::to_string(c) + "]";
      const std::string program = ContainerProgram(ctr);
      if (program.empty()) {
        diags_.push_back(At(i, cpath + ".command",
                            "expected a command: the local cluster runs command/args as a "
                            "process on this machine (the image '" +
                                ctr.image + "' is recorded, not pulled)"));
      } else if (!ctx_->command_exists(program)) {
        diags_.push_back(At(i, cpath + (ctr.command.empty() ? ".args[0]" : ".command[0]"),
                            "command '" + program + "' not found on this machine"));
      }
      for (size_t e = 0; e < ctr.env.size(); ++e) {
        if (!ctr.env[e].value_from.is_null()) {
          diags_.push_back(At(i, cpath + ".env[" + std::to_string(e) + "].valueFrom",
                              "valueFrom is not supported by the local cluster; use value"));
        }
      }
    }
    if (!spec.node_name.empty()) CheckNode(i, path + ".nodeName", spec.node_name);
    for (const auto& [k, v] : spec.node_selector) {
      if (k == "kubernetes.io/hostname") {
        CheckNode(i, path + ".nodeSelector[\"kubernetes.io/hostname\"]", v);
      } else {
        diags_.push_back(At(i, path + ".nodeSelector",
                            "no node has label '" + k +
                                "' (local nodes only carry "
                                "kubernetes.io/hostname)"));
      }
    }
  }

  // The Deployment and Service a waypoint makes must not replace objects
  // that are not its own (stored, or in the same input).
  void CheckWaypointNames(size_t i, const config::Gateway& gw) {
    for (const char* kind : {"Deployment", "Service"}) {
      const ResourceKey key{kind, gw.metadata.ns, gw.metadata.name};
      auto stored = current_.resources.find(key);
      const bool foreign = stored != current_.resources.end() &&
                           !OwnedByGateway(config::MetaOf(stored->second), gw.metadata.name);
      bool in_input = false;
      for (size_t j = 0; j < input_.resources.size(); ++j) {
        in_input = in_input || config::KeyOf(input_.resources[j]) == key;
      }
      if (foreign || in_input) {
        diags_.push_back(At(i, "metadata.name",
                            "waypoint '" + gw.metadata.name + "' runs as " + key.ToString() +
                                ", which already exists and is not the waypoint's"));
      }
    }
  }

  // Upserts a generated object (keeping what ambitd assigned before).
  void UpsertGenerated(config::Resource r) {
    const ResourceKey key = config::KeyOf(r);
    auto stored = plan_.next.resources.find(key);
    const config::Resource* old = stored == plan_.next.resources.end() ? nullptr : &stored->second;
    if (old) config::MutableMetaOf(r).uid = config::MetaOf(*old).uid;
    if (auto* svc = std::get_if<config::Service>(&r); svc && old) {
      svc->spec.cluster_ip = std::get<config::Service>(*old).spec.cluster_ip;
    }
    if (old && *old == r) {
      plan_.changes.push_back({key, "unchanged"});
      return;
    }
    plan_.changes.push_back({key, old ? "configured" : "created"});
    if (config::MetaOf(r).uid.empty()) config::MutableMetaOf(r).uid = ctx_->random(12);
    plan_.next.resources.insert_or_assign(key, std::move(r));
  }

  // Removes what a waypoint Gateway made: its Deployment (and pods) and Service.
  void RemoveWaypointObjects(const std::string& ns, const std::string& gateway) {
    auto erase = [&](const ResourceKey& key) {
      if (plan_.next.resources.erase(key)) plan_.changes.push_back({key, "deleted"});
    };
    const ResourceKey deployment{"Deployment", ns, gateway};
    auto d = plan_.next.resources.find(deployment);
    if (d != plan_.next.resources.end() && OwnedByGateway(config::MetaOf(d->second), gateway)) {
      std::vector<ResourceKey> owned;
      for (const auto* p : plan_.next.Pods()) {
        if (OwnedBy(*p, ns, gateway)) owned.push_back(config::KeyOf(config::Resource(*p)));
      }
      for (const auto& k : owned) erase(k);
      erase(deployment);
    }
    const ResourceKey service{"Service", ns, gateway};
    auto s = plan_.next.resources.find(service);
    if (s != plan_.next.resources.end() && OwnedByGateway(config::MetaOf(s->second), gateway)) {
      erase(service);
    }
  }

  void CheckNode(size_t i, const std::string& path, const std::string& node) {
    int idx = cluster::ClusterLayout::NodeIndex(node);
    if (idx < 1 || idx > ctx_->node_count) {
      diags_.push_back(At(i, path,
                          "node '" + node + "' does not exist (nodes are node1.." +
                              cluster::ClusterLayout::NodeName(ctx_->node_count) + ")"));
    }
  }

  void CheckService(size_t i, const config::Service& svc, std::map<uint32_t, ResourceKey>& taken) {
    const ResourceKey key = config::KeyOf(config::Resource(svc));
    if (svc.spec.type == "ExternalName") {
      diags_.push_back(At(i, "spec.type",
                          "ExternalName services are not supported by the local "
                          "cluster"));
      return;
    }
    auto stored = current_.resources.find(key);
    std::string previous;
    if (stored != current_.resources.end()) {
      previous = std::get<config::Service>(stored->second).spec.cluster_ip;
    }
    const std::string& ip = svc.spec.cluster_ip;
    if (ip.empty() || ip == "None") {
      if (ip == "None" && !previous.empty() && previous != "None") {
        diags_.push_back(At(i, "spec.clusterIP", "is immutable: the service has " + previous));
      }
      return;
    }
    if (!previous.empty() && previous != ip) {
      diags_.push_back(At(i, "spec.clusterIP", "is immutable: the service has " + previous));
      return;
    }
    auto v = ParseIpv4(ip);
    if (!v || (*v & kServiceMask) != kServiceBase || (*v & 0xFFFF) == 0 ||
        (*v & 0xFFFF) == 0xFFFF) {
      diags_.push_back(
          At(i, "spec.clusterIP",
             "expected an address in " + std::string(kServiceCidr) + ", got '" + ip + "'"));
      return;
    }
    auto [it, inserted] = taken.emplace(*v, key);
    if (!inserted && it->second != key) {
      diags_.push_back(
          At(i, "spec.clusterIP", ip + " is already used by " + it->second.ToString()));
    }
  }

  Result<Plan> Apply() {
    // 1. Validate everything before changing anything.
    std::map<ResourceKey, size_t> seen;
    std::set<std::string> new_namespaces;
    for (size_t i = 0; i < input_.resources.size(); ++i) {
      const auto& r = input_.resources[i];
      if (const auto* ns = std::get_if<config::Namespace>(&r))
        new_namespaces.insert(ns->metadata.name);
    }
    std::map<uint32_t, ResourceKey> taken;
    for (const auto* s : current_.Services()) {
      if (auto v = ParseIpv4(s->spec.cluster_ip))
        taken.emplace(*v, config::KeyOf(config::Resource(*s)));
    }
    for (size_t i = 0; i < input_.resources.size(); ++i) {
      const auto& r = input_.resources[i];
      const ResourceKey key = config::KeyOf(r);
      auto [it, inserted] = seen.emplace(key, i);
      if (!inserted) {
        const auto& first = input_.origins[it->second];
        diags_.push_back(At(i, "",
                            "duplicate " + key.ToString() + " (also in " + first.file +
                                " document " + std::to_string(first.document) + ")"));
        continue;
      }
      const std::string& ns = config::MetaOf(r).ns;
      if (config::IsNamespaced(r) && !current_.HasNamespace(ns) && !new_namespaces.count(ns)) {
        diags_.push_back(At(i, "metadata.namespace",
                            "namespace '" + ns + "' does not exist; apply a Namespace named '" +
                                ns + "' first or in the same input"));
      }
      if (const auto* pod = std::get_if<config::Pod>(&r)) {
        CheckPodSpec(i, pod->spec, "spec");
        auto stored = current_.resources.find(key);
        if (stored != current_.resources.end()) {
          if (const auto* ref = ControllerOf(std::get<config::Pod>(stored->second))) {
            diags_.push_back(
                At(i, "metadata.name",
                   "the name is taken by a pod of Deployment " + ns + "/" + ref->name));
          }
        }
      } else if (const auto* d = std::get_if<config::Deployment>(&r)) {
        CheckPodSpec(i, d->spec.template_.spec, "spec.template.spec");
        if (d->spec.template_.spec.restart_policy != "Always") {
          diags_.push_back(At(i, "spec.template.spec.restartPolicy",
                              "expected Always for a Deployment, got '" +
                                  d->spec.template_.spec.restart_policy + "'"));
        }
      } else if (const auto* svc = std::get_if<config::Service>(&r)) {
        CheckService(i, *svc, taken);
      } else if (const auto* gw = std::get_if<config::Gateway>(&r)) {
        if (gw->IsWaypoint() && ctx_->waypoint_command) CheckWaypointNames(i, *gw);
      }
    }
    if (!diags_.empty()) {
      return Error(ErrorCode::kInvalidArgument, config::FormatDiagnostics(diags_));
    }
    reserved_ = std::move(taken);  // explicit ClusterIPs of the input are not allocatable

    // 2. Decide.
    plan_.next = current_;
    for (size_t i = 0; i < input_.resources.size(); ++i) {
      config::Resource r = input_.resources[i];
      const ResourceKey key = config::KeyOf(r);
      auto stored = plan_.next.resources.find(key);
      const config::Resource* old =
          stored == plan_.next.resources.end() ? nullptr : &stored->second;
      // Fields ambitd assigns are kept when the manifest leaves them out.
      if (old && config::MetaOf(r).uid.empty())
        config::MutableMetaOf(r).uid = config::MetaOf(*old).uid;
      if (auto* pod = std::get_if<config::Pod>(&r)) {
        if (old && pod->spec.node_name.empty()) {
          pod->spec.node_name = std::get<config::Pod>(*old).spec.node_name;
        }
      }
      if (auto* svc = std::get_if<config::Service>(&r)) {
        if (old && svc->spec.cluster_ip.empty()) {
          svc->spec.cluster_ip = std::get<config::Service>(*old).spec.cluster_ip;
        }
      }
      if (old && *old == r) {
        plan_.changes.push_back({key, "unchanged"});
      } else {
        plan_.changes.push_back({key, old ? "configured" : "created"});
        if (auto* pod = std::get_if<config::Pod>(&r)) {
          // A changed spec makes a new pod; changed labels or annotations do not
          // (they only move the pod in or out of services and the mesh).
          const auto* old_pod = old ? std::get_if<config::Pod>(old) : nullptr;
          if (!old_pod || old_pod->spec != pod->spec) pod->metadata.uid = ctx_->random(12);
          if (pod->spec.node_name.empty()) pod->spec.node_name = Schedule(*pod, "");
        } else if (config::MetaOf(r).uid.empty()) {
          config::MutableMetaOf(r).uid = ctx_->random(12);
        }
        if (auto* svc = std::get_if<config::Service>(&r)) {
          if (svc->spec.cluster_ip.empty()) {
            AMBIT_ASSIGN_OR_RETURN(svc->spec.cluster_ip, AllocateClusterIp());
          }
        }
        plan_.next.resources.insert_or_assign(key, r);
      }
      if (std::holds_alternative<config::Pod>(r)) plan_.pods.push_back(key);
    }
    for (const auto& r : input_.resources) {
      if (std::holds_alternative<config::Deployment>(r)) {
        Expand(std::get<config::Deployment>(plan_.next.resources.at(config::KeyOf(r))));
      }
    }
    // Waypoint Gateways run as a Deployment + Service of their own.
    for (const auto& r : input_.resources) {
      const auto* input_gw = std::get_if<config::Gateway>(&r);
      if (input_gw == nullptr || !ctx_->waypoint_command) continue;
      const auto& gw = std::get<config::Gateway>(plan_.next.resources.at(config::KeyOf(r)));
      if (!gw.IsWaypoint()) {
        RemoveWaypointObjects(gw.metadata.ns, gw.metadata.name);  // class changed
        continue;
      }
      WaypointObjects objects = BuildWaypointObjects(gw, ctx_->waypoint_command(gw));
      UpsertGenerated(config::Resource(std::move(objects.service)));
      const ResourceKey service_key{"Service", gw.metadata.ns, gw.metadata.name};
      auto& svc = std::get<config::Service>(plan_.next.resources.at(service_key));
      if (svc.spec.cluster_ip.empty()) {
        AMBIT_ASSIGN_OR_RETURN(svc.spec.cluster_ip, AllocateClusterIp());
      }
      UpsertGenerated(config::Resource(std::move(objects.deployment)));
      Expand(std::get<config::Deployment>(
          plan_.next.resources.at({"Deployment", gw.metadata.ns, gw.metadata.name})));
    }
    AllocateServiceEntryAddresses();
    return std::move(plan_);
  }

  std::string Schedule(const config::Pod& pod, const std::string& owner) {
    for (const auto& [k, v] : pod.spec.node_selector) {
      if (k == "kubernetes.io/hostname") return v;
    }
    std::vector<std::pair<int, int>> load(static_cast<size_t>(ctx_->node_count) + 1, {0, 0});
    for (const auto* p : plan_.next.Pods()) {
      int idx = cluster::ClusterLayout::NodeIndex(p->spec.node_name);
      if (idx < 1 || idx > ctx_->node_count) continue;
      if (!owner.empty() && OwnedBy(*p, pod.metadata.ns, owner))
        load[static_cast<size_t>(idx)].first++;
      load[static_cast<size_t>(idx)].second++;
    }
    int best = 1;
    for (int n = 2; n <= ctx_->node_count; ++n) {
      if (load[static_cast<size_t>(n)] < load[static_cast<size_t>(best)]) best = n;
    }
    return cluster::ClusterLayout::NodeName(best);
  }

  Result<std::string> AllocateClusterIp() {
    std::set<uint32_t> used;
    for (const auto* s : plan_.next.Services()) {
      if (auto v = ParseIpv4(s->spec.cluster_ip)) used.insert(*v);
    }
    for (const auto& [ip, key] : reserved_) used.insert(ip);
    for (uint32_t host = kFirstAllocated; host < 0xFFFF; ++host) {
      if (!used.count(kServiceBase | host)) return FormatIpv4(kServiceBase | host);
    }
    return Error(ErrorCode::kUnavailable, std::string("no free ClusterIP left in ") + kServiceCidr);
  }

  // ServiceEntry VIPs (model/service_entries.h): kept for hosts that keep
  // them, new ones for new hosts, freed for the rest.
  void AllocateServiceEntryAddresses() {
    plan_.next.service_entry_addresses =
        model::AllocateServiceEntryAddresses(plan_.next.ServiceEntries(), current_.service_entry_addresses);
  }

  void Expand(const config::Deployment& d) {
    const std::string& ns = d.metadata.ns;
    const std::string hash = TemplateHash(d.spec.template_);
    std::vector<ResourceKey> current, stale;
    for (const auto* p : plan_.next.Pods()) {
      if (!OwnedBy(*p, ns, d.metadata.name)) continue;
      auto it = p->metadata.labels.find(kTemplateHashLabel);
      bool same = it != p->metadata.labels.end() && it->second == hash;
      (same ? current : stale).push_back(config::KeyOf(config::Resource(*p)));
    }
    for (const auto& key : stale) {
      plan_.next.resources.erase(key);
      plan_.changes.push_back({key, "deleted"});
    }
    const auto replicas = static_cast<size_t>(std::max(0, d.spec.replicas));
    while (current.size() > replicas) {
      // Scale down from the most loaded node: the last one in name order is fine here.
      plan_.next.resources.erase(current.back());
      plan_.changes.push_back({current.back(), "deleted"});
      current.pop_back();
    }
    for (const auto& key : current) plan_.pods.push_back(key);
    while (current.size() < replicas) {
      config::Pod pod;
      pod.metadata = d.spec.template_.metadata;
      pod.metadata.ns = ns;
      do {
        pod.metadata.name = d.metadata.name + "-" + hash + "-" + ctx_->random(5);
      } while (plan_.next.resources.count({"Pod", ns, pod.metadata.name}));
      pod.metadata.labels[kTemplateHashLabel] = hash;
      pod.metadata.uid = ctx_->random(12);
      config::OwnerReference ref;
      ref.api_version = "apps/v1";
      ref.kind = "Deployment";
      ref.name = d.metadata.name;
      ref.uid = d.metadata.uid;
      ref.controller = true;
      pod.metadata.owner_references = {ref};
      pod.spec = d.spec.template_.spec;
      if (pod.spec.node_name.empty()) pod.spec.node_name = Schedule(pod, d.metadata.name);
      ResourceKey key{"Pod", ns, pod.metadata.name};
      plan_.next.resources.emplace(key, std::move(pod));
      plan_.changes.push_back({key, "created"});
      plan_.pods.push_back(key);
      current.push_back(key);
    }
  }

  Result<Plan> Delete(bool ignore_not_found) {
    plan_.next = current_;
    for (size_t i = 0; i < input_.resources.size(); ++i) {
      const ResourceKey key = config::KeyOf(input_.resources[i]);
      if (key.kind == "Namespace" && key.name == "default") {
        diags_.push_back(At(i, "metadata.name", "the default namespace cannot be deleted"));
        continue;
      }
      if (!current_.resources.count(key)) {
        if (!ignore_not_found) diags_.push_back(At(i, "", key.ToString() + " not found"));
        continue;
      }
      if (key.kind == "Pod") {
        if (const auto* ref = ControllerOf(std::get<config::Pod>(current_.resources.at(key)))) {
          diags_.push_back(At(i, "",
                              key.ToString() + " belongs to Deployment " + key.ns + "/" +
                                  ref->name + "; delete or scale the Deployment"));
        }
      }
    }
    if (!diags_.empty())
      return Error(ErrorCode::kInvalidArgument, config::FormatDiagnostics(diags_));
    auto erase = [&](const ResourceKey& key) {
      if (plan_.next.resources.erase(key)) plan_.changes.push_back({key, "deleted"});
    };
    for (const auto& r : input_.resources) {
      const ResourceKey key = config::KeyOf(r);
      if (key.kind == "Deployment") {
        std::vector<ResourceKey> owned;
        for (const auto* p : plan_.next.Pods()) {
          if (OwnedBy(*p, key.ns, key.name)) owned.push_back(config::KeyOf(config::Resource(*p)));
        }
        for (const auto& k : owned) erase(k);
      }
      if (key.kind == "Gateway") RemoveWaypointObjects(key.ns, key.name);
      if (key.kind == "Namespace") {
        std::vector<ResourceKey> inside;
        for (const auto& [k, v] : plan_.next.resources) {
          if (k.ns == key.name) inside.push_back(k);
        }
        for (const auto& k : inside) erase(k);
      }
      erase(key);
    }
    AllocateServiceEntryAddresses();
    return std::move(plan_);
  }

 private:
  const StoreState& current_;
  const Manifests& input_;
  const PlanContext* ctx_;
  std::vector<Diagnostic> diags_;
  std::map<uint32_t, ResourceKey> reserved_;
  Plan plan_;
};

}  // namespace

std::string ContainerProgram(const config::Container& container) {
  if (!container.command.empty()) return container.command.front();
  if (!container.args.empty()) return container.args.front();
  return "";
}

std::string TemplateHash(const config::PodTemplate& tmpl) {
  config::Pod pod;
  pod.metadata = tmpl.metadata;
  pod.spec = tmpl.spec;
  const std::string text = config::ToJsonString(config::Resource(pod), -1);
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out += kAlphabet[h % (sizeof kAlphabet - 1)];
    h /= (sizeof kAlphabet - 1);
  }
  return out;
}

Result<Plan> PlanApply(const StoreState& current, const Manifests& input, const PlanContext& ctx) {
  return Planner(current, input, &ctx).Apply();
}

Result<Plan> PlanDelete(const StoreState& current, const Manifests& input, bool ignore_not_found) {
  return Planner(current, input, nullptr).Delete(ignore_not_found);
}

}  // namespace ambit::control
