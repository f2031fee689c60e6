#include "control/mesh_agents.h"

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cluster/process.h"
#include "cluster/supervisor.h"
#include "cluster/topology.h"
#include "config/kube.h"
#include "config/resource.h"
#include "control/pod_runtime.h"
#include "control/reconciler.h"
#include "control/store.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/netns.h"
#include "model/enrollment.h"
#include "control/mesh_scope.h"
#include "inpod/lookup_policy.h"
#include "inpod/node_agent.h"
#include "inpod/zds_server.h"
#include "redirect/rule_set.h"

namespace ambit::control {
namespace {

std::string ExeDir(const std::string& self_exe) {
  return std::filesystem::path(self_exe).parent_path().string();
}

std::string CniSocket(const cluster::ClusterLayout& layout, const std::string& node) {
  return layout.NodeDir(node) + "/cni.sock";
}
std::string ZdsSocket(const cluster::ClusterLayout& layout, const std::string& node) {
  return layout.NodeDir(node) + "/ztunnel.sock";
}
// Where the ZDS server listens until Open() renames it into place.
std::string ZdsSocketPrivate(const cluster::ClusterLayout& layout, const std::string& node) {
  return layout.NodeDir(node) + "/ztunnel.sock.starting";
}

// The store's decision about a pod: the enrollment rules of the ambient
// model (model/enrollment.h) over its labels, its namespace's and the mesh
// settings (discoverySelectors, revision).
std::optional<inpod::PodDecision> LookupPod(const Store* store, MeshScope* scope,
                                            const inpod::PodEvent& pod) {
  auto snap = store->Snapshot();
  auto it = snap->resources.find(config::ResourceKey{"Pod", pod.ns, pod.name});
  if (it == snap->resources.end()) return std::nullopt;
  const auto* p = std::get_if<config::Pod>(&it->second);
  if (!p) return std::nullopt;
  static const config::Labels kNoLabels;
  const config::Labels* ns_labels = &kNoLabels;
  if (auto ns = snap->resources.find(config::ResourceKey{"Namespace", "", pod.ns});
      ns != snap->resources.end()) {
    ns_labels = &config::MetaOf(ns->second).labels;
  }
  const model::Enrollment decision = model::DecideEnrollment(*scope->For(*snap), *ns_labels, *p);
  return inpod::PodDecision{decision == model::Enrollment::kEnroll, std::string(model::ToString(decision)),
                            p->spec.service_account_name, model::DnsCaptureAnnotation(p->metadata.annotations)};
}

// The PodEvent ambit-cni sends for this pod (no K8S_POD_UID: keyed ns/name).
inpod::PodEvent EventOf(const std::string& ns, const std::string& name, const std::string& uid,
                        const std::string& netns, const std::string& ip) {
  inpod::PodEvent ev;
  ev.ns = ns;
  ev.name = name;
  ev.container_id = "ambit-" + uid;
  ev.netns = netns;
  if (!ip.empty()) ev.ips = {ip};
  return ev;
}

}  // namespace

void AddMeshCniPlugin(const cluster::ClusterLayout& layout, const std::string& node,
                      const std::string& self_exe, cluster::CniSettings* settings) {
  nlohmann::json plugin = {{"type", "ambit-cni"}, {"agentSocket", CniSocket(layout, node)}};
  settings->chained_plugins.push_back(plugin.dump());
  const std::string dir = ExeDir(self_exe);
  if (std::find(settings->bin_dirs.begin(), settings->bin_dirs.end(), dir) == settings->bin_dirs.end()) {
    settings->bin_dirs.push_back(dir);
  }
}

std::vector<std::string> ZtunnelArgv(const cluster::ClusterLayout& layout,
                                     const cluster::ClusterConfig& config,
                                     const cluster::NodeInfo& node, const std::string& self_exe) {
  std::vector<std::string> argv = {ExeDir(self_exe) + "/ztunnel",
                                   "--node", node.name,
                                   "--xds-address", "unix:" + layout.SocketPath(),
                                   "--credential-file", layout.NodeDir(node.name) + "/credential",
                                   "--zds-socket", ZdsSocket(layout, node.name),
                                   // Pods of the local cluster are IPv4 only: no AAAA
                                   // answers for the IPv6 VIPs of ServiceEntries.
                                   "--no-ipv6",
                                   "--ip", node.ip,
                                   "--secret-ttl", FormatDurationSeconds(config.ca.workload_cert_ttl)};
  argv.insert(argv.end(), config.mesh.ztunnel_args.begin(), config.mesh.ztunnel_args.end());
  return argv;
}

struct NodeMesh {
  cluster::NodeInfo info;
  std::unique_ptr<inpod::ZdsServer> zds;
  std::unique_ptr<inpod::LookupEnrollmentPolicy> policy;
  std::unique_ptr<inpod::NodeAgent> agent;
};

struct MeshAgents::Impl {
  cluster::ClusterLayout layout;
  cluster::ClusterConfig config;
  const Store* store = nullptr;
  std::string self_exe;
  std::map<std::string, NodeMesh> nodes;  // by node name
  redirect::RedirectOptions redirect_options;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::shared_ptr<const RuntimeView> pending;
  std::thread worker;

