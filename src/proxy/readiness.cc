#include "proxy/readiness.h"

namespace ambit::proxy {

void Readiness::Block(const std::string& name) {
  std::lock_guard lock(mu_);
  blockers_.insert(name);
}

void Readiness::Unblock(const std::string& name) {
  std::lock_guard lock(mu_);
  blockers_.erase(name);
}

void Readiness::AddCheck(const std::string& name, std::function<bool()> check) {
  std::lock_guard lock(mu_);
  checks_[name] = std::move(check);
}

bool Readiness::ready() const { return pending().empty(); }

std::vector<std::string> Readiness::pending() const {
  std::set<std::string> out;
  std::map<std::string, std::function<bool()>> checks;
  {
    std::lock_guard lock(mu_);
    out = blockers_;
    checks = checks_;
  }
  for (const auto& [name, check] : checks) {
    if (!check()) out.insert(name);
  }
  return {out.begin(), out.end()};
}

}  // namespace ambit::proxy
