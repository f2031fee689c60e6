#include "cluster/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/unique_fd.h"

namespace ambit::cluster {
namespace {

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

Result<std::pair<UniqueFd, UniqueFd>> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

}  // namespace

std::optional<std::string> FindExecutable(const std::string& program) {
  if (program.empty()) return std::nullopt;
  auto is_exec = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    if (is_exec(program)) return program;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (is_exec(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const CommandOptions& options) {
  if (argv.empty()) return Error(ErrorCode::kInvalidArgument, "empty command");
  UniqueFd netns;
  if (!options.netns.empty()) {
    int fd = ::open(options.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening network namespace " + options.netns, errno);
    netns.reset(fd);
  }
  AMBIT_ASSIGN_OR_RETURN(auto in_pipe, MakePipe());
  AMBIT_ASSIGN_OR_RETURN(auto out_pipe, MakePipe());
  AMBIT_ASSIGN_OR_RETURN(auto err_pipe, MakePipe());

  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::string> env_storage;
  std::vector<char*> cenv;
  if (options.env) {
    for (const auto& [k, v] : *options.env) env_storage.push_back(k + "=" + v);
    for (auto& e : env_storage) cenv.push_back(e.data());
    cenv.push_back(nullptr);
  }
  auto resolved = FindExecutable(argv[0]);
  if (!resolved) {
    return Error(ErrorCode::kNotFound, "command not found: " + argv[0]);
  }

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork", errno);
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    if (netns.valid() && ::setns(netns.get(), CLONE_NEWNET) != 0) _exit(126);
    ::dup2(in_pipe.first.get(), 0);
    ::dup2(out_pipe.second.get(), 1);
    ::dup2(err_pipe.second.get(), 2);
    if (options.env) {
      ::execve(resolved->c_str(), cargv.data(), cenv.data());
    } else {
      ::execv(resolved->c_str(), cargv.data());
    }
    _exit(127);
  }
  in_pipe.first.reset();
  out_pipe.second.reset();
  err_pipe.second.reset();

  CommandResult result;
  const std::string& input = options.stdin_data;
  size_t written = 0;
  if (input.empty()) in_pipe.second.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  bool timed_out = false;
  ::fcntl(in_pipe.second.get(), F_SETFL, O_NONBLOCK);
  while (out_pipe.first.valid() || err_pipe.first.valid()) {
    pollfd fds[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out_pipe.first.valid()) {
      fds[n] = {out_pipe.first.get(), POLLIN, 0};
      idx_out = n++;
    }
    if (err_pipe.first.valid()) {
      fds[n] = {err_pipe.first.get(), POLLIN, 0};
      idx_err = n++;
    }
    if (in_pipe.second.valid()) {
      fds[n] = {in_pipe.second.get(), POLLOUT, 0};
      idx_in = n++;
    }
    int wait_ms = -1;
    if (options.timeout_seconds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    int rc = ::poll(fds, n, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    char buf[8192];
    auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got > 0)
        sink.append(buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR)
        fd.reset();
    };
    drain(idx_out, out_pipe.first, result.out);
    drain(idx_err, err_pipe.first, result.err);
    if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(in_pipe.second.get(), input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      if (put < 0 && errno != EAGAIN && errno != EINTR) in_pipe.second.reset();
      if (written >= input.size()) in_pipe.second.reset();
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Error(ErrorCode::kTimeout, "command timed out after " +
                                          std::to_string(options.timeout_seconds) +
                                          "s: " + JoinArgv(argv));
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  if (result.exit_code == 126 && netns.valid() && result.err.empty()) {
    return Error(ErrorCode::kIo,
                 "could not enter network namespace " + options.netns + " to run " + argv[0]);
  }
  return result;
}

Result<std::string> RunChecked(const std::vector<std::string>& argv,
                               const CommandOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, options));
  if (r.exit_code != 0) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    std::string where = options.netns.empty() ? "" : " (in " + options.netns + ")";
    return Error(ErrorCode::kIo, "`" + JoinArgv(argv) + "`" + where + " exited with " +
                                     std::to_string(r.exit_code) + (err.empty() ? "" : ": " + err));
  }
  return std::move(r.out);
}

}  // namespace ambit::cluster
