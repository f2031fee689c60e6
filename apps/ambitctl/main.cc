// ambitctl: the command-line interface of Ambit and its local cluster.
// Every command accepts --cluster NAME (default "ambit"); see docs/local-cluster.md.
// CLI11 2.1 (Debian 12) trips GCC 12's -Wnull-dereference inside its own headers.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "cluster/layout.h"
#include "ctl/cluster_commands.h"
#include "ctl/get_commands.h"

namespace {

int Fail(const ambit::Error& error) {
  std::fprintf(stderr, "error: %s\n", error.ToString().c_str());
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
  up->add_option("--nodes", nodes, "Number of nodes (default 2 for a new cluster)");
  auto* down = cluster->add_subcommand("down", "Remove every namespace, process and file of the cluster");

  // get
  auto* get = app.add_subcommand("get", "List nodes, pods or services");
  ambit::ctl::GetOptions get_options;
  get->add_option("what", get_options.what, "nodes | pods | services")->required();
  get->add_option("-n,--namespace", get_options.ns, "Only this namespace");
  get->add_option("-o,--output", get_options.output, "Output format: json");

  // --cluster is accepted after the subcommand as well.
  for (auto* sub : {up, down, get}) {
    sub->add_option("--cluster", cluster_name, "Cluster name");
  }

  CLI11_PARSE(app, argc, argv);

  if (up->parsed()) {
    std::optional<int> n;
    if (up->count("--nodes")) n = nodes;
    auto s = ambit::ctl::ClusterUp(cluster_name, n, ambit::ctl::FindAmbitd());
    if (!s.ok()) return Fail(s.error());
    std::printf("cluster %s is up\n", cluster_name.c_str());
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
  return 0;
}
