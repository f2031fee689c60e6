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
//
// Cost: an outermost guard returns the thread to its resting namespace (where
// it is while no guard is active), whose handle each thread opens once and
// keeps; only nested guards open the current namespace anew. Opening
// /proc/thread-self/ns/net is most of a guard's cost otherwise (a procfs path
// walk per socket the data path makes in a pod). This relies on threads
// changing namespace only through guards: code that setns()es a thread for
// good (outside a guard) calls ThreadNamespaceChanged() afterwards. A fork()ed
// child re-opens its own (the cache is keyed by thread id).
class NetnsGuard {
 public:
  // Enters |target|; on error the thread is left where it was.
  static Result<NetnsGuard> Enter(const Netns& target);
  static Result<NetnsGuard> Enter(const std::string& path);
  ~NetnsGuard();
  NetnsGuard(NetnsGuard&& other) noexcept
      : previous_(std::move(other.previous_)), resting_(other.resting_), active_(other.active_) {
    other.active_ = false;
  }
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

  // The calling thread moved to another namespace outside a guard (e.g. a
  // pod sandbox entered for good): forget its cached resting namespace.
  static void ThreadNamespaceChanged();

 private:
  NetnsGuard(UniqueFd previous, bool resting)
      : previous_(std::move(previous)), resting_(resting), active_(true) {}
  UniqueFd previous_;     // nested guard: where to return
  bool resting_ = false;  // outermost guard: back to the thread's resting namespace
  bool active_ = false;   // false once moved from
};

}  // namespace ambit
