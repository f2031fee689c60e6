#include "ctl/cluster_commands.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ambit/v1/cluster.pb.h"
#include "cluster/cluster_config.h"
#include "cluster/cni.h"
#include "cluster/process.h"
#include "cluster/subprocess.h"
#include "cluster/teardown.h"
#include "config/kube.h"
#include "config/mesh_config.h"
#include "config/parse.h"
#include "core/unique_fd.h"
#include "ctl/client.h"

namespace ambit::ctl {
namespace {

std::string Tail(const std::string& path, size_t lines) {
  auto text = cluster::ReadFile(path);
  if (!text.ok()) return "";
  std::string s = *text;
  size_t pos = s.size();
  size_t count = 0;
  while (pos > 0 && count <= lines) {
    pos = s.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
    ++count;
  }
  return s.substr(pos);
}

// Applies |manifest| (and Namespace istio-system when the store has none).
Status ApplyMeshConfig(const cluster::ClusterLayout& layout, const std::string& file,
                       const std::string& manifest) {
  AMBIT_ASSIGN_OR_RETURN(auto client, ClusterClient::Connect(layout));
  AMBIT_ASSIGN_OR_RETURN(auto namespaces, client->ListResources("Namespace", ""));
  bool have_ns = false;
  for (const auto& text : namespaces.objects()) {
    auto o = nlohmann::json::parse(text, nullptr, false);
    have_ns = have_ns || (o.is_object() && o["metadata"].value("name", "") == config::kIstioSystemNamespace);
  }
  ambit::v1::ManifestRequest req;
  if (!have_ns) {
    auto* ns = req.add_manifests();
    ns->set_source("--mesh-config (namespace)");
    ns->set_content(nlohmann::json{{"apiVersion", "v1"},
                                   {"kind", "Namespace"},
                                   {"metadata", {{"name", config::kIstioSystemNamespace}}}}
                        .dump());
  }
  auto* m = req.add_manifests();
  m->set_source(file);
  m->set_content(manifest);
  auto resp = client->Apply(req);
  if (!resp.ok()) return std::move(resp).error().WithContext("--mesh-config " + file);
  for (const auto& w : resp->warnings()) std::cout << w << "\n";
  std::cout << std::flush;
  return Ok();
}

Status StartAndWait(const cluster::ClusterLayout& layout, const std::string& ambitd) {
  auto found = cluster::FindExecutable(ambitd);
  if (!found) return Error(ErrorCode::kNotFound, "ambitd binary not found: " + ambitd);
  const std::string binary = std::filesystem::absolute(*found).string();
  AMBIT_ASSIGN_OR_RETURN(cluster::ProcessId daemon,
                         cluster::SpawnDetached({binary, "--cluster", layout.name()}, layout.name(),
                                                layout.DaemonLog()));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!cluster::IsAlive(daemon)) {
      return Error(ErrorCode::kUnavailable, "ambitd exited during start-up; last lines of " +
                                                layout.DaemonLog() + ":\n" +
                                                Tail(layout.DaemonLog(), 10));
    }
    auto client = ClusterClient::Connect(layout, 500);
    if (client.ok()) {
      auto info = (*client)->GetInfo();
      if (info.ok() && info->ready()) return Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Error(ErrorCode::kTimeout,
               "ambitd did not become ready within 60s; see " + layout.DaemonLog());
}

// A port of 127.0.0.1 free right now (the kernel's pick), for a new
// Prometheus forwarder; ambitd binds it moments later.
Result<int> PickFreeLoopbackPort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError("picking a free port on 127.0.0.1", errno);
  }
  return static_cast<int>(ntohs(addr.sin_port));
}

// Stops a running ambitd (SIGTERM; pods, ztunnels and Prometheus keep running).
Status StopAmbitd(const cluster::ClusterLayout& layout) {
  auto daemon = cluster::ReadPidFile(layout.PidFile());
  if (!daemon || !cluster::IsAlive(*daemon)) return Ok();
  ::kill(daemon->pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (cluster::IsAlive(*daemon)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Error(ErrorCode::kTimeout, "ambitd (pid " + std::to_string(daemon->pid) +
                                            ") did not stop within 15 s; see " + layout.DaemonLog());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Ok();
}

}  // namespace

std::string FindAmbitd() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::filesystem::path sibling =
        std::filesystem::path(std::string(buf, static_cast<size_t>(n))).parent_path() / "ambitd";
    if (::access(sibling.c_str(), X_OK) == 0) return sibling.string();
  }
  return "ambitd";
}

