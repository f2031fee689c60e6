#include "control/reconciler.h"

#include <sys/stat.h>

#include "cluster/names_files.h"
#include "cluster/process.h"
#include "cluster/service_rules.h"
#include "core/log.h"

namespace ambit::control {

using config::ResourceKey;

namespace {

constexpr auto kResyncPeriod = std::chrono::seconds(1);

ResourceKey KeyOfPod(const std::string& ns, const std::string& name) { return {"Pod", ns, name}; }

// The container port a Service port targets on |pod| (0 if it cannot).
int TargetPort(const config::ServicePort& sp, const config::Pod& pod) {
  if (sp.target_port_name.empty()) return sp.target_port_number ? sp.target_port_number : sp.port;
  for (const auto& c : pod.spec.containers) {
    for (const auto& p : c.ports) {
      if (p.name == sp.target_port_name) return p.container_port;
    }
  }
  return 0;
}

}  // namespace

Reconciler::Reconciler(const Store* store, PodRuntime* runtime)
    : store_(store), runtime_(runtime), view_(std::make_shared<const RuntimeView>()) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start() {
  for (auto& pod : runtime_->LoadRealized()) {
    struct stat st {};
    if (::stat(pod.netns_path.c_str(), &st) != 0) {
      // Its namespace is gone (e.g. after a reboot): clean up; it is made again if wanted.
      AMBIT_LOG_WARN("pod {}/{} lost its network namespace; recreating it", pod.ns, pod.name);
      (void)runtime_->Destroy(pod);
      continue;
    }
    ResourceKey key = KeyOfPod(pod.ns, pod.name);
    realized_.emplace(key, std::move(pod));
  }
  AMBIT_LOG_INFO("reconciler: adopted {} pod(s) from disk", realized_.size());
  thread_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reconciler::Kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<const RuntimeView> Reconciler::View() const {
  std::lock_guard lock(mu_);
  return view_;
}

bool Reconciler::WaitForGeneration(uint64_t generation, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return view_->store_generation >= generation; });
}

void Reconciler::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kResyncPeriod, [&] { return kicked_ || stopping_; });
      if (stopping_) return;
      kicked_ = false;
    }
    Pass();
  }
}