  // Worker-thread state: last error per pod key, logged once per change.
  std::map<std::string, std::string> last_error;

  Impl(cluster::ClusterLayout l, cluster::ClusterConfig c) : layout(std::move(l)), config(std::move(c)) {}

  void Evaluate(const std::string& node, const inpod::PodEvent& pod) {
    auto it = nodes.find(node);
    if (it == nodes.end()) return;
    const std::string key = inpod::PodKey(pod);
    auto result = it->second.agent->Reevaluate(pod);
    if (!result.ok()) {
      std::string message = result.error().ToString();
      if (last_error[key] != message) {
        AMBIT_LOG_ERROR("mesh: re-evaluating pod {} on {}: {}", key, node, message);
        last_error[key] = message;
      }
      return;
    }
    last_error.erase(key);
    if (*result == inpod::CniResult::kEnrolled) AMBIT_LOG_INFO("mesh: pod {} enrolled", key);
    if (*result == inpod::CniResult::kRemoved) AMBIT_LOG_INFO("mesh: pod {} released", key);
  }

  // A pod that is not (or no longer) in the mesh but still has redirection
  // rules: a previous ambitd stopped after the label change was committed but
  // before it released the pod. Its ztunnel drops it with the next snapshot,
  // so the rules would send the pod's traffic nowhere.
  void RemoveLeftoverRules(const std::string& node, const inpod::PodEvent& pod) {
    auto it = nodes.find(node);
    if (it == nodes.end() || it->second.agent->IsEnrolled(inpod::PodKey(pod))) return;
    auto netns = Netns::Open(pod.netns);
    if (!netns.ok()) return;
    auto state = redirect::InspectRedirection(*netns, redirect_options);
    if (!state.ok() || !(state->rules_present || state->routes_present)) return;
    Status removed = redirect::RemoveRedirection(*netns, redirect_options);
    if (removed.ok()) {
      AMBIT_LOG_WARN("mesh: removed leftover redirection of pod {} (not in the mesh)", inpod::PodKey(pod));
    } else {
      AMBIT_LOG_ERROR("mesh: removing leftover redirection of pod {}: {}", inpod::PodKey(pod),
                      removed.error().ToString());
    }
  }

  void Sync(const RuntimeView& view) {
    auto snap = store->Snapshot();
    for (const auto& [key, pv] : view.pods) {
      if (pv.netns.empty() || pv.phase != "Running") continue;
      auto res = snap->resources.find(key);
      if (res == snap->resources.end()) continue;
      const auto* pod = std::get_if<config::Pod>(&res->second);
      if (!pod || pod->metadata.uid != pv.uid) continue;  // being replaced
      Evaluate(pod->spec.node_name, EventOf(key.ns, key.name, pv.uid, pv.netns, pv.ip));
    }
  }

  // Node <n>'s ztunnel under a supervisor in the node's netns; adopts one
  // that still runs.
  Status EnsureZtunnel(const NodeMesh& node) {
    const std::string dir = layout.NodeDir(node.info.name) + "/ztunnel";
    const std::string spec_file = dir + "/ztunnel.json";
    const std::string status_file = dir + "/ztunnel.status";
    auto status = cluster::ReadContainerStatus(status_file);
    if (status && cluster::IsAlive(status->supervisor)) return Ok();
    struct stat st {};
    if (!status && ::stat(spec_file.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime < 5) {
      return Ok();  // just started, has not reported yet
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error(ErrorCode::kIo, "creating " + dir + ": " + ec.message());
    AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(dir + "/hosts", "127.0.0.1 localhost\n"));
    // ztunnel forwards what it does not answer to its own nameservers, as in
    // Istio: the cluster DNS, which pods' resolv.conf names too.
    AMBIT_RETURN_IF_ERROR(
        cluster::WriteFileAtomic(dir + "/resolv.conf", "nameserver " + config.cluster_dns + "\n"));
    if (status && status->pid > 0) {
      // A ztunnel left behind by a dead supervisor would hold the ports.
      ::kill(status->pid, SIGKILL);
    }
    cluster::ContainerSpec spec;
    spec.cluster = layout.name();
    spec.pod_namespace = "ambit-system";
    spec.pod_name = "ztunnel-" + node.info.name;
    spec.name = "ztunnel";
    spec.argv = ZtunnelArgv(layout, config, node.info, self_exe);
    spec.env = {{"NODE_NAME", node.info.name}};
    spec.restart_policy = "Always";
    spec.sandbox = {node.info.netns_path, dir + "/hosts", dir + "/resolv.conf", "", node.info.name};
    spec.log_file = layout.NodeDir(node.info.name) + "/ztunnel.log";
    spec.status_file = status_file;
    AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(spec_file, cluster::ContainerSpecToJson(spec)));
    AMBIT_ASSIGN_OR_RETURN(cluster::ProcessId id,
                           cluster::StartSupervisor(self_exe, spec_file, layout.name()));
    AMBIT_LOG_INFO("mesh: started ztunnel supervisor for {} (pid {})", node.info.name, id.pid);
    return Ok();
  }

