#include "control/daemon.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "ca/cluster_ca.h"
#include "cluster/process.h"
#include "cluster/subprocess.h"
#include "cluster/topology.h"
#include "control/cluster_service.h"
#include "control/controller.h"
#include "control/mesh_agents.h"
#include "control/mesh_scope.h"
#include "control/monitoring.h"
#include "control/prometheus.h"
#include "control/pod_node_authorizer.h"
#include "control/policy_filter.h"
#include "control/pod_runtime.h"
#include "control/reconciler.h"
#include "control/store.h"
#include "control/xds_publisher.h"
#include "core/duration.h"
#include "core/log.h"
#include "xds/delta_ads_server.h"
#include "xds/resource_store.h"

namespace ambit::control {
namespace {

// |n| characters of [a-z0-9] from the kernel's random source.
std::string RandomName(int n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < n; ++i) out += kAlphabet[rd() % (sizeof kAlphabet - 1)];
  return out;
}

}  // namespace

Daemon::Daemon(cluster::ClusterLayout layout, std::string self_exe)
    : layout_(std::move(layout)), self_exe_(std::move(self_exe)) {}

Daemon::~Daemon() = default;

void Daemon::AddService(grpc::Service* service) { extra_services_.push_back(service); }

Status Daemon::Run() {
  // Termination signals are taken synchronously below; block them before any
  // thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  AMBIT_ASSIGN_OR_RETURN(cluster::ClusterConfig config, cluster::LoadClusterConfig(layout_));
  if (cert_ttl_override_) config.ca.workload_cert_ttl = *cert_ttl_override_;
  if (auto other = cluster::ReadPidFile(layout_.PidFile());
      other && other->pid != ::getpid() && cluster::IsAlive(*other)) {
    return Error(ErrorCode::kAlreadyExists, "ambitd for cluster '" + layout_.name() +
                                                "' is already running (pid " +
                                                std::to_string(other->pid) + ")");
  }
  auto self = cluster::IdentifyProcess(::getpid());
  AMBIT_RETURN_IF_ERROR(cluster::WritePidFile(layout_.PidFile(), *self));

  AMBIT_LOG_INFO("cluster {}: ensuring {} node(s)", config.name, config.node_count);
  AMBIT_RETURN_IF_ERROR(cluster::EnsureTopology(layout_, config.node_count));

  AMBIT_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(layout_.StoreFile()));
  // The CA: material in <state>/ca, one bearer credential per node in
  // <state>/nodes/<node>/credential, pods' identities checked against the store.
  const std::string cert_ttl = FormatDurationSeconds(config.ca.workload_cert_ttl);
  ca::CaOptions ca_options;
  ca_options.default_workload_ttl = config.ca.workload_cert_ttl;
  AMBIT_LOG_INFO("cluster {}: workload certificates live {}", config.name, cert_ttl);
  AMBIT_ASSIGN_OR_RETURN(std::unique_ptr<ca::ClusterCa> cluster_ca,
                         ca::ClusterCa::Open(layout_.StateDir() + "/ca", layout_.name(), ca_options));
  for (const auto& node : cluster::DescribeNodes(layout_, config.node_count)) {
    std::error_code ec;
    std::filesystem::create_directories(layout_.NodeDir(node.name), ec);
    if (ec)
      return Error(ErrorCode::kIo, "creating " + layout_.NodeDir(node.name) + ": " + ec.message());
    AMBIT_RETURN_IF_ERROR(
        cluster_ca->WriteNodeCredential(node.name, layout_.NodeDir(node.name) + "/credential"));
  }
  // Mesh settings (revision, CA trust domain, the mesh ConfigMap): shared by
  // the model and the node agents.
  MeshScope mesh_scope(config.mesh.revision, cluster_ca->authority().options().trust_domain);
  PodRuntime runtime(layout_, config, self_exe_);
  // The mesh (node agents, ZDS, ztunnels): declared before the reconciler,
  // whose observer feeds it, so it outlives the reconciler thread.
  std::unique_ptr<MeshAgents> mesh;
  if (config.mesh.enabled) {
    AMBIT_ASSIGN_OR_RETURN(mesh, MeshAgents::Start(layout_, config, store.get(), &mesh_scope,
                                                   self_exe_, runtime.LoadRealized()));
  }
  // Prometheus (cluster up --prometheus): also fed by the reconciler's observer.
  std::unique_ptr<PrometheusAgent> prometheus;
  if (config.prometheus.enabled) {
    AMBIT_ASSIGN_OR_RETURN(prometheus, PrometheusAgent::Start(layout_, config, self_exe_));
  }
  Reconciler reconciler(store.get(), &runtime);
  PlanContext plan_context;
  plan_context.node_count = config.node_count;
  plan_context.command_exists = [](const std::string& program) {
    return cluster::FindExecutable(program).has_value();
  };
  plan_context.random = RandomName;
  // Waypoint Gateways run build/bin/waypoint (beside ambitd) in their pod; the
  // pod's NODE_NAME picks the node credential the CA and xDS accept.
  const std::string waypoint_binary =
      std::filesystem::path(self_exe_).parent_path().string() + "/waypoint";
  plan_context.waypoint_command = [this, waypoint_binary, cert_ttl](const config::Gateway& gw) {
    return std::vector<std::string>{waypoint_binary,
                                    "--name", gw.metadata.name,
                                    "--namespace", gw.metadata.ns,
                                    "--xds-address", "unix:" + layout_.SocketPath(),
                                    "--node-credential-dir", layout_.StateDir() + "/nodes",
                                    "--secret-ttl", cert_ttl};
  };
  Controller controller(store.get(), &reconciler, plan_context, mesh_scope.AnalysisContext(),
                        &mesh_scope);

  // /metrics on <node1 ip>:15014 (istiod's monitoring port), inside the
  // cluster where its Prometheus scrapes. The families are registered before
  // any server starts.
  Monitoring monitoring;
  ca::CaMetrics ca_metrics(monitoring.registry(), cluster_ca->authority());

  PodNodeAuthorizer authorizer(store.get());
  std::unique_ptr<grpc::Service> ca_service = cluster_ca->MakeService(authorizer, &ca_metrics);

  // Delta xDS for the node proxies, authenticated with the same node credentials.
  xds::ResourceStore xds_resources;
  xds::FunctionNodeAuthenticator xds_auth(
      [&cluster_ca](std::string_view token) -> Result<std::string> {
        AMBIT_ASSIGN_OR_RETURN(ca::NodeCredential cred, cluster_ca->verifier().Verify(token));
        return cred.node;
      });
  // Each proxy receives only the policies its workloads need.
  PolicyAudienceFilter policy_filter;
  xds::DeltaAdsServer ads(xds_resources, xds_auth, &policy_filter);
  ads.EnableMetrics(monitoring.registry());
  XdsPublisher publisher(&xds_resources, &mesh_scope, &policy_filter);
  reconciler.SetObserver([&publisher, &mesh, &prometheus](const StoreState& state, const RuntimeView& view) {
    publisher.Publish(state, view);
    if (mesh) mesh->Observe(std::make_shared<const RuntimeView>(view));
    if (prometheus) prometheus->Observe(state, view);
  });

  reconciler.Start();

  auto cluster_service = MakeClusterService(layout_, config, store.get(), &reconciler, &controller,
                                            mesh_scope.AnalysisContext());
  const std::string socket = layout_.SocketPath();
  ::unlink(socket.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(cluster_service.get());
  builder.RegisterService(ca_service.get());
  builder.RegisterService(ads.service());
  for (auto* s : extra_services_) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    return Error(ErrorCode::kIo, "cannot serve gRPC on unix:" + socket);
  }
  ::chmod(socket.c_str(), 0600);
  AMBIT_LOG_INFO("cluster {}: serving on unix:{}", config.name, socket);
  {
    const cluster::NodeInfo node1 = cluster::DescribeNodes(layout_, config.node_count).front();
    auto addr = net::SocketAddress::Parse(node1.ip + ":" + std::to_string(kMonitoringPort));
    Status started = addr.ok() ? monitoring.Start(node1.netns_path, *addr) : Status(addr.error());
    // The control plane serves without its metrics rather than not at all.
    if (started.ok()) {
      AMBIT_LOG_INFO("cluster {}: metrics on http://{}/metrics (in {})", config.name,
                     monitoring.local_address().ToString(), node1.netns_path);
    } else {
      AMBIT_LOG_ERROR("cluster {}: no metrics endpoint: {}", config.name,
                      started.error().ToString());
    }
  }
  if (mesh) AMBIT_RETURN_IF_ERROR(mesh->Open());

  int sig = 0;
  while (::sigwait(&signals, &sig) != 0) {
  }
  AMBIT_LOG_INFO("cluster {}: signal {}, stopping (pods keep running)", config.name, sig);
  monitoring.Stop();
  ads.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  reconciler.Stop();
  mesh.reset();  // pods keep their mesh rules; ztunnels keep running
  prometheus.reset();  // Prometheus keeps running; its forwarder stops with ambitd
  ::unlink(socket.c_str());
  ::unlink(layout_.PidFile().c_str());
  return Ok();
}

}  // namespace ambit::control