void Reconciler::Pass() {
  auto snap = store_->Snapshot();
  std::map<ResourceKey, const config::Pod*> desired;
  for (const auto* p : snap->Pods()) desired.emplace(KeyOfPod(p->metadata.ns, p->metadata.name), p);

  // 1. Remove what is no longer wanted. Observers hear of it first (the
  // last view without those pods), so endpoints leave discovery before their
  // containers are stopped rather than after (stopping can take seconds).
  if (observer_) {
    std::shared_ptr<const RuntimeView> last = View();
    bool removing = false;
    for (const auto& [key, real] : realized_) {
      auto want = desired.find(key);
      removing = removing || want == desired.end() || want->second->metadata.uid != real.uid;
    }
    if (removing && last != nullptr) {
      RuntimeView withdrawn = *last;
      for (auto it = withdrawn.pods.begin(); it != withdrawn.pods.end();) {
        auto want = desired.find(it->first);
        it = want == desired.end() || want->second->metadata.uid != it->second.uid
                 ? withdrawn.pods.erase(it)
                 : std::next(it);
      }
      observer_(*snap, withdrawn);
    }
  }
  for (auto it = realized_.begin(); it != realized_.end();) {
    auto want = desired.find(it->first);
    if (want != desired.end() && want->second->metadata.uid == it->second.uid) {
      ++it;
      continue;
    }
    if (auto s = runtime_->Destroy(it->second); !s.ok()) AMBIT_LOG_WARN("{}", s.error().ToString());
    applied_rules_.erase(it->first);
    applied_hosts_.erase(it->first);
    it = realized_.erase(it);
  }
  for (auto it = failures_.begin(); it != failures_.end();) {
    it = desired.count(it->first) ? std::next(it) : failures_.erase(it);
  }

  // 2. Create what is missing.
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [key, pod] : desired) {
    if (realized_.count(key)) continue;
    auto failed = failures_.find(key);
    if (failed != failures_.end() && now < failed->second.retry_at) continue;
    auto made = runtime_->Create(*pod);
    if (made.ok()) {
      realized_.emplace(key, std::move(made).value());
      failures_.erase(key);
    } else {
      Failure& f = failures_[key];
      f.message = made.error().ToString();
      f.attempts++;
      f.retry_at = now + std::chrono::seconds(std::min(30, 2 << std::min(f.attempts, 4)));
      AMBIT_LOG_ERROR("{}", f.message);
    }
  }

  // 3 + 4. Supervisors, phases, readiness.
  auto view = std::make_shared<RuntimeView>();
  view->store_generation = snap->generation;
  for (const auto& [key, pod] : desired) {
    PodView& pv = view->pods[key];
    pv.uid = pod->metadata.uid;
    auto real = realized_.find(key);
    if (real == realized_.end()) {
      auto f = failures_.find(key);
      if (f != failures_.end()) pv.message = f->second.message;
      continue;
    }
    runtime_->EnsureSupervisors(real->second);
    pv.ip = real->second.ip;
    pv.netns = real->second.netns_path;
    auto statuses = runtime_->ContainerStatuses(real->second);
    bool all_running = !statuses.empty(), all_final = !statuses.empty(), any_failed = false;
    bool ready = true;
    for (size_t i = 0; i < statuses.size(); ++i) {
      const auto& st = statuses[i];
      const config::Container* spec =
          i < pod->spec.containers.size() ? &pod->spec.containers[i] : nullptr;
      all_running = all_running && st.state == cluster::ContainerState::kRunning;
      all_final = all_final && st.final;
      any_failed = any_failed || (st.final && (st.exit_code != 0 || !st.message.empty()));
      bool c_ready = st.state == cluster::ContainerState::kRunning && st.pid > 0;
      if (c_ready && spec) {
        for (const auto& port : spec->ports) {
          if (port.protocol == "TCP" && !PodRuntime::Listening(st.pid, port.container_port)) {
            c_ready = false;
          }
        }
      }
      ready = ready && c_ready;
      if (!st.message.empty() && pv.message.empty()) pv.message = st.message;
      pv.containers.emplace_back(real->second.containers[i], st);
    }
    if (all_final)
      pv.phase = any_failed ? "Failed" : "Succeeded";
    else if (all_running || std::any_of(statuses.begin(), statuses.end(), [](const auto& s) {
               return s.restarts > 0 || s.state == cluster::ContainerState::kRunning;
             }))
      pv.phase = "Running";
    pv.ready = ready && pv.phase == "Running";
  }

  // Endpoints and the per-pod rules.
  std::vector<cluster::ServiceRule> rules;
  std::vector<cluster::ServiceAddress> names;
  for (const auto* svc : snap->Services()) {
    const ResourceKey skey{"Service", svc->metadata.ns, svc->metadata.name};
    const std::string& vip = svc->spec.cluster_ip;
    if (vip.empty() || vip == "None") continue;
    names.push_back({svc->metadata.name, svc->metadata.ns, vip});
    cluster::ServiceRule rule{svc->metadata.ns + "/" + svc->metadata.name, vip, {}};
    for (const auto& sp : svc->spec.ports) {
      cluster::ServicePortRule pr{sp.protocol, sp.port, {}};
      if (!svc->spec.selector.empty()) {
        for (const auto& [pkey, pod] : desired) {
          if (pod->metadata.ns != svc->metadata.ns ||
              !config::SelectorMatches(svc->spec.selector, pod->metadata.labels)) {
            continue;
          }
          const PodView& pv = view->pods[pkey];
          int target = TargetPort(sp, *pod);
          if (!pv.ready || pv.ip.empty() || target == 0) continue;
          pr.endpoints.push_back({pv.ip, target});
        }
      }
      if (&sp == &svc->spec.ports.front()) {
        auto& eps = view->endpoints[skey];
        for (const auto& ep : pr.endpoints) eps.push_back(ep.ip + ":" + std::to_string(ep.port));
      }
      rule.ports.push_back(std::move(pr));
    }
    rules.push_back(std::move(rule));
  }
  const std::string ruleset = cluster::BuildServiceRuleset(rules);
  for (const auto& [key, real] : realized_) {
    std::string hosts = cluster::BuildHostsFile(real.name, real.ns, real.ip, names);
    if (applied_hosts_[key] != hosts) {
      auto s = cluster::WriteFileInPlace(runtime_->HostsFile(real), hosts);
      if (s.ok())
        applied_hosts_[key] = hosts;
      else
        AMBIT_LOG_WARN("{}", s.error().ToString());
    }
    if (applied_rules_[key] != ruleset) {
      auto s = cluster::ApplyRuleset(real.netns_path, ruleset);
      if (s.ok())
        applied_rules_[key] = ruleset;
      else
        AMBIT_LOG_WARN("pod {}/{}: {}", real.ns, real.name, s.error().ToString());
    }
  }

  if (observer_) observer_(*snap, *view);
  {
    std::lock_guard lock(mu_);
    view_ = std::move(view);
  }
  cv_.notify_all();
}

}  // namespace ambit::control
