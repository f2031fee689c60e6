#include "core/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/check.h"

namespace ambit {

Result<Netns> Netns::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening network namespace " + path, errno);
  return Netns(UniqueFd(fd), path);
}

Result<Netns> Netns::Current() { return Open("/proc/thread-self/ns/net"); }

Result<unsigned long> Netns::Inode() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return ErrnoError("stat " + path_, errno);
  return static_cast<unsigned long>(st.st_ino);
}

namespace {

// Per thread: its resting namespace (opened once) and how many guards are
// active on it now.
struct ThreadNetns {
  pid_t tid = 0;  // the thread the handle was opened on (a fork()ed child has another)
  UniqueFd resting;
  int depth = 0;
};
thread_local ThreadNetns t_netns;

}  // namespace

void NetnsGuard::ThreadNamespaceChanged() {
  t_netns.resting.reset();
  t_netns.tid = 0;
}

Result<NetnsGuard> NetnsGuard::Enter(const Netns& target) {
  ThreadNetns& t = t_netns;
  UniqueFd previous;
  const bool outermost = t.depth == 0;
  if (outermost) {
    const pid_t tid = ::gettid();
    if (t.tid != tid || !t.resting.valid()) {
      int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      if (fd < 0) return ErrnoError("opening current network namespace", errno);
      t.resting = UniqueFd(fd);
      t.tid = tid;
    }
  } else {
    int prev = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (prev < 0) return ErrnoError("opening current network namespace", errno);
    previous = UniqueFd(prev);
  }
  if (::setns(target.fd(), CLONE_NEWNET) != 0) {
    return ErrnoError("entering network namespace " + target.path(), errno);
  }
  ++t.depth;
  return NetnsGuard(std::move(previous), outermost);
}

Result<NetnsGuard> NetnsGuard::Enter(const std::string& path) {
  AMBIT_ASSIGN_OR_RETURN(Netns ns, Netns::Open(path));
  return Enter(ns);
}

NetnsGuard::~NetnsGuard() {
  if (!active_) return;  // moved from
  const int back = resting_ ? t_netns.resting.get() : previous_.get();
  AMBIT_CHECK(::setns(back, CLONE_NEWNET) == 0, "cannot restore the previous network namespace");
  --t_netns.depth;
}

}  // namespace ambit
