// ambitctl: the command-line interface of Ambit and its local cluster.
// Every command accepts --cluster NAME (default "ambit"); see docs/local-cluster.md.
// CLI11 2.1 (Debian 12) trips GCC 12's -Wnull-dereference inside its own headers.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "cluster/cluster_config.h"
#include "cluster/layout.h"
#include "ctl/apply_commands.h"
#include "ctl/cluster_commands.h"
#include "ctl/get_commands.h"
#include "ctl/pod_commands.h"
#include "ctl/proxy_config.h"

namespace {

int Fail(const ambit::Error& error) {
  std::string text = error.ToString();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::fprintf(stderr, "error: %s\n", text.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ambitctl: drive an Ambit cluster"};
  app.require_subcommand(1);
  std::string cluster_name(ambit::cluster::kDefaultCluster);
  app.add_option("--cluster", cluster_name, "Cluster name")->capture_default_str();

  // cluster up|down
  auto* cluster = app.add_subcommand("cluster", "Create or remove the local cluster");
  cluster->require_subcommand(1);
  auto* up = cluster->add_subcommand("up", "Create the cluster (idempotent) and start ambitd");
  int nodes = 0;
  ambit::ctl::UpOptions up_options;
  up->add_option("--nodes", nodes, "Number of nodes (default 2 for a new cluster)");
  up->add_option("--cni-bin-dir", up_options.cni_bin_dirs,
                 "Where CNI plugins are (repeatable; default /usr/lib/cni, /opt/cni/bin)");
  up->add_option("--cni-chain", up_options.cni_chain,
                 "A plugin config (JSON object with \"type\") chained after bridge (repeatable)");
  up->add_option("--redirect", up_options.redirect,
                 "In-pod redirect backend of the mesh for a new cluster: nftables (default) or iptables");
  up->add_flag("--no-mesh", up_options.no_mesh,
               "New cluster without the mesh data plane (no node agents, ambit-cni, ztunnels)");
  up->add_option("--workload-cert-ttl", up_options.workload_cert_ttl,
                 "Workload certificate lifetime, e.g. 20s, 1h, 24h (default 24h; 10s-2160h); "
                 "certificates are renewed at half-life. Kept in the cluster's settings");
  up->add_option("--ztunnel-arg", up_options.ztunnel_args,
                 "Appended to every ztunnel's command line, for a new cluster (repeatable; "
                 "write --ztunnel-arg=--workers=1)")
      ->allow_extra_args(false);
  up->add_option("--mesh-config", up_options.mesh_config,
                 "Istio MeshConfig YAML (or ConfigMap manifests) applied as the mesh ConfigMap "
                 "istio-system/istio once ambitd answers (docs/mesh-config.md)");
  up->add_option("--revision", up_options.revision,
                 "Control-plane revision of a new cluster (default: default); istio.io/rev labels "
                 "naming another revision are not managed");
  up->add_flag("--prometheus", up_options.prometheus,
               "Run a Prometheus scraping every ztunnel and waypoint, at a printed 127.0.0.1 port");
  auto* down =
      cluster->add_subcommand("down", "Remove every namespace, process and file of the cluster");
  auto* status = cluster->add_subcommand("status", "Show the cluster's parts and addresses (Prometheus URL)");

  // get
  auto* get = app.add_subcommand("get", "List nodes or stored objects of a kind");
  ambit::ctl::GetOptions get_options;
  get->add_option("what", get_options.what,
                  "nodes, or a kind as kubectl names it: pods (po), services (svc), namespaces (ns), "
                  "configmaps (cm), deployments (deploy), serviceaccounts (sa), "
                  "authorizationpolicies (ap), peerauthentications (pa), requestauthentications (ra), "
                  "virtualservices (vs), destinationrules (dr), serviceentries (se), gateways (gtw), "
                  "httproutes, grpcroutes")
      ->required();
  get->add_option("-n,--namespace", get_options.ns, "Only this namespace");
  get->add_flag("-A,--all-namespaces", get_options.all_namespaces, "Every namespace (the default)");
  get->add_option("-o,--output", get_options.output, "Output format: json or yaml");

  // analyze
  auto* analyze = app.add_subcommand(
      "analyze", "Report configuration that does not do what it seems to (istioctl analyze's codes)");
  std::string analyze_ns;
  bool analyze_all = false;
  analyze->add_option("-n,--namespace", analyze_ns, "Only findings about this namespace's objects");
  analyze->add_flag("-A,--all-namespaces", analyze_all, "Every namespace (the default)");

  // apply / delete
  ambit::ctl::ManifestOptions apply_options;
  auto* apply = app.add_subcommand("apply", "Create or update resources from Kubernetes YAML");
  apply->add_option("-f,--filename", apply_options.files, "File, directory or - (stdin)")
      ->required();
  apply->add_flag("--wait", apply_options.wait, "Wait until every pod of the input is ready");
  apply->add_option("--timeout", apply_options.timeout_seconds, "Seconds --wait waits")
      ->capture_default_str();
  ambit::ctl::ManifestOptions delete_options;
  auto* del = app.add_subcommand("delete", "Delete the resources named in Kubernetes YAML");
  del->add_option("-f,--filename", delete_options.files, "File, directory or - (stdin)")
      ->required();
  del->add_flag("--ignore-not-found", delete_options.ignore_not_found,
                "Resources that do not exist are not an error");

  // exec / logs
  auto* exec = app.add_subcommand("exec", "Run a command in a pod: exec NS/POD -- CMD ARGS...");
  std::string exec_pod, exec_ns;
  std::vector<std::string> exec_argv;
  exec->add_option("pod", exec_pod, "NAMESPACE/POD or POD")->required();
  exec->add_option("-n,--namespace", exec_ns, "Namespace when POD has none");
  exec->add_option("command", exec_argv, "Command and arguments (after --)")->required();
  auto* logs = app.add_subcommand("logs", "Print a container's output: logs NS/POD");
  std::string logs_pod, logs_ns, logs_container;
  bool logs_follow = false;
  logs->add_option("pod", logs_pod, "NAMESPACE/POD or POD")->required();
  logs->add_option("-n,--namespace", logs_ns, "Namespace when POD has none");
  logs->add_option("-c,--container", logs_container, "Container (default: the first)");
  logs->add_flag("-f,--follow", logs_follow, "Keep printing new output");

  // proxy-config
  auto* proxy = app.add_subcommand("proxy-config", "Show what each node's ztunnel knows (like istioctl ztunnel-config)");
  ambit::ctl::ProxyConfigOptions proxy_options;
  proxy->add_option("what", proxy_options.what,
                    "workloads | services | policies | certificates | connections")
      ->required();
  proxy->add_option("--node", proxy_options.node, "Only this node's ztunnel (default: every node)");
  proxy->add_option("-o,--output", proxy_options.output, "Output format: json (the raw /config_dump section)");

  // --cluster is accepted after the subcommand as well.
  for (auto* sub : {up, down, status, get, analyze, apply, del, exec, logs, proxy}) {
    sub->add_option("--cluster", cluster_name, "Cluster name");
  }

  CLI11_PARSE(app, argc, argv);

  if (up->parsed()) {
    if (up->count("--nodes")) up_options.nodes = nodes;
    auto s = ambit::ctl::ClusterUp(cluster_name, up_options, ambit::ctl::FindAmbitd());
    if (!s.ok()) return Fail(s.error());
    std::printf("cluster %s is up\n", cluster_name.c_str());
    auto config = ambit::cluster::LoadClusterConfig(ambit::cluster::ClusterLayout(cluster_name));
    if (config.ok() && config->prometheus.enabled) {
      std::printf("prometheus: http://127.0.0.1:%d/\n", config->prometheus.port);
    }
    return 0;
  }
  if (status->parsed()) {
    auto out = ambit::ctl::ClusterStatus(cluster_name);
    if (!out.ok()) return Fail(out.error());
    std::fputs(out->c_str(), stdout);
    return 0;
  }
  if (down->parsed()) {
    auto s = ambit::ctl::ClusterDown(cluster_name);
    if (!s.ok()) return Fail(s.error());
    std::printf("cluster %s removed\n", cluster_name.c_str());
    return 0;
  }
  if (get->parsed()) {
    get_options.cluster = cluster_name;
    auto out = ambit::ctl::Get(get_options);
    if (!out.ok()) return Fail(out.error());
    std::fputs(out->c_str(), stdout);
    return 0;
  }
  if (analyze->parsed()) {
    if (analyze_all && !analyze_ns.empty()) {
      return Fail(ambit::Error(ambit::ErrorCode::kInvalidArgument, "-A and -n exclude each other"));
    }
    bool failed = false;
    auto out = ambit::ctl::Analyze(cluster_name, analyze_ns, &failed);
    if (!out.ok()) return Fail(out.error());
    std::fputs(out->c_str(), stdout);
    return failed ? 79 : 0;  // istioctl analyze's exit code when it finds errors
  }
  if (proxy->parsed()) {
    proxy_options.cluster = cluster_name;
    auto out = ambit::ctl::ProxyConfig(proxy_options);
    if (!out.ok()) return Fail(out.error());
    std::fputs(out->text.c_str(), stdout);
    for (const auto& e : out->errors) std::fprintf(stderr, "error: %s\n", e.c_str());
    return out->errors.empty() ? 0 : 1;
  }
  if (apply->parsed() || del->parsed()) {
    auto& opts = apply->parsed() ? apply_options : delete_options;
    opts.cluster = cluster_name;
    auto out = apply->parsed() ? ambit::ctl::Apply(opts) : ambit::ctl::Delete(opts);
    if (!out.ok()) return Fail(out.error());
    std::fputs(out->c_str(), stdout);
    return 0;
  }
  if (exec->parsed()) {
    auto ref = ambit::ctl::ParsePodRef(exec_pod, exec_ns);
    if (!ref.ok()) return Fail(ref.error());
    auto code = ambit::ctl::Exec(cluster_name, *ref, exec_argv);
    if (!code.ok()) {
      Fail(code.error());
      return 127;
    }
    return *code;
  }
  if (logs->parsed()) {
    auto ref = ambit::ctl::ParsePodRef(logs_pod, logs_ns);
    if (!ref.ok()) return Fail(ref.error());
    auto s = ambit::ctl::Logs(cluster_name, *ref, logs_container, logs_follow);
    if (!s.ok()) return Fail(s.error());
    return 0;
  }
  return 0;
}
