#include "node/readiness.h"

namespace ambit::node {

void Readiness::Block(const std::string& name) {
  std::lock_guard lock(mu_);
  blockers_.insert(name);
}

void Readiness::Unblock(const std::string& name) {
  std::lock_guard lock(mu_);
  blockers_.erase(name);
}

bool Readiness::ready() const {
  std::lock_guard lock(mu_);
  return blockers_.empty();
}

std::vector<std::string> Readiness::pending() const {
  std::lock_guard lock(mu_);
  return {blockers_.begin(), blockers_.end()};
}

}  // namespace ambit::node
