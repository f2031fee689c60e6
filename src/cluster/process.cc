#include "cluster/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace ambit::cluster {
namespace {

std::optional<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fields of /proc/<pid>/stat after the ")" that ends the command name.
std::optional<std::vector<std::string>> StatFields(pid_t pid) {
  auto stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 2));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f) fields.push_back(f);
  return fields;  // fields[0] = state (field 3), fields[19] = starttime (field 22)
}

}  // namespace

std::optional<ProcessId> IdentifyProcess(pid_t pid) {
  auto fields = StatFields(pid);
  if (!fields || fields->size() < 20) return std::nullopt;
  if ((*fields)[0] == "Z" || (*fields)[0] == "X") return std::nullopt;
  return ProcessId{pid, std::stoull((*fields)[19])};
}

bool IsAlive(const ProcessId& id) {
  if (id.pid <= 0) return false;
  auto now = IdentifyProcess(id.pid);
  return now && now->start_time == id.start_time;
}

Status WritePidFile(const std::string& path, const ProcessId& id) {
  return WriteFileAtomic(path, std::to_string(id.pid) + " " + std::to_string(id.start_time) + "\n");
}

std::optional<ProcessId> ReadPidFile(const std::string& path) {
  auto text = Slurp(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  ProcessId id;
  if (!(in >> id.pid >> id.start_time) || id.pid <= 0) return std::nullopt;
  return id;
}

std::vector<pid_t> FindClusterProcesses(const std::string& cluster,
                                        const std::vector<std::string>& netns_paths) {
  std::set<std::pair<dev_t, ino_t>> netns_ids;
  for (const auto& p : netns_paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) netns_ids.insert({st.st_dev, st.st_ino});
  }
  const std::string marker = std::string(kClusterEnv) + "=" + cluster;
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (!proc) return found;
  const pid_t self = ::getpid();
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    const std::string base = std::string("/proc/") + e->d_name;
    bool match = false;
    struct stat st {};
    if (!netns_ids.empty() && ::stat((base + "/ns/net").c_str(), &st) == 0 &&
        netns_ids.count({st.st_dev, st.st_ino})) {
      match = true;
    }
    if (!match && !cluster.empty()) {
      if (auto env = Slurp(base + "/environ")) {
        size_t pos = 0;
        while (pos < env->size()) {
          size_t nul = env->find('\0', pos);
          if (nul == std::string::npos) nul = env->size();
          if (env->compare(pos, nul - pos, marker) == 0) {
            match = true;
            break;
          }
          pos = nul + 1;
        }
      }
    }
    if (match && IdentifyProcess(static_cast<pid_t>(pid))) found.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return found;
}

void TerminateProcesses(const std::vector<pid_t>& pids, int grace_ms) {
  std::vector<ProcessId> ids;
  for (pid_t p : pids) {
    if (auto id = IdentifyProcess(p)) {
      ids.push_back(*id);
      ::kill(p, SIGTERM);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (const auto& id : ids) any = any || IsAlive(id);
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& id : ids) {
    if (IsAlive(id)) ::kill(id.pid, SIGKILL);
  }
  // Give the kernel a moment to reap (their parents or init do).
  for (int i = 0; i < 40; ++i) {
    bool any = false;
    for (const auto& id : ids) any = any || IsAlive(id);
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<ProcessId> SpawnDetached(const std::vector<std::string>& argv_in, const std::string& cluster,
                                const std::string& log_file) {
  if (argv_in.empty()) return Error(ErrorCode::kInvalidArgument, "empty command");
  // Prepare everything before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> args = argv_in;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string marker = std::string(kClusterEnv) + "=";
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, marker.c_str(), marker.size()) != 0) env_storage.emplace_back(*e);
  }
  env_storage.push_back(marker + cluster);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string& log = log_file;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return ErrnoError("fork", errno);
  }
  if (child == 0) {
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) {
      ssize_t ignored = ::write(pipe_fds[1], &grandchild, sizeof grandchild);
      (void)ignored;
      _exit(grandchild > 0 ? 0 : 1);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(pipe_fds[1]);
  pid_t grandchild = -1;
  ssize_t n;
  do {
    n = ::read(pipe_fds[0], &grandchild, sizeof grandchild);
  } while (n < 0 && errno == EINTR);
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof grandchild || grandchild <= 0) {
    return Error(ErrorCode::kIo, "starting " + args[0] + " failed");
  }
  auto id = IdentifyProcess(grandchild);
  if (!id) {
    return Error(ErrorCode::kIo, args[0] + " exited at once; see " + log);
  }
  return *id;
}

Status WriteFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating " + tmp, errno);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError("writing " + tmp, err);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("flushing " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("renaming " + tmp + " to " + path, err);
  }
  return Ok();
}

Status WriteFileInPlace(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("opening " + path, errno);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError("writing " + path, err);
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  auto text = Slurp(path);
  if (!text) return ErrnoError("reading " + path, errno ? errno : ENOENT);
  return *text;
}

}  // namespace ambit::cluster
