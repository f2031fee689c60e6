#include "ctl/pod_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "ambit/v1/cluster.pb.h"
#include "cluster/process.h"
#include "cluster/sandbox.h"
#include "cluster/subprocess.h"
#include "ctl/client.h"

namespace ambit::ctl {
namespace {

// Without ambitd, the pod's own record on disk still says where it lives.
Result<ambit::v1::Pod> FindPodOnDisk(const cluster::ClusterLayout& layout, const PodRef& ref,
                                     const Error& why) {
  auto text = cluster::ReadFile(layout.PodDir(ref.ns, ref.name) + "/pod.json");
  if (!text.ok()) return why;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("netns", "").empty()) return why;
  ambit::v1::Pod pod;
  pod.set_name(ref.name);
  pod.set_namespace_(ref.ns);
  pod.set_netns(j.value("netns", ""));
  pod.set_ip(j.value("ip", ""));
  if (j.contains("containers")) {
    for (const auto& c : j["containers"]) pod.add_containers()->set_name(c.get<std::string>());
  }
  return pod;
}

Result<ambit::v1::Pod> FindPod(const std::string& cluster, const PodRef& ref) {
  cluster::ClusterLayout layout(cluster);
  auto connected = ClusterClient::Connect(layout);
  if (!connected.ok() && connected.error().code() == ErrorCode::kUnavailable) {
    return FindPodOnDisk(layout, ref, connected.error());
  }
  AMBIT_ASSIGN_OR_RETURN(auto client, std::move(connected));
  AMBIT_ASSIGN_OR_RETURN(auto list, client->ListPods(ref.ns));
  for (const auto& p : list.pods()) {
    if (p.name() == ref.name) {
      if (p.netns().empty()) {
        return Error(ErrorCode::kUnavailable, "pod " + ref.ns + "/" + ref.name + " is " +
                                                  p.phase() + " and has no sandbox yet" +
                                                  (p.message().empty() ? "" : ": " + p.message()));
      }
      return p;
    }
  }
  return Error(ErrorCode::kNotFound,
               "pod " + ref.ns + "/" + ref.name + " not found in cluster '" + cluster + "'");
}

}  // namespace

Result<PodRef> ParsePodRef(const std::string& text, const std::string& default_ns) {
  PodRef ref;
  auto slash = text.find('/');
  if (slash == std::string::npos) {
    ref.ns = default_ns.empty() ? "default" : default_ns;
    ref.name = text;
  } else {
    ref.ns = text.substr(0, slash);
    ref.name = text.substr(slash + 1);
  }
  if (ref.ns.empty() || ref.name.empty() || ref.name.find('/') != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "expected NAMESPACE/POD or POD, got '" + text + "'");
  }
  return ref;
}

Result<int> Exec(const std::string& cluster, const PodRef& ref,
                 const std::vector<std::string>& argv) {
  if (argv.empty()) return Error(ErrorCode::kInvalidArgument, "exec: give a command after --");
  AMBIT_ASSIGN_OR_RETURN(ambit::v1::Pod pod, FindPod(cluster, ref));
  cluster::ClusterLayout layout(cluster);
  const std::string dir = layout.PodDir(ref.ns, ref.name);
  cluster::PodSandbox sandbox{pod.netns(), dir + "/hosts", dir + "/resolv.conf", dir + "/tmp",
                              ref.name};
  auto program = cluster::FindExecutable(argv[0]);
  if (!program) {
    return Error(ErrorCode::kNotFound, "exec: command '" + argv[0] + "' not found on this machine");
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string marker = std::string(cluster::kClusterEnv) + "=" + cluster;

  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork", errno);
  if (child == 0) {
    auto entered = cluster::EnterPodSandbox(sandbox);
    if (!entered.ok()) {
      std::fprintf(stderr, "error: %s\n", entered.error().ToString().c_str());
      _exit(127);
    }
    ::putenv(const_cast<char*>(marker.c_str()));
    ::execv(program->c_str(), cargv.data());
    std::fprintf(stderr, "error: exec %s: %s\n", program->c_str(), std::strerror(errno));
    _exit(127);
  }
  // The child owns the terminal's signals; we only wait for it.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGQUIT, SIG_IGN);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

Status Logs(const std::string& cluster, const PodRef& ref, const std::string& container,
            bool follow) {
  AMBIT_ASSIGN_OR_RETURN(ambit::v1::Pod pod, FindPod(cluster, ref));
  std::string name = container;
  if (name.empty()) {
    if (pod.containers_size() == 0) {
      return Error(ErrorCode::kUnavailable,
                   "pod " + ref.ns + "/" + ref.name + " has no containers yet");
    }
    name = pod.containers(0).name();
  } else {
    bool found = false;
    std::string names;
    for (const auto& c : pod.containers()) {
      found = found || c.name() == name;
      names += (names.empty() ? "" : ", ") + c.name();
    }
    if (!found) {
      return Error(ErrorCode::kNotFound, "pod " + ref.ns + "/" + ref.name + " has no container '" +
                                             name + "' (has: " + names + ")");
    }
  }
  const std::string path =
      cluster::ClusterLayout(cluster).PodDir(ref.ns, ref.name) + "/logs/" + name + ".log";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !follow) return Ok();  // nothing written yet
    return ErrnoError("opening " + path, errno);
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (!follow) break;
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ::close(fd);
  return Ok();
}

}  // namespace ambit::ctl
