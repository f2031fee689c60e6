#include "inpod/node_agent.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/netns.h"
#include "inpod/seqpacket.h"
#include "inpod/zds_server.h"
#include "redirect/rule_set.h"

namespace ambit::inpod {
namespace {

struct EnrolledPod {
  PodEvent pod;
  redirect::RuleSet rules;
};

}  // namespace

struct NodeAgent::Impl {
  Impl(NodeAgentOptions o, EnrollmentPolicy& p, ZdsServer& z) : options(std::move(o)), policy(p), zds(z) {}

  NodeAgentOptions options;
  EnrollmentPolicy& policy;
  ZdsServer& zds;
  UniqueFd listener;
  std::thread thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;  // serialises pod operations; guards pods
  std::map<std::string, EnrolledPod> pods;

  // Caller holds mu.
  Status EnrollLocked(const PodEvent& pod) {
    const std::string key = PodKey(pod);
    if (pod.netns.empty()) return Error(ErrorCode::kInvalidArgument, "enrolling " + key + ": no netns path");
    const redirect::RedirectOptions wanted = policy.Redirection(pod, options.redirect);
    if (auto existing = pods.find(key); existing != pods.end()) {
      if (existing->second.pod.netns == pod.netns && existing->second.rules.options() != wanted) {
        // Same sandbox, other options (e.g. the DNS capture annotation changed):
        // replace the rules, ztunnel keeps the pod.
        Status removed = existing->second.rules.Remove();
        if (!removed.ok()) return std::move(removed).error().WithContext("re-enrolling pod " + key);
        auto rules = redirect::RuleSet::Install(existing->second.rules.netns().path(), wanted);
        if (!rules.ok()) return std::move(rules).error().WithContext("re-enrolling pod " + key);
        existing->second.rules = std::move(*rules);
        AMBIT_LOG_INFO("node agent: pod {} redirection now with DNS capture {}", key,
                       wanted.dns_capture ? "on" : "off");
        return Ok();
      }
      if (existing->second.pod.netns == pod.netns) {
        // Repeated ADD for the same sandbox: make sure the rules are intact.
        auto outcome = existing->second.rules.Reconcile();
        if (!outcome.ok()) return std::move(outcome).error().WithContext("re-enrolling pod " + key);
        return Ok();
      }
      AMBIT_RETURN_IF_ERROR(ReleaseLocked(key));  // a new sandbox replaces the old one
    }
    auto for_zds = Netns::Open(pod.netns);
    if (!for_zds.ok()) return std::move(for_zds).error().WithContext("enrolling pod " + key);
    // Stable handle for ztunnel; the RuleSet opens its own.
    UniqueFd zds_fd(::fcntl(for_zds->fd(), F_DUPFD_CLOEXEC, 0));
    if (!zds_fd) return ErrnoError("dup netns fd for " + key, errno);

    // ztunnel first: its listeners exist before traffic is redirected to them.
    Status told = zds.AddPod(key, policy.Describe(pod), std::move(zds_fd));
    if (!told.ok()) {
      if (told.error().code() != ErrorCode::kUnavailable || options.require_ztunnel) {
        (void)zds.DelPod(key);
        return std::move(told).error().WithContext("handing pod " + key + " to ztunnel");
      }
      AMBIT_LOG_WARN("node agent: {} (pod {} goes out with ztunnel's next snapshot)", told.error().ToString(), key);
    }
    auto rules = redirect::RuleSet::Install(std::move(*for_zds), wanted);
    if (!rules.ok()) {
      (void)zds.DelPod(key);
      return std::move(rules).error().WithContext("enrolling pod " + key);
    }
    pods.emplace(key, EnrolledPod{pod, std::move(*rules)});
    AMBIT_LOG_INFO("node agent: enrolled pod {} ({})", key, pod.netns);
    return Ok();
  }

  // Caller holds mu. Rules go first so new connections go direct at once;
  // ztunnel then closes the pod's listeners.
  Status ReleaseLocked(const std::string& key) {
    auto it = pods.find(key);
    if (it == pods.end()) return Ok();
    Status removed = it->second.rules.Remove();
    pods.erase(it);  // a failed removal is retried once more by the RuleSet's destructor
    Status deleted = zds.DelPod(key);
    if (!deleted.ok()) AMBIT_LOG_WARN("node agent: telling ztunnel to drop {}: {}", key, deleted.error().ToString());
    if (!removed.ok()) return std::move(removed).error().WithContext("releasing pod " + key);
    AMBIT_LOG_INFO("node agent: released pod {}", key);
    return Ok();
  }

  // Finds an enrolled pod by key, or by container id (DEL may lack the uid).
  std::string FindLocked(const PodEvent& pod) const {
    if (pods.contains(PodKey(pod))) return PodKey(pod);
    for (const auto& [key, entry] : pods) {
      if (!pod.container_id.empty() && entry.pod.container_id == pod.container_id) return key;
      if (entry.pod.ns == pod.ns && entry.pod.name == pod.name) return key;
    }
    return "";
  }

