// Readiness: ztunnel is ready (15021 /healthz/ready answers 200) once every
// registered blocker has been cleared, e.g. "xds" (first full discovery push
// applied) and "zds" (the node agent's snapshot reconciled).
//
// Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ambit::node {

class Readiness {
 public:
  // Adds |name| to the blockers (no-op if already there).
  void Block(const std::string& name);
  // Removes |name| from the blockers.
  void Unblock(const std::string& name);

  bool ready() const;
  // The blockers still pending, sorted.
  std::vector<std::string> pending() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> blockers_;
};

}  // namespace ambit::node
