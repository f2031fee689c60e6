#include "cluster/sandbox.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "core/netns.h"

namespace ambit::cluster {
namespace {

Status Bind(const std::string& from, const char* to) {
  if (::mount(from.c_str(), to, nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError("bind-mounting " + from + " on " + to, errno);
  }
  return Ok();
}

}  // namespace

Status EnterPodSandbox(const PodSandbox& sandbox) {
  int fd = ::open(sandbox.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening pod network namespace " + sandbox.netns_path, errno);
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("entering pod network namespace " + sandbox.netns_path, err);
  NetnsGuard::ThreadNamespaceChanged();  // for good, not through a guard
  if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) {
    return ErrnoError("creating the pod's mount namespace", errno);
  }
  // Our mounts must not propagate back to the machine.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    return ErrnoError("making / a slave mount", errno);
  }
  AMBIT_RETURN_IF_ERROR(Bind(sandbox.hosts_file, "/etc/hosts"));
  // resolv.conf may be a dangling symlink on some machines; names still resolve
  // through the hosts file then, so this one is best effort.
  (void)Bind(sandbox.resolv_file, "/etc/resolv.conf");
  if (!sandbox.tmp_dir.empty()) AMBIT_RETURN_IF_ERROR(Bind(sandbox.tmp_dir, "/tmp"));
  // /sys shows the network devices of the namespace that mounted it; remount it so
  // tools reading /sys/class/net see the pod's devices (best effort).
  if (::umount2("/sys", MNT_DETACH) == 0) {
    (void)::mount("sysfs", "/sys", "sysfs", 0, nullptr);
  }
  const std::string host = sandbox.hostname.substr(0, 63);  // HOST_NAME_MAX is 64
  if (!host.empty() && ::sethostname(host.c_str(), host.size()) != 0) {
    return ErrnoError("setting hostname " + sandbox.hostname, errno);
  }
  return Ok();
}

}  // namespace ambit::cluster
