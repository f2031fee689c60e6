// Network namespaces as owned handles, and a guard that enters one.
//
// Threading: namespace membership is per thread. NetnsGuard changes only the
// calling thread and restores it in its destructor, so it must be created and
// destroyed on the same thread and never held across a coroutine suspension
// point (the coroutine may resume on another thread).
#pragma once

#include <string>

#include "core/result.h"
#include "core/unique_fd.h"

namespace ambit {

// An open handle to a network namespace (a /proc/.../ns/net or /run/netns/* file).
class Netns {
 public:
  // Opens the namespace file at |path| (e.g. /run/netns/ambit-node1).
  static Result<Netns> Open(const std::string& path);
  // The calling thread's current namespace.
  static Result<Netns> Current();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Stable identity of the namespace (inode number of its nsfs file).
  Result<unsigned long> Inode() const;

  Netns(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

 private:
  UniqueFd fd_;
  std::string path_;
};

// Enters a namespace for the lifetime of the guard; the destructor restores the
// thread's previous namespace (aborting if it cannot, since continuing in the
// wrong namespace would silently misroute traffic).
class NetnsGuard {
 public:
  // Enters |target|; on error the thread is left where it was.
  static Result<NetnsGuard> Enter(const Netns& target);
  static Result<NetnsGuard> Enter(const std::string& path);

  ~NetnsGuard();
  NetnsGuard(NetnsGuard&& other) noexcept : previous_(std::move(other.previous_)) {}
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  explicit NetnsGuard(UniqueFd previous) : previous_(std::move(previous)) {}
  UniqueFd previous_;
};

}  // namespace ambit