  void Loop() {
    std::shared_ptr<const RuntimeView> view;
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping || pending != nullptr; });
        if (stopping) return;
        if (pending) view = std::exchange(pending, nullptr);
      }
      for (const auto& [name, node] : nodes) {
        Status s = EnsureZtunnel(node);
        if (!s.ok()) AMBIT_LOG_ERROR("mesh: ztunnel of {}: {}", name, s.error().ToString());
      }
      if (view) Sync(*view);
    }
  }
};

MeshAgents::MeshAgents(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MeshAgents>> MeshAgents::Start(cluster::ClusterLayout layout,
                                                      const cluster::ClusterConfig& config,
                                                      const Store* store, MeshScope* scope,
                                                      std::string self_exe,
                                                      const std::vector<RealizedPod>& realized) {
  auto impl = std::make_unique<Impl>(layout, config);
  impl->store = store;
  impl->self_exe = std::move(self_exe);
  inpod::NodeAgentOptions agent_options;
  agent_options.redirect.backend =
      config.mesh.redirect == "iptables" ? redirect::Backend::kIptables : redirect::Backend::kNftables;
  // Pods' DNS goes to ztunnel's proxy on 15053 unless the cluster turned it
  // off or the pod's ambient.istio.io/dns-capture annotation says otherwise.
  agent_options.redirect.dns_capture = config.mesh.dns_capture;
  for (const auto& info : cluster::DescribeNodes(layout, config.node_count)) {
    NodeMesh node;
    node.info = info;
    std::error_code ec;
    std::filesystem::create_directories(layout.NodeDir(info.name), ec);
    if (ec) return Error(ErrorCode::kIo, "creating " + layout.NodeDir(info.name) + ": " + ec.message());
    AMBIT_ASSIGN_OR_RETURN(node.zds, inpod::ZdsServer::Start({ZdsSocketPrivate(layout, info.name)}));
    node.policy = std::make_unique<inpod::LookupEnrollmentPolicy>(
        [store, scope](const inpod::PodEvent& pod) { return LookupPod(store, scope, pod); });
    agent_options.cni_socket_path = CniSocket(layout, info.name);
    auto agent = inpod::NodeAgent::Start(agent_options, *node.policy, *node.zds);
    if (!agent.ok()) return std::move(agent).error().WithContext("node agent of " + info.name);
    node.agent = std::move(*agent);
    impl->nodes.emplace(info.name, std::move(node));
  }
  impl->redirect_options = agent_options.redirect;
  // Pods found on disk: re-adopt their rules and put them in the ZDS sets
  // (no ztunnel can be connected yet, so nothing blocks on it).
  for (const auto& pod : realized) {
    if (pod.netns_path.empty()) continue;
    const inpod::PodEvent event = EventOf(pod.ns, pod.name, pod.uid, pod.netns_path, pod.ip);
    impl->Evaluate(pod.node, event);
    impl->RemoveLeftoverRules(pod.node, event);
  }
  return std::unique_ptr<MeshAgents>(new MeshAgents(std::move(impl)));
}

Status MeshAgents::Open() {
  for (const auto& [name, node] : impl_->nodes) {
    const std::string from = ZdsSocketPrivate(impl_->layout, name);
    const std::string to = ZdsSocket(impl_->layout, name);
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("renaming " + from + " to " + to, errno);
  }
  Impl* raw = impl_.get();
  impl_->worker = std::thread([raw] { raw->Loop(); });
  return Ok();
}

void MeshAgents::Observe(std::shared_ptr<const RuntimeView> view) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->pending = std::move(view);
  }
  impl_->cv.notify_all();
}

MeshAgents::~MeshAgents() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  // Pods keep running without ambitd; so does their mesh. The ZDS servers
  // close their connections (ztunnel keeps its pods and reconnects).
  for (auto& [name, node] : impl_->nodes) {
    node.agent->Abandon();
    node.agent.reset();
    node.zds.reset();
  }
}

}  // namespace ambit::control
