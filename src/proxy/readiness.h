// Readiness: ztunnel is ready (15021 /healthz/ready answers 200) when no
// blocker is set and every check passes, e.g. "xds" (first full discovery
// push applied) and "zds" (the node agent's snapshot reconciled on the current
// connection; false again while disconnected).
//
// Thread-safe. Checks are evaluated on every query, outside the lock they
// were registered under; they must be thread-safe and cheap.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ambit::proxy {

class Readiness {
 public:
  // Adds |name| to the blockers (no-op if already there).
  void Block(const std::string& name);
  // Removes |name| from the blockers.
  void Unblock(const std::string& name);
  // |name| is pending whenever |check| returns false. Replaces a check of the
  // same name.
  void AddCheck(const std::string& name, std::function<bool()> check);

  bool ready() const;
  // The blockers set and checks failing, sorted.
  std::vector<std::string> pending() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> blockers_;
  std::map<std::string, std::function<bool()>> checks_;
};

}  // namespace ambit::proxy
