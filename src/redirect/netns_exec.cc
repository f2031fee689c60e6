#include "redirect/netns_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/unique_fd.h"

extern char** environ;

namespace ambit::redirect {
namespace {

Result<std::string> FindOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  // Tools like nft and ip live in sbin, which a non-login PATH may lack.
  path += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return Error(ErrorCode::kNotFound, "command not found on PATH: " + name);
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Child side, between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecChild(int netns_fd, const Pipe& in, const Pipe& out, const Pipe& err, const Pipe& status,
                            const char* path, char* const* argv) {
  struct Failure {
    int stage;
    int error;
  };
  auto fail = [&](int stage) {
    Failure f{stage, errno};
    ssize_t n = ::write(status.write.get(), &f, sizeof(f));
    (void)n;
    ::_exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) fail(1);
  if (::dup2(in.read.get(), 0) < 0 || ::dup2(out.write.get(), 1) < 0 || ::dup2(err.write.get(), 2) < 0) fail(2);
  ::execve(path, argv, environ);
  fail(3);
  ::_exit(127);
}

}  // namespace

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    line += a;
  }
  return line;
}

Result<CommandOutput> RunInNetns(int netns_fd, const std::vector<std::string>& argv, std::string_view input,
                                 std::chrono::milliseconds timeout) {
  if (argv.empty()) return Error(ErrorCode::kInvalidArgument, "RunInNetns: empty command");
  AMBIT_ASSIGN_OR_RETURN(std::string path, FindOnPath(argv[0]));
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  AMBIT_ASSIGN_OR_RETURN(Pipe in, MakePipe());
  AMBIT_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  AMBIT_ASSIGN_OR_RETURN(Pipe err, MakePipe());
  AMBIT_ASSIGN_OR_RETURN(Pipe status, MakePipe());

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork for `" + CommandLine(argv) + "`", errno);
  if (pid == 0) ExecChild(netns_fd, in, out, err, status, path.c_str(), cargv.data());

  in.read.reset();
  out.write.reset();
  err.write.reset();
  status.write.reset();
  for (int fd : {in.write.get(), out.read.get(), err.read.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  if (input.empty()) in.write.reset();

  // Writing to a child that exited raises SIGPIPE: block it on this thread for
  // the duration and swallow a pending one afterwards.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  bool got_sigpipe = false;

  CommandOutput result;
  size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (out.read.valid() || err.read.valid()) {
    pollfd fds[3];
    nfds_t n = 0;
    if (in.write.valid()) fds[n++] = {in.write.get(), POLLOUT, 0};
    if (out.read.valid()) fds[n++] = {out.read.get(), POLLIN, 0};
    if (err.read.valid()) fds[n++] = {err.read.get(), POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int rc = ::poll(fds, n, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.write.get()) {
        ssize_t w = ::write(in.write.get(), input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno == EPIPE) got_sigpipe = true;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in.write.reset();
        continue;
      }
      UniqueFd& src = fds[i].fd == out.read.get() ? out.read : err.read;
      std::string& dst = fds[i].fd == out.read.get() ? result.out : result.err;
      char buf[4096];
      ssize_t r = ::read(src.get(), buf, sizeof(buf));
      if (r > 0) {
        dst.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        src.reset();
      }
    }
  }
  in.write.reset();
  if (got_sigpipe) {
    timespec zero{0, 0};
    ::sigtimedwait(&pipe_set, nullptr, &zero);
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);

  if (timed_out) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }

  struct {
    int stage;
    int error;
  } failure{0, 0};
  if (::read(status.read.get(), &failure, sizeof(failure)) == static_cast<ssize_t>(sizeof(failure))) {
    const char* what = failure.stage == 1 ? "entering the network namespace" : failure.stage == 2 ? "setting up stdio"
                                                                                                   : "exec";
    return ErrnoError("running `" + CommandLine(argv) + "`: " + what, failure.error);
  }
  if (timed_out) {
    return Error(ErrorCode::kTimeout, "`" + CommandLine(argv) + "` did not finish within " +
                                          std::to_string(timeout.count()) + " ms (killed)");
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

}  // namespace ambit::redirect
