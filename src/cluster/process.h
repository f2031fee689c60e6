// Identifying and stopping processes of a cluster that may outlive the process
// that started them (ambitd, container supervisors, containers).
//
// A pid alone can be reused; a ProcessId pairs it with the process start time
// (field 22 of /proc/<pid>/stat) so a stale pidfile never names a stranger.
// Every process a cluster starts carries AMBIT_CLUSTER=<name> in its environment.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::cluster {

inline constexpr char kClusterEnv[] = "AMBIT_CLUSTER";

struct ProcessId {
  pid_t pid = 0;
  unsigned long long start_time = 0;
};

// The identity of a running process, or nullopt if it does not exist.
std::optional<ProcessId> IdentifyProcess(pid_t pid);
// True if |id| still names the same running (non-zombie) process.
bool IsAlive(const ProcessId& id);

// "<pid> <starttime>\n" written atomically to |path|, and read back.
Status WritePidFile(const std::string& path, const ProcessId& id);
std::optional<ProcessId> ReadPidFile(const std::string& path);

// Processes (other than the caller) that carry AMBIT_CLUSTER=|cluster| (unless
// |cluster| is empty) or whose network namespace is one of |netns_paths|.
std::vector<pid_t> FindClusterProcesses(const std::string& cluster,
                                        const std::vector<std::string>& netns_paths);

// SIGTERM to each, then SIGKILL to whatever is left after |grace_ms|.
void TerminateProcesses(const std::vector<pid_t>& pids, int grace_ms);

// Starts |argv| (argv[0] an absolute path) detached from the caller: in a new
// session, re-parented to init, stdin from /dev/null, stdout+stderr appended to
// |log_file|, with AMBIT_CLUSTER=|cluster| added to the caller's environment.
// Returns once the process exists (not once it is ready).
Result<ProcessId> SpawnDetached(const std::vector<std::string>& argv, const std::string& cluster,
                                const std::string& log_file);

// Writes |content| to |path| via a temporary file and rename (readers see old or new).
Status WriteFileAtomic(const std::string& path, const std::string& content);
// Rewrites |path| in place (same inode; bind mounts of it see the change).
Status WriteFileInPlace(const std::string& path, const std::string& content);
Result<std::string> ReadFile(const std::string& path);

}  // namespace ambit::cluster
