#include "control/cluster_service.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include "ambit/v1/cluster.grpc.pb.h"
#include "cluster/topology.h"
#include "config/analysis.h"
#include "config/serialize.h"
#include "control/controller.h"
#include "control/reconciler.h"
#include "control/store.h"

namespace ambit::control {
namespace {

grpc::Status ToStatus(const Error& e) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case ErrorCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case ErrorCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case ErrorCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    default:
      break;
  }
  return grpc::Status(code, e.ToString());
}

std::vector<ManifestText> ToManifests(const ambit::v1::ManifestRequest& req) {
  std::vector<ManifestText> out;
  for (const auto& m : req.manifests()) out.push_back({m.source(), m.content()});
  return out;
}

void FillResponse(const Outcome& outcome, uint64_t generation, ambit::v1::ManifestResponse* out) {
  for (const auto& c : outcome.plan.changes) {
    auto* ch = out->add_changes();
    ch->set_kind(c.key.kind);
    ch->set_namespace_(c.key.ns);
    ch->set_name(c.key.name);
    ch->set_action(c.action);
  }
  for (const auto& p : outcome.plan.pods) out->add_pods(p.ns + "/" + p.name);
  for (const auto& w : outcome.warnings) out->add_warnings(w);
  out->set_generation(generation);
}

class ClusterServiceImpl final : public ambit::v1::ClusterService::Service {
 public:
  ClusterServiceImpl(cluster::ClusterLayout layout, cluster::ClusterConfig config, Store* store,
                     Reconciler* reconciler, Controller* controller,
                     config::AnalysisContext analysis)
      : layout_(std::move(layout)),
        config_(std::move(config)),
        store_(store),
        reconciler_(reconciler),
        controller_(controller),
        analysis_(std::move(analysis)) {}

  grpc::Status GetInfo(grpc::ServerContext*, const ambit::v1::GetInfoRequest*,
                       ambit::v1::ClusterInfo* out) override {
    out->set_name(config_.name);
    out->set_node_count(config_.node_count);
    out->set_state_dir(layout_.StateDir());
    out->set_ambitd_pid(static_cast<int32_t>(::getpid()));
    out->set_ready(true);
    return grpc::Status::OK;
  }