Status ClusterUp(const std::string& name, const UpOptions& options, const std::string& ambitd) {
  const std::optional<int>& nodes = options.nodes;
  AMBIT_RETURN_IF_ERROR(cluster::ValidateClusterName(name));
  if (nodes && (*nodes < 1 || *nodes > cluster::kMaxNodes)) {
    return Error(ErrorCode::kInvalidArgument, "--nodes: expected 1-" +
                                                  std::to_string(cluster::kMaxNodes) + ", got " +
                                                  std::to_string(*nodes));
  }
  if (options.redirect != "nftables" && options.redirect != "iptables") {
    return Error(ErrorCode::kInvalidArgument,
                 "--redirect: expected nftables or iptables, got '" + options.redirect + "'");
  }
  if (!options.revision.empty()) {
    if (std::string bad = cluster::ValidateRevision(options.revision); !bad.empty()) {
      return Error(ErrorCode::kInvalidArgument, "--revision: " + bad);
    }
  }
  std::optional<std::chrono::seconds> cert_ttl;
  if (!options.workload_cert_ttl.empty()) {
    AMBIT_ASSIGN_OR_RETURN(cert_ttl,
                           ParseWorkloadCertTtl(options.workload_cert_ttl, "--workload-cert-ttl"));
  }
  cluster::ClusterLayout layout(name);
  {
    auto existing = cluster::LoadClusterConfig(layout);
    if (existing.ok() && !options.revision.empty() && options.revision != existing->mesh.revision) {
      return Error(ErrorCode::kAlreadyExists,
                   "cluster '" + name + "' exists with revision '" + existing->mesh.revision +
                       "'; remove it first with `ambitctl cluster down`");
    }
  }
  std::string mesh_manifest;
  if (!options.mesh_config.empty()) {
    AMBIT_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(options.mesh_config));
    auto existing = cluster::LoadClusterConfig(layout);
    std::string revision = !options.revision.empty() ? options.revision
                           : existing.ok()           ? existing->mesh.revision
                                                     : std::string(config::kDefaultRevision);
    AMBIT_ASSIGN_OR_RETURN(mesh_manifest, MeshConfigManifest(options.mesh_config, text, revision));
  }
  bool created = false;
  cluster::CniSettings cni;
  if (!options.cni_bin_dirs.empty()) {
    cni.bin_dirs.clear();
    for (const auto& d : options.cni_bin_dirs) {
      cni.bin_dirs.push_back(std::filesystem::absolute(d).lexically_normal().string());
    }
  }
  cni.chained_plugins = options.cni_chain;
  {
    // Validates the chain (JSON objects with a type, binaries present) before anything is made.
    cluster::CniNetwork probe;
    probe.subnet = cluster::ClusterLayout::PodCidr(1);
    auto chain = cluster::CniChain::Create(cni, probe);
    if (!chain.ok()) return std::move(chain).error().WithContext("--cni-chain/--cni-bin-dir");
  }
  const bool cni_given = !options.cni_bin_dirs.empty() || !options.cni_chain.empty();
  auto existing = cluster::LoadClusterConfig(layout);
  if (existing.ok() && cni_given) {
    cluster::ClusterConfig wanted = *existing;
    wanted.cni = cni;
    if (cluster::ClusterConfigToJson(wanted) != cluster::ClusterConfigToJson(*existing)) {
      return Error(ErrorCode::kAlreadyExists,
                   "cluster '" + name + "' exists with other CNI settings (see " +
                       layout.ClusterFile() + "); remove it first with `ambitctl cluster down`");
    }
  }
  if (existing.ok() && !options.ztunnel_args.empty() &&
      options.ztunnel_args != existing->mesh.ztunnel_args) {
    return Error(ErrorCode::kAlreadyExists,
                 "cluster '" + name + "' exists with other ztunnel arguments (see " +
                     layout.ClusterFile() + "); remove it first with `ambitctl cluster down`");
  }
  if (existing.ok() && cert_ttl && *cert_ttl != existing->ca.workload_cert_ttl) {
    return Error(ErrorCode::kAlreadyExists,
                 "cluster '" + name + "' exists with workload certificate TTL " +
                     FormatDurationSeconds(existing->ca.workload_cert_ttl) + ", not " +
                     FormatDurationSeconds(*cert_ttl) + " (see " + layout.ClusterFile() +
                     "); remove it first with `ambitctl cluster down`");
  }
  if (options.prometheus && !cluster::FindExecutable("prometheus")) {
    return Error(ErrorCode::kNotFound,
                 "--prometheus: the prometheus binary is not on PATH; install the Debian package "
                 "prometheus (scripts/install-deps.sh)");
  }
  if (existing.ok()) {
    if (nodes && *nodes != existing->node_count) {
      return Error(ErrorCode::kAlreadyExists,
                   "cluster '" + name + "' exists with " + std::to_string(existing->node_count) +
                       " node(s), not " + std::to_string(*nodes) +
                       "; remove it first with `ambitctl cluster down" +
                       (name == cluster::kDefaultCluster ? std::string() : " --cluster " + name) +
                       "`");
    }
  } else {
    if (cluster::ClusterExists(layout)) {
      return Error(ErrorCode::kAlreadyExists,
                   "leftovers of cluster '" + name + "' exist without " + layout.ClusterFile() +
                       "; remove them with `ambitctl cluster down --cluster " + name + "`");
    }
    std::error_code ec;
    std::filesystem::create_directories(layout.StateDir(), ec);
    if (ec) return Error(ErrorCode::kIo, "creating " + layout.StateDir() + ": " + ec.message());
    ::chmod(layout.StateDir().c_str(), 0700);
    cluster::ClusterConfig config;
    config.name = name;
    config.node_count = nodes.value_or(kDefaultNodes);
    config.cni = cni;
    config.mesh.enabled = !options.no_mesh;
    config.mesh.redirect = options.redirect;
    config.mesh.ztunnel_args = options.ztunnel_args;
    if (!options.revision.empty()) config.mesh.revision = options.revision;
    if (cert_ttl) config.ca.workload_cert_ttl = *cert_ttl;
    if (options.prometheus) {
      config.prometheus.enabled = true;
      AMBIT_ASSIGN_OR_RETURN(config.prometheus.port, PickFreeLoopbackPort());
    }
    AMBIT_RETURN_IF_ERROR(cluster::SaveClusterConfig(layout, config));
    created = true;
  }

  // --prometheus for an existing cluster without one: recorded, and ambitd
  // restarted (it reads cluster.json when it starts; pods keep running).
  bool restart = false;
  if (existing.ok() && options.prometheus && !existing->prometheus.enabled) {
    cluster::ClusterConfig updated = *existing;
    updated.prometheus.enabled = true;
    AMBIT_ASSIGN_OR_RETURN(updated.prometheus.port, PickFreeLoopbackPort());
    AMBIT_RETURN_IF_ERROR(cluster::SaveClusterConfig(layout, updated));
    restart = true;
  }
  if (restart) AMBIT_RETURN_IF_ERROR(StopAmbitd(layout));
  auto daemon = cluster::ReadPidFile(layout.PidFile());
  if (daemon && cluster::IsAlive(*daemon)) {
    auto client = ClusterClient::Connect(layout, 3000);
    if (client.ok()) {
      auto info = (*client)->GetInfo();
      if (info.ok() && info->ready()) {
        if (mesh_manifest.empty()) return Ok();
        return ApplyMeshConfig(layout, options.mesh_config, mesh_manifest);
      }
    }
    return Error(ErrorCode::kUnavailable,
                 "ambitd of cluster '" + name + "' (pid " + std::to_string(daemon->pid) +
                     ") runs but does not answer; see " + layout.DaemonLog());
  }
  Status started = StartAndWait(layout, ambitd);
  if (!started.ok() && created) {
    (void)cluster::TeardownCluster(layout);
  }
  if (!started.ok() || mesh_manifest.empty()) return started;
  return ApplyMeshConfig(layout, options.mesh_config, mesh_manifest);
}

