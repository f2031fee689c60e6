// ProxyConfig: what ztunnel (node::ZtunnelConfig) and the waypoint
// (waypoint::WaypointConfig) are both configured with. Each derives from it
// and adds its own fields.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "net/socket_address.h"

namespace ambit::caclient {
class CaClient;
}

namespace ambit::proxy {

struct ProxyConfig {
  std::string node_name;        // cluster node the proxy runs on (required): xDS NODE_NAME
  std::string xds_address;      // "unix:/path/ambitd.sock" (required)
  std::string ca_address;       // defaults to xds_address
  std::string credential_file;  // the node's bearer token, re-read on each connect ("" = none)
  std::string trust_domain = "cluster.local";
  std::string cluster_id = "Kubernetes";
  std::string instance_ip;  // own IP ("" = unknown), reported to xDS (INSTANCE_IPS)
  std::size_t workers = 2;  // data-plane loops (0 = one per core)
  net::SocketAddress admin_address{net::IpAddress::Loopback4(), 15000};
  net::SocketAddress metrics_address{net::IpAddress(), 15020};
  net::SocketAddress readiness_address{net::IpAddress(), 15021};
  // Lifetime requested for workload certificates (ztunnel's SECRET_TTL);
  // renewed at half-life.
  std::chrono::seconds secret_ttl{24 * 3600};
  // Test seam: use this CA client instead of a gRPC one to ca_address.
  std::shared_ptr<caclient::CaClient> ca_client;
};

}  // namespace ambit::proxy
