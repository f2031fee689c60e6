#include "ctl/cluster_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ambit/v1/cluster.pb.h"
#include "cluster/cluster_config.h"
#include "cluster/cni.h"
#include "cluster/process.h"
#include "cluster/subprocess.h"
#include "cluster/teardown.h"
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
  cluster::ClusterLayout layout(name);
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
    AMBIT_RETURN_IF_ERROR(cluster::SaveClusterConfig(layout, config));
    created = true;
  }

  auto daemon = cluster::ReadPidFile(layout.PidFile());
  if (daemon && cluster::IsAlive(*daemon)) {
    auto client = ClusterClient::Connect(layout, 3000);
    if (client.ok()) {
      auto info = (*client)->GetInfo();
      if (info.ok() && info->ready()) return Ok();
    }
    return Error(ErrorCode::kUnavailable,
                 "ambitd of cluster '" + name + "' (pid " + std::to_string(daemon->pid) +
                     ") runs but does not answer; see " + layout.DaemonLog());
  }
  Status started = StartAndWait(layout, ambitd);
  if (!started.ok() && created) {
    (void)cluster::TeardownCluster(layout);
  }
  return started;
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