Result<std::string> MeshConfigManifest(const std::string& file, const std::string& text,
                                       const std::string& revision) {
  config::ParseResult manifests = config::ParseManifests(text, file);
  if (manifests.ok() && !manifests.resources.empty() &&
      std::all_of(manifests.resources.begin(), manifests.resources.end(),
                  [](const config::Resource& r) { return std::holds_alternative<config::ConfigMap>(r); })) {
    return text;
  }
  config::MeshConfigResult mesh = config::ParseMeshConfig(text);
  if (!mesh.ok()) {
    std::string message = file + ": not valid Istio MeshConfig (nor ConfigMap manifests):";
    for (const auto& e : mesh.errors) message += "\n  " + (e.path.empty() ? "" : e.path + ": ") + e.message;
    return Error(ErrorCode::kInvalidArgument, message);
  }
  nlohmann::json cm = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata",
                        {{"name", config::MeshConfigMapName(revision)},
                         {"namespace", config::kIstioSystemNamespace}}},
                       {"data", {{config::kMeshConfigKey, text}}}};
  return cm.dump(2) + "\n";
}

Result<std::string> ClusterStatus(const std::string& name) {
  AMBIT_RETURN_IF_ERROR(cluster::ValidateClusterName(name));
  cluster::ClusterLayout layout(name);
  AMBIT_ASSIGN_OR_RETURN(cluster::ClusterConfig config, cluster::LoadClusterConfig(layout));
  auto daemon = cluster::ReadPidFile(layout.PidFile());
  const bool running = daemon && cluster::IsAlive(*daemon);
  std::string out;
  out += "cluster:    " + name + "\n";
  out += "state:      " + layout.StateDir() + "\n";
  out += "ambitd:     " + (running ? "running (pid " + std::to_string(daemon->pid) + ")" : std::string("not running")) + "\n";
  out += "nodes:      " + std::to_string(config.node_count) + "\n";
  out += "mesh:       " + (config.mesh.enabled ? "on (redirect " + config.mesh.redirect + ")" : std::string("off")) + "\n";
  if (config.prometheus.enabled) {
    out += "prometheus: http://127.0.0.1:" + std::to_string(config.prometheus.port) + "/" +
           (running ? "" : " (reachable while ambitd runs)") + "\n";
  } else {
    out += "prometheus: off (cluster up --prometheus turns it on)\n";
  }
  return out;
}

Status ClusterDown(const std::string& name) {
  AMBIT_RETURN_IF_ERROR(cluster::ValidateClusterName(name));
  cluster::ClusterLayout layout(name);
  if (!cluster::ClusterExists(layout)) {
    return Error(ErrorCode::kNotFound, "cluster '" + name + "' does not exist");
  }
  return cluster::TeardownCluster(layout);
}

}  // namespace ambit::ctl
