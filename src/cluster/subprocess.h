// Running helper programs (ip, nft, CNI plugins) and capturing their output.
//
// Thread-safe: each call forks its own child. The child may be placed in a
// network namespace first (setns before exec), so a tool runs "inside" a node
// or pod without touching the caller's namespace.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::cluster {

struct CommandOptions {
  // Network namespace file to enter before exec (empty = stay where we are).
  std::string netns;
  // Written to the child's stdin, then stdin is closed.
  std::string stdin_data;
  // Replaces the environment when set; otherwise the caller's is inherited.
  std::optional<std::map<std::string, std::string>> env;
  // Kill the child after this many seconds (0 = no limit).
  int timeout_seconds = 30;
};

struct CommandResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) and waits. An error means the command could not
// be started or timed out; a non-zero exit is returned as a value.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& options = {});

// Like RunCommand, but a non-zero exit becomes an error carrying the command line
// and its stderr. Returns stdout.
Result<std::string> RunChecked(const std::vector<std::string>& argv,
                               const CommandOptions& options = {});

// Finds |program| as exec would: as a path if it contains '/', else in $PATH.
// Returns the resolved path or an empty optional.
std::optional<std::string> FindExecutable(const std::string& program);

}  // namespace ambit::cluster
