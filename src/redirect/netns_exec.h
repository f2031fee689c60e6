// Runs a command inside a given network namespace: fork, setns in the child,
// exec. The calling thread's own namespace is never changed, so this is safe
// from any thread (including event-loop threads, though it blocks).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ambit::redirect {

struct CommandOutput {
  int exit_code = 0;  // exit status, or 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs |argv| (argv[0] looked up on PATH) inside the namespace |netns_fd|
// (-1: the caller's), feeding |input| on stdin and collecting stdout/stderr.
// A non-zero exit is NOT an error here (callers decide); errors are failures to
// run at all (missing binary, setns refused, timeout — the child is killed).
Result<CommandOutput> RunInNetns(int netns_fd, const std::vector<std::string>& argv, std::string_view input = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// "nft -f -" — argv joined for messages.
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace ambit::redirect
