#include "control/pod_runtime.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cluster/names_files.h"
#include "cluster/process.h"
#include "cluster/topology.h"
#include "control/mesh_agents.h"
#include "core/log.h"
#include "core/netns.h"
#include "net/tcp_listeners.h"

namespace ambit::control {

using nlohmann::json;

namespace {

constexpr int kStopGraceMs = 5000;

Status MakeDir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Error(ErrorCode::kIo, "creating " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return Ok();
}

json ToJson(const RealizedPod& p) {
  return {{"namespace", p.ns},
          {"name", p.name},
          {"uid", p.uid},
          {"node", p.node},
          {"netns", p.netns_path},
          {"ip", p.ip},
          {"cniResult", p.cni_result},
          {"containers", p.containers}};
}

}  // namespace

PodRuntime::PodRuntime(cluster::ClusterLayout layout, cluster::ClusterConfig config,
                       std::string self_exe)
    : layout_(std::move(layout)), config_(std::move(config)), self_exe_(std::move(self_exe)) {}

std::string PodRuntime::SpecFile(const RealizedPod& pod, const std::string& c) const {
  return PodDir(pod) + "/containers/" + c + ".json";
}
std::string PodRuntime::StatusFile(const RealizedPod& pod, const std::string& c) const {
  return PodDir(pod) + "/containers/" + c + ".status";
}

Status PodRuntime::SavePodFile(const RealizedPod& pod) const {
  return cluster::WriteFileAtomic(PodDir(pod) + "/pod.json", ToJson(pod).dump(2) + "\n");
}

std::vector<RealizedPod> PodRuntime::LoadRealized() const {
  std::vector<RealizedPod> out;
  DIR* dir = ::opendir(layout_.PodsDir().c_str());
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = layout_.PodsDir() + "/" + name;
    auto text = cluster::ReadFile(path + "/pod.json");
    json j = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (!j.is_object()) {
      // A pod whose creation never recorded anything: remove the leftovers.
      AMBIT_LOG_WARN("removing incomplete pod directory {}", path);
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      continue;
    }
    RealizedPod p;
    p.ns = j.value("namespace", "");
    p.name = j.value("name", "");
    p.uid = j.value("uid", "");
    p.node = j.value("node", "");
    p.netns_path = j.value("netns", "");
    p.ip = j.value("ip", "");
    p.cni_result = j.value("cniResult", "");
    if (j.contains("containers")) p.containers = j["containers"].get<std::vector<std::string>>();
    out.push_back(std::move(p));
  }
  ::closedir(dir);
  return out;
}

Result<const cluster::CniChain*> PodRuntime::ChainFor(const std::string& node) {
  auto it = chains_.find(node);
  if (it != chains_.end()) return it->second.get();
  int index = cluster::ClusterLayout::NodeIndex(node);
  if (index < 1 || index > config_.node_count) {
    return Error(ErrorCode::kNotFound, "node '" + node + "' does not exist");
  }
  cluster::CniNetwork network;
  network.subnet = cluster::ClusterLayout::PodCidr(index);
  network.ipam_dir = layout_.IpamDir(node);
  cluster::CniSettings settings = config_.cni;
  if (config_.mesh.enabled) AddMeshCniPlugin(layout_, node, self_exe_, &settings);
  AMBIT_ASSIGN_OR_RETURN(cluster::CniChain chain, cluster::CniChain::Create(settings, network));
  AMBIT_RETURN_IF_ERROR(MakeDir(layout_.NodeDir(node), 0700));
  (void)cluster::WriteFileAtomic(layout_.NodeDir(node) + "/cni.conflist", chain.ConfList() + "\n");
  auto owned = std::make_unique<cluster::CniChain>(std::move(chain));
  const cluster::CniChain* raw = owned.get();
  chains_.emplace(node, std::move(owned));
  return raw;
}

