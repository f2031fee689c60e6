// ambitd: the control plane of a cluster (and, for a local cluster, its runtime).
//
//   ambitd --cluster NAME            serve the cluster (started by `ambitctl cluster up`)
//   ambitd supervise SPEC_FILE       internal: supervise one container
#include <unistd.h>

// CLI11 2.1 (Debian 12) trips GCC 12's -Wnull-dereference inside its own headers.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <string>

#include "cluster/layout.h"
#include "cluster/supervisor.h"
#include "control/daemon.h"
#include "core/duration.h"
#include "core/log.h"

namespace {

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "ambitd";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  // The supervisor mode is internal and must stay single-threaded: no CLI11, no logging setup.
  if (argc == 3 && std::string(argv[1]) == "supervise") {
    return ambit::cluster::RunSupervisor(argv[2]);
  }

  CLI::App app{"ambitd: Ambit control plane and local-cluster runtime"};
  std::string cluster_name(ambit::cluster::kDefaultCluster);
  std::string log_level = "info";
  app.add_option("--cluster", cluster_name, "Cluster name (state in /var/lib/ambit/NAME)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  std::string cert_ttl;
  app.add_option("--workload-cert-ttl", cert_ttl,
                 "Workload certificate lifetime for this run, e.g. 20s, 1h, 24h (10s-2160h; "
                 "default: the cluster's setting, 24h unless `cluster up --workload-cert-ttl`)");
  CLI11_PARSE(app, argc, argv);

  if (auto s = ambit::InitLogging("ambitd", log_level); !s.ok()) {
    std::fprintf(stderr, "ambitd: %s\n", s.error().ToString().c_str());
    return 2;
  }
  if (auto s = ambit::cluster::ValidateClusterName(cluster_name); !s.ok()) {
    std::fprintf(stderr, "ambitd: %s\n", s.error().ToString().c_str());
    return 2;
  }
  ambit::control::Daemon daemon(ambit::cluster::ClusterLayout(cluster_name), SelfExe());
  if (!cert_ttl.empty()) {
    auto ttl = ambit::ParseWorkloadCertTtl(cert_ttl, "--workload-cert-ttl");
    if (!ttl.ok()) {
      std::fprintf(stderr, "ambitd: %s\n", ttl.error().ToString().c_str());
      return 2;
    }
    daemon.SetWorkloadCertTtl(*ttl);
  }
  // Other services (CA, xDS) are registered here with daemon.AddService(...).
  if (auto s = daemon.Run(); !s.ok()) {
    std::fprintf(stderr, "ambitd: %s\n", s.error().ToString().c_str());
    return 1;
  }
  return 0;
}
