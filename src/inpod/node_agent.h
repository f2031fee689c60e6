// NodeAgent: the per-node half of enrollment (istio-cni's node agent). It
//   - listens on a unix socket for ambit-cni (ADD/DEL/CHECK, cni_protocol.h),
//   - decides enrollment through an EnrollmentPolicy (labels live in the
//     cluster store, which the integrator owns),
//   - for an enrolled pod: hands the pod's netns to ztunnel through the
//     ZdsServer, then installs the redirection RuleSet in the pod's netns;
//     on release: removes the rules, then tells ztunnel,
//   - re-evaluates running pods when labels change (Reevaluate), so pods join
//     or leave the mesh without a restart.
//
// Thread-safety: all public methods may be called from any thread; pod
// operations are serialised by one mutex. Destruction stops the CNI listener
// and removes the rules of every pod still enrolled (a RuleSet owns them).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "inpod/cni_protocol.h"
#include "inpod/zds_messages.h"
#include "redirect/options.h"

namespace ambit::inpod {

class ZdsServer;

// Whether pods join the mesh. ambitd backs it with its store and the one copy
// of the enrollment rules (src/model/enrollment.h) via LookupEnrollmentPolicy.
class EnrollmentPolicy {
 public:
  virtual ~EnrollmentPolicy() = default;
  // Whether |pod| belongs in the mesh now.
  virtual bool ShouldEnroll(const PodEvent& pod) = 0;
  // What ztunnel is told about the pod. Default: name and namespace, no
  // service account (ztunnel learns identities from xDS).
  virtual WorkloadInfo Describe(const PodEvent& pod) { return {pod.name, pod.ns, ""}; }
  // The redirection to install for |pod| (per-pod overrides such as the
  // ambient.istio.io/dns-capture annotation). Default: |node_defaults|.
  virtual redirect::RedirectOptions Redirection(const PodEvent& pod,
                                                const redirect::RedirectOptions& node_defaults) {
    (void)pod;
    return node_defaults;
  }
};

struct NodeAgentOptions {
  // Where ambit-cni connects ("agentSocket" in the plugin config). Empty: no
  // socket; the integrator calls HandleCni directly.
  std::string cni_socket_path;
  redirect::RedirectOptions redirect;
  // When true, ADD fails if no ztunnel is connected (Istio's behaviour). When
  // false the pod is enrolled and ztunnel gets it in its next snapshot.
  bool require_ztunnel = false;
  std::chrono::milliseconds cni_io_timeout{5000};
};

class NodeAgent {
 public:
  // |policy| and |zds| must outlive the agent.
  static Result<std::unique_ptr<NodeAgent>> Start(NodeAgentOptions options, EnrollmentPolicy& policy,
                                                   ZdsServer& zds);
  ~NodeAgent();

  // One plugin request -> one reply (what the socket server calls).
  CniReply HandleCni(const CniRequest& request);

  // Label changes: enrolls |pod| if the policy now says so and it is not
  // enrolled, releases it if enrolled and the policy says no. |pod.netns| must
  // name the running pod's netns. Returns kEnrolled, kRemoved or kNotEnrolled
  // (nothing to change), or the error.
  Result<CniResult> Reevaluate(const PodEvent& pod);

  // Unconditional forms (the policy is not consulted).
  Status Enroll(const PodEvent& pod);
  Status Release(const std::string& pod_key);

  // Stops the CNI listener and forgets every pod without removing its rules or
  // telling ztunnel: for a control plane that stops while pods keep running
  // (a successor re-adopts them with Reevaluate). Later calls see no pods.
  void Abandon();

  bool IsEnrolled(const std::string& pod_key) const;
  std::vector<std::string> EnrolledPods() const;

  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

 private:
  struct Impl;
  explicit NodeAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::inpod