cluster::CniPod PodRuntime::CniPodOf(const RealizedPod& pod) const {
  cluster::CniPod c;
  c.container_id = "ambit-" + pod.uid;
  c.netns_path = pod.netns_path;
  c.host_netns = cluster::ClusterLayout::NetnsPath(
      layout_.NodeNetnsName(cluster::ClusterLayout::NodeIndex(pod.node)));
  c.pod_namespace = pod.ns;
  c.pod_name = pod.name;
  return c;
}

Result<RealizedPod> PodRuntime::Create(const config::Pod& spec) {
  RealizedPod pod;
  pod.ns = spec.metadata.ns;
  pod.name = spec.metadata.name;
  pod.uid = spec.metadata.uid;
  pod.node = spec.spec.node_name;
  const std::string netns_name = layout_.PodNetnsName(pod.ns, pod.name);
  pod.netns_path = cluster::ClusterLayout::NetnsPath(netns_name);
  for (const auto& c : spec.spec.containers) pod.containers.push_back(c.name);

  auto made = [&]() -> Status {
    const std::string dir = PodDir(pod);
    AMBIT_RETURN_IF_ERROR(MakeDir(dir + "/containers", 0700));
    AMBIT_RETURN_IF_ERROR(MakeDir(dir + "/logs", 0755));
    AMBIT_RETURN_IF_ERROR(MakeDir(dir + "/tmp", 01777));
    AMBIT_RETURN_IF_ERROR(SavePodFile(pod));  // records the pod before anything is made
    AMBIT_ASSIGN_OR_RETURN(const cluster::CniChain* chain, ChainFor(pod.node));
    AMBIT_RETURN_IF_ERROR(cluster::EnsureNetns(netns_name));
    AMBIT_ASSIGN_OR_RETURN(cluster::CniResult result, chain->Add(CniPodOf(pod)));
    pod.ip = result.ip;
    pod.cni_result = result.json;
    AMBIT_RETURN_IF_ERROR(SavePodFile(pod));
    AMBIT_RETURN_IF_ERROR(cluster::WriteFileInPlace(
        HostsFile(pod), cluster::BuildHostsFile(pod.name, pod.ns, pod.ip, {})));
    AMBIT_RETURN_IF_ERROR(
        cluster::WriteFileInPlace(ResolvFile(pod), cluster::BuildResolvConf(pod.ns, config_.cluster_dns)));
    for (const auto& c : spec.spec.containers) {
      cluster::ContainerSpec cs;
      cs.cluster = layout_.name();
      cs.pod_namespace = pod.ns;
      cs.pod_name = pod.name;
      cs.name = c.name;
      cs.argv = c.command;
      cs.argv.insert(cs.argv.end(), c.args.begin(), c.args.end());
      for (const auto& e : c.env) {
        if (e.value) cs.env.emplace_back(e.name, *e.value);
      }
      cs.env.emplace_back("POD_NAME", pod.name);
      cs.env.emplace_back("POD_NAMESPACE", pod.ns);
      cs.env.emplace_back("POD_IP", pod.ip);
      cs.env.emplace_back("NODE_NAME", pod.node);
      cs.working_dir = c.working_dir;
      cs.restart_policy = spec.spec.restart_policy;
      cs.sandbox = {pod.netns_path, HostsFile(pod), ResolvFile(pod), dir + "/tmp", pod.name};
      cs.log_file = LogFile(pod, c.name);
      cs.status_file = StatusFile(pod, c.name);
      AMBIT_RETURN_IF_ERROR(
          cluster::WriteFileAtomic(SpecFile(pod, c.name), cluster::ContainerSpecToJson(cs)));
      auto supervisor = cluster::StartSupervisor(self_exe_, SpecFile(pod, c.name), layout_.name());
      if (!supervisor.ok()) return std::move(supervisor).error();
    }
    return Ok();
  }();
  if (!made.ok()) {
    (void)Destroy(pod);
    return std::move(made).error().WithContext("creating pod " + pod.ns + "/" + pod.name);
  }
  AMBIT_LOG_INFO("pod {}/{} created on {} with IP {}", pod.ns, pod.name, pod.node, pod.ip);
  return pod;
}

