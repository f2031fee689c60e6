#include "cluster/teardown.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "cluster/process.h"
#include "cluster/topology.h"

namespace ambit::cluster {

bool ClusterExists(const ClusterLayout& layout) {
  struct stat st {};
  if (::stat(layout.StateDir().c_str(), &st) == 0) return true;
  return !ListNetns(layout.NetnsPrefix()).empty();
}

Status TeardownCluster(const ClusterLayout& layout) {
  std::optional<Error> first;
  auto note = [&](Status s) {
    if (!s.ok() && !first) first = std::move(s).error();
  };

  // ambitd first, so it does not restart what we stop next.
  if (auto daemon = ReadPidFile(layout.PidFile()); daemon && IsAlive(*daemon)) {
    TerminateProcesses({daemon->pid}, 5000);
  }
  std::vector<std::string> netns = ListNetns(layout.NetnsPrefix());
  std::vector<std::string> paths;
  for (const auto& n : netns) paths.push_back(ClusterLayout::NetnsPath(n));
  // Two rounds: a supervisor might start a process while the first round runs.
  for (int round = 0; round < 2; ++round) {
    auto pids = FindClusterProcesses(layout.name(), paths);
    if (pids.empty()) break;
    TerminateProcesses(pids, 3000);
  }
  // Pods, then nodes, then the fabric (order only matters for readability of errors).
  std::sort(netns.begin(), netns.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& n) {
      if (n == layout.FabricNetnsName()) return 2;
      if (n.rfind(layout.NetnsPrefix() + "pod-", 0) == 0) return 0;
      return 1;
    };
    return rank(a) < rank(b) || (rank(a) == rank(b) && a < b);
  });
  for (const auto& n : netns) note(DeleteNetns(n));

  std::error_code ec;
  std::filesystem::remove_all(layout.StateDir(), ec);
  if (ec) {
    note(Error(ErrorCode::kIo, "removing " + layout.StateDir() + ": " + ec.message()));
  }
  if (first) return std::move(*first).WithContext("tearing down cluster " + layout.name());
  return Ok();
}

}  // namespace ambit::cluster
