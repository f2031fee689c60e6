#include "core/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

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

Result<NetnsGuard> NetnsGuard::Enter(const Netns& target) {
  int prev = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (prev < 0) return ErrnoError("opening current network namespace", errno);
  UniqueFd previous(prev);
  if (::setns(target.fd(), CLONE_NEWNET) != 0) {
    return ErrnoError("entering network namespace " + target.path(), errno);
  }
  return NetnsGuard(std::move(previous));
}

Result<NetnsGuard> NetnsGuard::Enter(const std::string& path) {
  AMBIT_ASSIGN_OR_RETURN(Netns ns, Netns::Open(path));
  return Enter(ns);
}

NetnsGuard::~NetnsGuard() {
  if (!previous_.valid()) return;  // moved from
  AMBIT_CHECK(::setns(previous_.get(), CLONE_NEWNET) == 0,
              "cannot restore the previous network namespace");
}

}  // namespace ambit