  CniReply Handle(const CniRequest& request) {
    const PodEvent& pod = request.pod;
    std::lock_guard lock(mu);
    switch (request.command) {
      case CniCommand::kAdd: {
        if (!policy.ShouldEnroll(pod)) return {CniResult::kNotEnrolled, ""};
        Status enrolled = EnrollLocked(pod);
        if (!enrolled.ok()) return {CniResult::kError, enrolled.error().ToString()};
        return {CniResult::kEnrolled, ""};
      }
      case CniCommand::kDel: {
        const std::string key = FindLocked(pod);
        if (key.empty()) return {CniResult::kNotEnrolled, ""};
        Status released = ReleaseLocked(key);
        if (!released.ok()) return {CniResult::kError, released.error().ToString()};
        return {CniResult::kRemoved, ""};
      }
      case CniCommand::kCheck: {
        const std::string key = FindLocked(pod);
        const bool should = policy.ShouldEnroll(pod);
        if (key.empty()) {
          if (should) return {CniResult::kError, "pod " + PodKey(pod) + " should be enrolled but is not"};
          return {CniResult::kNotEnrolled, ""};
        }
        auto outcome = pods.at(key).rules.Reconcile();
        if (!outcome.ok()) return {CniResult::kError, outcome.error().ToString()};
        return {CniResult::kOk, *outcome == redirect::ReconcileOutcome::kRepaired ? "rules repaired" : ""};
      }
    }
    return {CniResult::kError, "unknown command"};
  }

  void Serve() {
    while (!stopping) {
      auto conn = AcceptSeqpacket(listener.get(), std::chrono::milliseconds(200));
      if (!conn.ok()) continue;
      auto datagram = ReceiveDatagram(conn->get(), options.cni_io_timeout, kMaxCniDatagram);
      if (!datagram.ok()) {
        AMBIT_LOG_WARN("node agent: reading CNI request: {}", datagram.error().ToString());
        continue;
      }
      CniReply reply;
      auto request = DecodeCniRequest(datagram->bytes);
      if (datagram->truncated || !datagram->fds.empty()) {
        reply = {CniResult::kError, "malformed CNI request datagram"};
      } else if (!request.ok()) {
        reply = {CniResult::kError, request.error().ToString()};
      } else {
        reply = Handle(*request);
        AMBIT_LOG_INFO("node agent: CNI {} {}/{}: {} {}", ToString(request->command), request->pod.ns,
                       request->pod.name, ToString(reply.result), reply.message);
      }
      Status sent = SendDatagram(conn->get(), EncodeCniReply(reply), -1, options.cni_io_timeout);
      if (!sent.ok()) AMBIT_LOG_WARN("node agent: answering CNI request: {}", sent.error().ToString());
    }
  }
};

NodeAgent::NodeAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<NodeAgent>> NodeAgent::Start(NodeAgentOptions options, EnrollmentPolicy& policy,
                                                     ZdsServer& zds) {
  auto impl = std::make_unique<Impl>(std::move(options), policy, zds);
  if (!impl->options.cni_socket_path.empty()) {
    AMBIT_ASSIGN_OR_RETURN(impl->listener, ListenSeqpacket(impl->options.cni_socket_path));
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->Serve(); });
  }
  return std::unique_ptr<NodeAgent>(new NodeAgent(std::move(impl)));
}

NodeAgent::~NodeAgent() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  if (!impl_->options.cni_socket_path.empty()) ::unlink(impl_->options.cni_socket_path.c_str());
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> keys;
  for (const auto& [key, pod] : impl_->pods) keys.push_back(key);
  for (const auto& key : keys) {
    Status released = impl_->ReleaseLocked(key);
    if (!released.ok()) AMBIT_LOG_ERROR("node agent shutdown: {}", released.error().ToString());
  }
}

void NodeAgent::Abandon() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard lock(impl_->mu);
  for (auto& [key, pod] : impl_->pods) pod.rules.Abandon();
  AMBIT_LOG_INFO("node agent: leaving {} pod(s) enrolled for a successor", impl_->pods.size());
  impl_->pods.clear();
}

CniReply NodeAgent::HandleCni(const CniRequest& request) { return impl_->Handle(request); }

Result<CniResult> NodeAgent::Reevaluate(const PodEvent& pod) {
  std::lock_guard lock(impl_->mu);
  const std::string key = impl_->FindLocked(pod);
  const bool should = impl_->policy.ShouldEnroll(pod);
  if (should && key.empty()) {
    AMBIT_RETURN_IF_ERROR(impl_->EnrollLocked(pod));
    return CniResult::kEnrolled;
  }
  if (!should && !key.empty()) {
    AMBIT_RETURN_IF_ERROR(impl_->ReleaseLocked(key));
    return CniResult::kRemoved;
  }
  if (should && !key.empty()) {
    // Still enrolled: apply per-pod redirection changes (annotations).
    auto& entry = impl_->pods.at(key);
    if (entry.pod.netns == pod.netns &&
        entry.rules.options() != impl_->policy.Redirection(pod, impl_->options.redirect)) {
      AMBIT_RETURN_IF_ERROR(impl_->EnrollLocked(pod));
      return CniResult::kEnrolled;
    }
  }
  return CniResult::kNotEnrolled;
}

Status NodeAgent::Enroll(const PodEvent& pod) {
  std::lock_guard lock(impl_->mu);
  return impl_->EnrollLocked(pod);
}

Status NodeAgent::Release(const std::string& pod_key) {
  std::lock_guard lock(impl_->mu);
  return impl_->ReleaseLocked(pod_key);
}

bool NodeAgent::IsEnrolled(const std::string& pod_key) const {
  std::lock_guard lock(impl_->mu);
  return impl_->pods.contains(pod_key);
}

std::vector<std::string> NodeAgent::EnrolledPods() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> keys;
  for (const auto& [key, pod] : impl_->pods) keys.push_back(key);
  return keys;
}

}  // namespace ambit::inpod
