#include "cluster/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/subprocess.h"
#include "core/unique_fd.h"

namespace ambit::cluster {

using nlohmann::json;

std::string_view ToString(ContainerState state) {
  switch (state) {
    case ContainerState::kWaiting:
      return "waiting";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kTerminated:
      return "terminated";
  }
  return "unknown";
}

std::string ContainerSpecToJson(const ContainerSpec& s) {
  json env = json::array();
  for (const auto& [k, v] : s.env) env.push_back({{"name", k}, {"value", v}});
  json j = {{"cluster", s.cluster},
            {"podNamespace", s.pod_namespace},
            {"podName", s.pod_name},
            {"name", s.name},
            {"argv", s.argv},
            {"env", env},
            {"workingDir", s.working_dir},
            {"restartPolicy", s.restart_policy},
            {"sandbox",
             {{"netns", s.sandbox.netns_path},
              {"hosts", s.sandbox.hosts_file},
              {"resolv", s.sandbox.resolv_file},
              {"tmp", s.sandbox.tmp_dir},
              {"hostname", s.sandbox.hostname}}},
            {"logFile", s.log_file},
            {"statusFile", s.status_file}};
  return j.dump(2);
}

Result<ContainerSpec> ContainerSpecFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "container spec is not a JSON object");
  }
  try {
    ContainerSpec s;
    s.cluster = j.at("cluster").get<std::string>();
    s.pod_namespace = j.at("podNamespace").get<std::string>();
    s.pod_name = j.at("podName").get<std::string>();
    s.name = j.at("name").get<std::string>();
    s.argv = j.at("argv").get<std::vector<std::string>>();
    for (const auto& e : j.at("env")) {
      s.env.emplace_back(e.at("name").get<std::string>(), e.at("value").get<std::string>());
    }
    s.working_dir = j.value("workingDir", "");
    s.restart_policy = j.value("restartPolicy", "Always");
    const auto& sb = j.at("sandbox");
    s.sandbox = {sb.at("netns").get<std::string>(), sb.at("hosts").get<std::string>(),
                 sb.at("resolv").get<std::string>(), sb.value("tmp", ""), sb.value("hostname", "")};
    s.log_file = j.at("logFile").get<std::string>();
    s.status_file = j.at("statusFile").get<std::string>();
    if (s.argv.empty()) return Error(ErrorCode::kInvalidArgument, "container spec has no argv");
    return s;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("container spec: ") + e.what());
  }
}

std::string ContainerStatusToJson(const ContainerStatus& s) {
  json j = {{"supervisorPid", s.supervisor.pid},
            {"supervisorStart", s.supervisor.start_time},
            {"state", std::string(ToString(s.state))},
            {"pid", s.pid},
            {"restarts", s.restarts},
            {"exitCode", s.exit_code},
            {"final", s.final},
            {"message", s.message}};
  return j.dump();
}

std::optional<ContainerStatus> ReadContainerStatus(const std::string& status_file) {
  auto text = ReadFile(status_file);
  if (!text.ok()) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  ContainerStatus s;
  s.supervisor.pid = j.value("supervisorPid", 0);
  s.supervisor.start_time = j.value("supervisorStart", 0ULL);
  std::string state = j.value("state", "waiting");
  s.state = state == "running"      ? ContainerState::kRunning
            : state == "terminated" ? ContainerState::kTerminated
                                    : ContainerState::kWaiting;
  s.pid = j.value("pid", 0);
  s.restarts = j.value("restarts", 0);
  s.exit_code = j.value("exitCode", -1);
  s.final = j.value("final", false);
  s.message = j.value("message", "");
  return s;
}

Result<ProcessId> StartSupervisor(const std::string& self_exe, const std::string& spec_file,
                                  const std::string& cluster) {
  auto id = SpawnDetached({self_exe, "supervise", spec_file}, cluster, spec_file + ".log");
  if (!id.ok())
    return std::move(id).error().WithContext("starting the supervisor for " + spec_file);
  return id;
}

void StopSupervisor(const ProcessId& supervisor, int grace_ms) {
  if (!IsAlive(supervisor)) return;
  ::kill(supervisor.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms + 2000);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!IsAlive(supervisor)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The supervisor did not finish; kill its whole session.
  ::kill(-supervisor.pid, SIGKILL);
  ::kill(supervisor.pid, SIGKILL);
}

namespace {

constexpr int kStopGraceSeconds = 5;

class Supervisor {
 public:
  explicit Supervisor(ContainerSpec spec) : spec_(std::move(spec)) {
    status_.supervisor = *IdentifyProcess(::getpid());
  }

  int Run() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    // The command as the machine sees it, opened before the pod's /tmp is
    // mounted over the machine's: a binary of a build tree under /tmp (e.g.
    // ambitd's own waypoint) stays runnable. The pod's view wins when both
    // have the command (a pod's /tmp is its own).
    if (auto host = FindExecutable(spec_.argv[0])) {
      host_binary_ = UniqueFd(::open(host->c_str(), O_PATH | O_CLOEXEC));
    }
    auto entered = EnterPodSandbox(spec_.sandbox);
    if (!entered.ok()) return Fail("cannot enter the pod sandbox: " + entered.error().ToString());
    if (auto binary = FindExecutable(spec_.argv[0])) {
      binary_ = *binary;
      host_binary_ = UniqueFd();
    } else if (!host_binary_.valid()) {
      return Fail("command not found: " + spec_.argv[0]);
    }

