// The container supervisor: one small process per container that keeps the
// container's command running inside the pod sandbox, restarts it as its
// restartPolicy says, and reports through a status file. Supervisors run in their
// own session, detached from ambitd, so pods keep running while ambitd restarts;
// a restarted ambitd finds them again through their status files.
//
// Files (all paths given in the spec):
//   spec   JSON written by ambitd before start (ContainerSpec)
//   status JSON rewritten atomically by the supervisor (ContainerStatus)
//   log    the container's stdout+stderr, appended
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/process.h"
#include "cluster/sandbox.h"
#include "core/result.h"

namespace ambit::cluster {

struct ContainerSpec {
  std::string cluster;
  std::string pod_namespace;
  std::string pod_name;
  std::string name;
  std::vector<std::string> argv;  // argv[0] resolved on this machine's PATH
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;                // "" = /
  std::string restart_policy = "Always";  // Always | OnFailure | Never
  PodSandbox sandbox;
  std::string log_file;
  std::string status_file;
};

std::string ContainerSpecToJson(const ContainerSpec& spec);
Result<ContainerSpec> ContainerSpecFromJson(const std::string& text);

enum class ContainerState { kWaiting, kRunning, kTerminated };
std::string_view ToString(ContainerState state);

struct ContainerStatus {
  ProcessId supervisor;
  ContainerState state = ContainerState::kWaiting;
  pid_t pid = 0;  // the container's main process while running
  int restarts = 0;
  int exit_code = -1;   // of the last exit; -1 = never exited
  bool final = false;   // terminated and will not be restarted
  std::string message;  // e.g. why it could not start
};

std::string ContainerStatusToJson(const ContainerStatus& status);
std::optional<ContainerStatus> ReadContainerStatus(const std::string& status_file);

// Starts a detached supervisor: `<self_exe> supervise <spec_file>`, in a new
// session with AMBIT_CLUSTER=<cluster> set, its own output appended to
// <spec_file>.log. Returns once the supervisor has started.
Result<ProcessId> StartSupervisor(const std::string& self_exe, const std::string& spec_file,
                                  const std::string& cluster);

// Asks a supervisor to stop its container (SIGTERM, then SIGKILL after
// |grace_ms|) and waits for it to exit.
void StopSupervisor(const ProcessId& supervisor, int grace_ms);

// The supervisor's main: runs until told to stop or the container finished for
// good. Returns the process exit code.
int RunSupervisor(const std::string& spec_file);

}  // namespace ambit::cluster
