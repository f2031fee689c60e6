#include "node/pod_manager.h"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <condition_variable>

#include "core/log.h"

namespace ambit::node {

PodManager::PodManager(net::WorkerPool& workers, proxy::SecretManager& secrets,
                       PodTrafficHandler& handler, asio::io_context& control, Options options)
    : workers_(workers),
      secrets_(secrets),
      handler_(handler),
      control_(control),
      options_(std::move(options)) {}

PodManager::~PodManager() { Shutdown(std::chrono::milliseconds(0)); }

Status PodManager::AddPod(const PodSpec& spec_in, UniqueFd netns_fd) {
  PodSpec spec = spec_in;
  if (spec.service_account.empty() && options_.resolve_service_account) {
    spec.service_account = options_.resolve_service_account(spec);
  }
  if (spec.service_account.empty()) {
    AMBIT_LOG_WARN("pod {}/{} ({}) came without a service account and none is known; using "
                   "'default'", spec.ns, spec.name, spec.uid);
    spec.service_account = "default";
  }
  if (spec.uid.empty() || spec.ns.empty()) {
    return Error(ErrorCode::kInvalidArgument, "pod '" + spec.uid + "' needs a uid and a namespace");
  }
  if (!netns_fd.valid()) {
    return Error(ErrorCode::kInvalidArgument, "pod " + spec.uid + " comes without a network namespace");
  }
  auto netns = std::make_shared<const Netns>(std::move(netns_fd), "netns of pod " + spec.ns + "/" +
                                                                      spec.name + " (" + spec.uid + ")");
  auto inode = netns->Inode();
  if (!inode.ok()) return std::move(inode).error().WithContext("pod " + spec.uid);

  std::shared_ptr<Pod> previous;
  {
    std::lock_guard lock(mu_);
    auto it = pods_.find(spec.uid);
    if (it != pods_.end()) {
      auto old_inode = it->second->netns().Inode();
      if (old_inode.ok() && *old_inode == *inode && it->second->spec() == spec) {
        AMBIT_LOG_DEBUG("pod {} re-added unchanged", spec.uid);
        return Ok();
      }
      previous = it->second;
      pods_.erase(it);
    }
  }
  if (previous != nullptr) {
    AMBIT_LOG_INFO("pod {} changed; replacing its proxy", spec.uid);
    Retire(std::move(previous), options_.drain_grace);
  }

  identity::SpiffeId id(options_.trust_domain, spec.ns, spec.service_account);
  proxy::CertLease lease = secrets_.Acquire(id);
  auto pod = Pod::Start(spec, id, std::move(netns), options_.mark, std::move(lease), options_.ports,
                        workers_, handler_);
  if (!pod.ok()) return std::move(pod).error();
  if (options_.side_service) {
    auto side = options_.side_service(**pod);
    if (!side.ok()) {
      (*pod)->StopAccepting();
      return std::move(side).error().WithContext("pod " + spec.ns + "/" + spec.name);
    }
    (*pod)->AddSideService(std::move(*side));
  }
  {
    std::lock_guard lock(mu_);
    pods_[spec.uid] = *pod;
  }
  AMBIT_LOG_INFO("pod {}/{} ({}) enrolled as {}", spec.ns, spec.name, spec.uid, id.ToString());
  return Ok();
}

Status PodManager::DelPod(const std::string& uid) {
  std::shared_ptr<Pod> pod;
  {
    std::lock_guard lock(mu_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return Ok();
    pod = std::move(it->second);
    pods_.erase(it);
  }
  AMBIT_LOG_INFO("pod {}/{} ({}) released; draining {} connection(s)", pod->spec().ns,
                 pod->spec().name, uid, pod->connections().active());
  Retire(std::move(pod), options_.drain_grace);
  return Ok();
}

void PodManager::Retire(std::shared_ptr<Pod> pod, std::chrono::milliseconds grace) {
  pod->StopAccepting();
  {
    std::lock_guard lock(mu_);
    std::erase_if(retired_, [](const std::weak_ptr<Pod>& w) { return w.expired(); });
    retired_.push_back(pod);
  }
  if (pod->connections().active() == 0) return;  // nothing to wait for
  // The timer holds the pod (and so its netns and certificate lease) until the
  // grace period ends, then aborts what is left.
  auto timer = std::make_shared<asio::steady_timer>(control_, grace);
  timer->async_wait([timer, pod](const std::error_code&) {
    if (pod->connections().active() > 0) {
      AMBIT_LOG_INFO("pod {}: aborting {} connection(s) after the drain period", pod->spec().uid,
                     pod->connections().active());
      pod->AbortConnections();
    }
  });
}

std::size_t PodManager::Shutdown(std::chrono::milliseconds grace) {
  std::map<std::string, std::shared_ptr<Pod>> pods;
  {
    std::lock_guard lock(mu_);
    pods.swap(pods_);
  }
  std::vector<std::shared_ptr<Pod>> all;
  for (auto& [uid, pod] : pods) {
    pod->StopAccepting();
    all.push_back(pod);
  }
  {
    std::lock_guard lock(mu_);
    for (auto& w : retired_) {
      if (auto p = w.lock()) all.push_back(std::move(p));
    }
  }
  auto active = [&all] {
    std::size_t n = 0;
    for (const auto& p : all) n += p->connections().active();
    return n;
  };
  // Woken by each pod's last connection (no polling): registered ones, then
  // the tasks that end them (and those that never registered).
  auto wait_idle = [&all](std::chrono::steady_clock::time_point deadline) {
    for (const auto& p : all) {
      if (!p->connections().WaitIdle(deadline) || !p->traffic().WaitIdle(deadline)) return false;
    }
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  if (!wait_idle(start + grace)) {
    for (auto& p : all) p->AbortConnections();
    (void)wait_idle(start + grace + std::chrono::seconds(1));
  }
  return active();
}

bool PodManager::WaitForCertificate(const std::string& uid,
                                    std::chrono::milliseconds timeout) const {
  std::shared_ptr<Pod> pod;
  {
    std::lock_guard lock(mu_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return false;
    pod = it->second;
  }
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
  };
  auto wait = std::make_shared<Wait>();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pod->certificate().Current() == nullptr) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    {
      std::lock_guard lock(wait->mu);
      wait->woken = false;
    }
    const bool waiting = pod->certificate().WhenFetched([wait] {
      std::lock_guard lock(wait->mu);
      wait->woken = true;
      wait->cv.notify_all();
    });
    if (!waiting) break;
    std::unique_lock lock(wait->mu);
    wait->cv.wait_until(lock, deadline, [&] { return wait->woken; });
  }
  return pod->certificate().Current() != nullptr;
}

std::vector<std::shared_ptr<Pod>> PodManager::LivePods() const {
  std::vector<std::shared_ptr<Pod>> pods;
  std::lock_guard lock(mu_);
  for (const auto& [uid, pod] : pods_) pods.push_back(pod);
  for (const auto& w : retired_) {
    if (auto p = w.lock()) pods.push_back(std::move(p));
  }
  return pods;
}

std::vector<PodStatus> PodManager::Pods() const {
  const std::vector<std::shared_ptr<Pod>> pods = LivePods();
  std::vector<PodStatus> out;
  for (const auto& pod : pods) {
    PodStatus s;
    s.spec = pod->spec();
    s.identity = pod->identity().ToString();
    for (const auto& a : pod->listen_addresses()) s.listeners.push_back(a.ToString());
    for (auto& d : pod->side_service_descriptions()) s.listeners.push_back(std::move(d));
    s.active_connections = pod->connections().active();
    s.total_connections = pod->connections().total();
    s.certificate_ready = pod->certificate().Current() != nullptr;
    s.draining = pod->connections().draining();
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<PodManager::PodConnections> PodManager::Connections(std::chrono::milliseconds timeout) const {
  std::vector<std::shared_ptr<Pod>> pods;
  {
    std::lock_guard lock(mu_);
    for (const auto& [uid, pod] : pods_) pods.push_back(pod);
    for (const auto& w : retired_) {
      if (auto p = w.lock()) pods.push_back(std::move(p));
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<PodConnections> out;
  for (const auto& pod : pods) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    out.push_back({pod->spec(), pod->connections().Describe(std::max(left, std::chrono::milliseconds(0)))});
  }
  return out;
}

std::size_t PodManager::pod_count() const {
  std::lock_guard lock(mu_);
  return pods_.size();
}

std::size_t PodManager::draining_count() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& w : retired_) {
    if (auto p = w.lock(); p != nullptr && p->connections().active() > 0) ++n;
  }
  return n;
}

}  // namespace ambit::node