  grpc::Status ListNodes(grpc::ServerContext*, const ambit::v1::ListRequest*,
                         ambit::v1::NodeList* out) override {
    for (const auto& n : cluster::DescribeNodes(layout_, config_.node_count)) {
      auto* node = out->add_nodes();
      node->set_name(n.name);
      node->set_ip(n.ip);
      node->set_pod_cidr(n.pod_cidr);
      node->set_netns(n.netns_path);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListPods(grpc::ServerContext*, const ambit::v1::ListRequest* req,
                        ambit::v1::PodList* out) override {
    auto snap = store_->Snapshot();
    auto view = reconciler_->View();
    for (const auto* pod : snap->Pods()) {
      if (!req->namespace_().empty() && pod->metadata.ns != req->namespace_()) continue;
      auto* p = out->add_pods();
      p->set_name(pod->metadata.name);
      p->set_namespace_(pod->metadata.ns);
      p->set_node(pod->spec.node_name);
      p->set_uid(pod->metadata.uid);
      p->set_service_account(pod->spec.service_account_name);
      for (const auto& [k, v] : pod->metadata.labels) (*p->mutable_labels())[k] = v;
      for (const auto& ref : pod->metadata.owner_references) {
        if (ref.kind == "Deployment") p->set_owner("Deployment/" + ref.name);
      }
      p->set_phase("Pending");
      auto it = view->pods.find(config::ResourceKey{"Pod", pod->metadata.ns, pod->metadata.name});
      // A view from before this pod's (re)creation says nothing about it.
      if (it != view->pods.end() && it->second.uid == pod->metadata.uid) {
        const PodView& pv = it->second;
        p->set_phase(pv.phase);
        p->set_ready(pv.ready);
        p->set_ip(pv.ip);
        p->set_netns(pv.netns);
        p->set_message(pv.message);
        for (const auto& [name, st] : pv.containers) {
          auto* c = p->add_containers();
          c->set_name(name);
          c->set_state(std::string(cluster::ToString(st.state)));
          c->set_pid(st.pid);
          c->set_restarts(st.restarts);
          c->set_exit_code(st.exit_code);
          c->set_message(st.message);
        }
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListServices(grpc::ServerContext*, const ambit::v1::ListRequest* req,
                            ambit::v1::ServiceList* out) override {
    auto snap = store_->Snapshot();
    auto view = reconciler_->View();
    for (const auto* svc : snap->Services()) {
      if (!req->namespace_().empty() && svc->metadata.ns != req->namespace_()) continue;
      auto* s = out->add_services();
      s->set_name(svc->metadata.name);
      s->set_namespace_(svc->metadata.ns);
      s->set_cluster_ip(svc->spec.cluster_ip);
      for (const auto& [k, v] : svc->spec.selector) (*s->mutable_selector())[k] = v;
      for (const auto& sp : svc->spec.ports) {
        auto* port = s->add_ports();
        port->set_name(sp.name);
        port->set_protocol(sp.protocol);
        port->set_port(sp.port);
        port->set_target_port(
            sp.target_port_name.empty()
                ? std::to_string(sp.target_port_number ? sp.target_port_number : sp.port)
                : sp.target_port_name);
      }
      auto eps = view->endpoints.find({"Service", svc->metadata.ns, svc->metadata.name});
      if (eps != view->endpoints.end()) {
        for (const auto& e : eps->second) s->add_endpoints(e);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListResources(grpc::ServerContext*, const ambit::v1::ListResourcesRequest* req,
                             ambit::v1::ResourceList* out) override {
    auto snap = store_->Snapshot();
    for (const auto& [key, r] : snap->resources) {
      if (!req->kind().empty() && key.kind != req->kind()) continue;
      if (!req->namespace_().empty() && key.ns != req->namespace_()) continue;
      out->add_objects(config::ToJsonString(r, -1));
    }
    return grpc::Status::OK;
  }

  grpc::Status Analyze(grpc::ServerContext*, const ambit::v1::AnalyzeRequest* req,
                       ambit::v1::AnalyzeResponse* out) override {
    auto snap = store_->Snapshot();
    for (const auto& m : config::Analyze(snap->resources, analysis_)) {
      if (!req->namespace_().empty() && m.resource.ns != req->namespace_()) continue;
      auto* msg = out->add_messages();
      msg->set_level(m.level);
      msg->set_code(m.code);
      msg->set_name(m.name);
      msg->set_kind(m.resource.kind);
      msg->set_namespace_(m.resource.ns);
      msg->set_resource_name(m.resource.name);
      msg->set_message(m.message);
      msg->set_text(m.ToString());
    }
    return grpc::Status::OK;
  }

  grpc::Status Apply(grpc::ServerContext*, const ambit::v1::ManifestRequest* req,
                     ambit::v1::ManifestResponse* out) override {
    auto outcome = controller_->Apply(ToManifests(*req));
    if (!outcome.ok()) return ToStatus(outcome.error());
    FillResponse(*outcome, store_->Snapshot()->generation, out);
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const ambit::v1::ManifestRequest* req,
                      ambit::v1::ManifestResponse* out) override {
    auto outcome = controller_->Delete(ToManifests(*req), req->ignore_not_found());
    if (!outcome.ok()) return ToStatus(outcome.error());
    FillResponse(*outcome, store_->Snapshot()->generation, out);
    return grpc::Status::OK;
  }

 private:
  const cluster::ClusterLayout layout_;
  const cluster::ClusterConfig config_;
  Store* store_;
  Reconciler* reconciler_;
  Controller* controller_;
  const config::AnalysisContext analysis_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeClusterService(const cluster::ClusterLayout& layout,
                                                  const cluster::ClusterConfig& config,
                                                  Store* store, Reconciler* reconciler,
                                                  Controller* controller,
                                                  const config::AnalysisContext& analysis) {
  return std::make_unique<ClusterServiceImpl>(layout, config, store, reconciler, controller, analysis);
}

}  // namespace ambit::control