    for (;;) {
      if (!Start()) return Fail(status_.message);
      int code = WaitForExit();
      if (stopping_) return Finish(code);
      bool again =
          spec_.restart_policy == "Always" || (spec_.restart_policy == "OnFailure" && code != 0);
      if (!again) return Finish(code);
      status_.state = ContainerState::kWaiting;
      status_.pid = 0;
      Publish();
      // Back off 1s, 2s, 4s ... up to 10s between restarts.
      int delay = std::min(10, 1 << std::min(status_.restarts, 4));
      if (SleepUnlessStopped(delay)) return Finish(code);
      ++status_.restarts;
    }
  }

 private:
  bool Start() {
    std::vector<std::string> env_storage;
    bool has_path = false;
    for (const auto& [k, v] : spec_.env) has_path = has_path || k == "PATH";
    if (!has_path) {
      env_storage.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }
    env_storage.push_back("HOSTNAME=" + spec_.pod_name);
    env_storage.push_back("HOME=/root");
    env_storage.push_back(std::string(kClusterEnv) + "=" + spec_.cluster);
    for (const auto& [k, v] : spec_.env) env_storage.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = spec_.argv;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string dir = spec_.working_dir.empty() ? "/" : spec_.working_dir;

    int log = ::open(spec_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) {
      status_.message = "cannot open log " + spec_.log_file + ": " + std::strerror(errno);
      return false;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log);
      status_.message = std::string("fork: ") + std::strerror(errno);
      return false;
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      if (::chdir(dir.c_str()) != 0) {
        dprintf(2, "ambit: cannot change to working directory %s: %s\n", dir.c_str(),
                std::strerror(errno));
        _exit(126);
      }
      if (host_binary_.valid()) {
        ::fexecve(host_binary_.get(), argv.data(), envp.data());
      } else {
        ::execve(binary_.c_str(), argv.data(), envp.data());
      }
      dprintf(2, "ambit: cannot execute %s: %s\n", spec_.argv[0].c_str(), std::strerror(errno));
      _exit(127);
    }
    ::setpgid(pid, pid);  // also from the parent, to close the race with kill(-pid)
    ::close(log);
    child_ = pid;
    status_.state = ContainerState::kRunning;
    status_.pid = pid;
    status_.message.clear();
    Publish();
    return true;
  }

  // Waits for the container's main process; handles stop requests meanwhile.
  int WaitForExit() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
    auto kill_deadline = std::chrono::steady_clock::time_point::max();
    for (;;) {
      int status = 0;
      pid_t done = ::waitpid(child_, &status, WNOHANG);
      if (done == child_) {
        ::kill(-child_, SIGKILL);  // whatever the container left behind in its group
        child_ = 0;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return -1;
      }
      timespec timeout{0, 200 * 1000 * 1000};
      int sig = ::sigtimedwait(&set, nullptr, &timeout);
      if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
        if (!stopping_) {
          stopping_ = true;
          ::kill(-child_, SIGTERM);
          kill_deadline =
              std::chrono::steady_clock::now() + std::chrono::seconds(kStopGraceSeconds);
        }
      }
      if (stopping_ && std::chrono::steady_clock::now() >= kill_deadline) {
        ::kill(-child_, SIGKILL);
        kill_deadline = std::chrono::steady_clock::time_point::max();
      }
    }
  }

  // True if a stop request arrived while sleeping.
  bool SleepUnlessStopped(int seconds) {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
    timespec timeout{seconds, 0};
    int sig = ::sigtimedwait(&set, nullptr, &timeout);
    if (sig > 0) stopping_ = true;
    return stopping_;
  }

  int Finish(int code) {
    status_.state = ContainerState::kTerminated;
    status_.pid = 0;
    status_.exit_code = code;
    status_.final = true;
    Publish();
    return 0;
  }

  int Fail(const std::string& message) {
    status_.state = ContainerState::kTerminated;
    status_.pid = 0;
    status_.final = true;
    status_.message = message;
    Publish();
    std::fprintf(stderr, "supervisor %s/%s/%s: %s\n", spec_.pod_namespace.c_str(),
                 spec_.pod_name.c_str(), spec_.name.c_str(), message.c_str());
    return 1;
  }

  void Publish() {
    auto s = WriteFileAtomic(spec_.status_file, ContainerStatusToJson(status_));
    if (!s.ok()) std::fprintf(stderr, "%s\n", s.error().ToString().c_str());
  }

  ContainerSpec spec_;
  ContainerStatus status_;
  std::string binary_;  // the command in the pod's view, or
  UniqueFd host_binary_;  // the command only the machine's view has (O_PATH)
  pid_t child_ = 0;
  bool stopping_ = false;
};

}  // namespace

int RunSupervisor(const std::string& spec_file) {
  auto text = ReadFile(spec_file);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", text.error().ToString().c_str());
    return 2;
  }
  auto spec = ContainerSpecFromJson(*text);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s: %s\n", spec_file.c_str(), spec.error().ToString().c_str());
    return 2;
  }
  return Supervisor(std::move(spec).value()).Run();
}

}  // namespace ambit::cluster