Status PodRuntime::Destroy(const RealizedPod& pod) {
  std::optional<Error> first;
  for (const auto& c : pod.containers) {
    if (auto st = cluster::ReadContainerStatus(StatusFile(pod, c))) {
      cluster::StopSupervisor(st->supervisor, kStopGraceMs);
    }
  }
  // Anything still inside the pod's namespace (e.g. left by `ambitctl exec`).
  if (!pod.netns_path.empty()) {
    cluster::TerminateProcesses(cluster::FindClusterProcesses("", {pod.netns_path}), 2000);
  }
  if (!pod.cni_result.empty() || !pod.ip.empty()) {
    auto chain = ChainFor(pod.node);
    if (chain.ok()) {
      auto del = (*chain)->Del(CniPodOf(pod), pod.cni_result);
      if (!del.ok()) first = std::move(del).error();
    }
  }
  const std::string netns_name = layout_.PodNetnsName(pod.ns, pod.name);
  if (auto s = cluster::DeleteNetns(netns_name); !s.ok() && !first) first = std::move(s).error();
  std::error_code ec;
  std::filesystem::remove_all(PodDir(pod), ec);
  if (ec && !first) first = Error(ErrorCode::kIo, "removing " + PodDir(pod) + ": " + ec.message());
  if (first) return std::move(*first).WithContext("removing pod " + pod.ns + "/" + pod.name);
  AMBIT_LOG_INFO("pod {}/{} removed", pod.ns, pod.name);
  return Ok();
}

void PodRuntime::KillOrphanedContainer(const RealizedPod& pod, pid_t pid) const {
  // The container outlived its supervisor; it is only ours if it is still in
  // the pod's network namespace (the pid may have been reused otherwise).
  struct stat mine {
  }, theirs{};
  if (::stat(pod.netns_path.c_str(), &mine) != 0) return;
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &theirs) != 0) return;
  if (mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino) return;
  ::kill(-pid, SIGKILL);  // its process group
  ::kill(pid, SIGKILL);
}

int PodRuntime::EnsureSupervisors(const RealizedPod& pod) {
  int started = 0;
  for (const auto& c : pod.containers) {
    auto st = cluster::ReadContainerStatus(StatusFile(pod, c));
    if (st && (st->final || cluster::IsAlive(st->supervisor))) continue;
    if (!st) {
      // Never reported: maybe still starting. Give it a moment before acting.
      struct stat info {};
      if (::stat(SpecFile(pod, c).c_str(), &info) == 0 && ::time(nullptr) - info.st_mtime < 5) {
        continue;
      }
    }
    AMBIT_LOG_WARN("supervisor of {}/{}/{} is gone; starting it again", pod.ns, pod.name, c);
    if (st && st->pid > 0) KillOrphanedContainer(pod, st->pid);
    auto id = cluster::StartSupervisor(self_exe_, SpecFile(pod, c), layout_.name());
    if (id.ok())
      ++started;
    else
      AMBIT_LOG_ERROR("{}", id.error().ToString());
  }
  return started;
}

std::vector<cluster::ContainerStatus> PodRuntime::ContainerStatuses(const RealizedPod& pod) const {
  std::vector<cluster::ContainerStatus> out;
  for (const auto& c : pod.containers) {
    auto st = cluster::ReadContainerStatus(StatusFile(pod, c));
    out.push_back(st.value_or(cluster::ContainerStatus{}));
  }
  return out;
}

bool PodRuntime::Listening(pid_t pid, int port) {
  auto netns = Netns::Open("/proc/" + std::to_string(pid) + "/ns/net");
  if (!netns.ok()) return false;  // the process is gone: not ready
  auto listening = net::TcpPortListening(*netns, static_cast<std::uint16_t>(port));
  if (!listening.ok()) {
    AMBIT_LOG_WARN("readiness of port {} (pid {}): {}", port, pid, listening.error().ToString());
    return false;
  }
  return *listening;
}

}  // namespace ambit::control
