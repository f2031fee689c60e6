#include "model/service_entries.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>

namespace ambit::model {
namespace {

namespace wl = istio::workload;
using nlohmann::json;

std::optional<std::string> Pack(const std::string& text) {
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) return std::string(reinterpret_cast<char*>(buf.data()), 4);
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) return std::string(reinterpret_cast<char*>(buf.data()), 16);
  return std::nullopt;
}

bool IsWildcard(const std::string& host) { return host.starts_with("*"); }

std::string KeyOf(const config::ServiceEntry& e) { return e.metadata.ns + "/" + e.metadata.name; }

// The entry's hosts without duplicates, in order.
std::vector<std::string> Hosts(const config::ServiceEntry& e) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& h : e.hosts) {
    if (seen.insert(h).second) out.push_back(h);
  }
  return out;
}

uint32_t TargetOf(const config::ServiceEntryPort& p) { return p.target_port != 0 ? p.target_port : p.number; }

// Next free address of a prefix, as text: IPv4 240.240.0.0/16 from .0.1, IPv6
// 2001:2::/48 from ::1 (only the low 32 bits are used).
std::optional<std::string> NextFree(bool v6, const std::set<std::string>& used, uint32_t* cursor) {
  for (; *cursor < 0xfffeu; ++*cursor) {
    const uint32_t n = *cursor + 1;
    std::array<unsigned char, 16> buf{};
    char text[INET6_ADDRSTRLEN];
    if (v6) {
      buf[0] = 0x20;
      buf[1] = 0x01;
      buf[3] = 0x02;
      buf[14] = static_cast<unsigned char>(n >> 8);
      buf[15] = static_cast<unsigned char>(n & 0xff);
      inet_ntop(AF_INET6, buf.data(), text, sizeof text);
    } else {
      buf[0] = 240;
      buf[1] = 240;
      buf[2] = static_cast<unsigned char>(n >> 8);
      buf[3] = static_cast<unsigned char>(n & 0xff);
      if (buf[3] == 0 || buf[3] == 255) continue;
      inet_ntop(AF_INET, buf.data(), text, sizeof text);
    }
    if (!used.contains(text)) {
      ++*cursor;
      return std::string(text);
    }
  }
  return std::nullopt;
}

void AddPort(wl::PortList* list, uint32_t service_port, uint32_t target) {
  wl::Port* p = list->add_ports();
  p->set_service_port(service_port);
  p->set_target_port(target);
}

}  // namespace

bool WantsAutoAddresses(const config::ServiceEntry& entry) {
  if (entry.resolution == "NONE" || !entry.addresses.empty()) return false;
  auto it = entry.metadata.labels.find(kAutoAllocateLabel);
  if (it != entry.metadata.labels.end()) {
    std::string v = it->second;
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "false") return false;
  }
  return true;
}

ServiceEntryAddresses AllocateServiceEntryAddresses(const std::vector<const config::ServiceEntry*>& entries,
                                                    const ServiceEntryAddresses& previous) {
  ServiceEntryAddresses out;
  std::set<std::string> used;
  // Keep what still applies first, so new hosts never take a kept address.
  for (const auto* e : entries) {
    if (!WantsAutoAddresses(*e)) continue;
    auto prev = previous.find(KeyOf(*e));
    if (prev == previous.end()) continue;
    for (const auto& host : Hosts(*e)) {
      if (IsWildcard(host)) continue;
      auto h = prev->second.find(host);
      if (h == prev->second.end() || h->second.empty()) continue;
      out[KeyOf(*e)][host] = h->second;
      used.insert(h->second.begin(), h->second.end());
    }
  }
  uint32_t v4 = 0, v6 = 0;
  std::vector<const config::ServiceEntry*> ordered(entries.begin(), entries.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const auto* a, const auto* b) { return KeyOf(*a) < KeyOf(*b); });
  for (const auto* e : ordered) {
    if (!WantsAutoAddresses(*e)) continue;
    for (const auto& host : Hosts(*e)) {
      if (IsWildcard(host) || out[KeyOf(*e)].contains(host)) continue;
      std::vector<std::string> addrs;
      if (auto a = NextFree(false, used, &v4)) addrs.push_back(*a);
      if (auto a = NextFree(true, used, &v6)) addrs.push_back(*a);
      used.insert(addrs.begin(), addrs.end());
      out[KeyOf(*e)][host] = std::move(addrs);
    }
    if (out[KeyOf(*e)].empty()) out.erase(KeyOf(*e));
  }
  return out;
}

void AddServiceEntryServices(const MeshSettings& mesh, const ServiceEntryInput& in,
                             std::map<std::string, wl::Address>* out, std::vector<std::string>* warnings) {
  const config::ServiceEntry& e = *in.entry;
  const std::string where = "ServiceEntry " + KeyOf(e);
  std::vector<std::pair<std::string, uint32_t>> explicit_addresses;  // packed, prefix length
  for (const auto& text : e.addresses) {
    std::string ip = text;
    uint32_t length = 0;
    if (auto slash = text.find('/'); slash != std::string::npos) {
      ip = text.substr(0, slash);
      length = static_cast<uint32_t>(std::strtoul(text.c_str() + slash + 1, nullptr, 10));
    }
    if (auto packed = Pack(ip)) {
      explicit_addresses.emplace_back(*packed, length);
    } else {
      warnings->push_back(where + ": address '" + text + "' is not an IP or CIDR; left out");
    }
  }
  for (const auto& host : Hosts(e)) {
    const std::string key = e.metadata.ns + "/" + host;
    if (out->contains(key)) {
      warnings->push_back(where + ": host " + host + " is already defined in namespace " + e.metadata.ns +
                          "; this entry's definition is left out");
      continue;
    }
    wl::Address address;
    wl::Service* s = address.mutable_service();
    s->set_name(e.metadata.name);
    s->set_namespace_(e.metadata.ns);
    s->set_hostname(host);
    auto add = [&](const std::string& packed, uint32_t length) {
      wl::NetworkAddress* a = s->add_addresses();
      a->set_network(mesh.network);
      a->set_address(packed);
      if (length != 0) a->set_length(length);
    };
    if (!explicit_addresses.empty()) {
      for (const auto& [packed, length] : explicit_addresses) add(packed, length);
    } else if (auto it = in.auto_addresses.find(host); it != in.auto_addresses.end()) {
      for (const auto& text : it->second) {
        if (auto packed = Pack(text)) add(*packed, 0);
      }
    }
    for (const auto& p : e.ports) {
      wl::Port* port = s->add_ports();
      port->set_service_port(p.number);
      port->set_target_port(TargetOf(p));
    }
    const json& sans = e.spec.contains("subjectAltNames") ? e.spec["subjectAltNames"] : json();
    for (const auto& san : sans) {
      if (san.is_string()) s->add_subject_alt_names(san.get<std::string>());
    }
    out->emplace(key, std::move(address));
  }
}

void AddServiceEntryWorkloads(const MeshSettings& mesh, const ServiceEntryInput& in,
                              std::map<std::string, wl::Address>* out, std::vector<std::string>* warnings) {
  const config::ServiceEntry& e = *in.entry;
  if (e.workload_selector) return;
  struct Endpoint {
    std::string address;
    std::map<std::string, uint32_t> ports;  // port name -> number
    std::string network;
    std::string service_account;
  };
  std::vector<Endpoint> endpoints;
  std::vector<std::string> hosts = Hosts(e);
  const json& list = e.spec.contains("endpoints") ? e.spec["endpoints"] : json();
  const bool implicit = (list.is_null() || list.empty()) && (e.resolution == "DNS" || e.resolution == "DNS_ROUND_ROBIN");
  if (implicit) {
    for (const auto& h : hosts) {
      if (!IsWildcard(h)) endpoints.push_back({h, {}, "", ""});
    }
  } else {
    for (const auto& ep : list) {
      Endpoint out_ep;
      out_ep.address = ep.value("address", "");
      out_ep.network = ep.value("network", "");
      out_ep.service_account = ep.value("serviceAccount", "");
      if (ep.contains("ports") && ep["ports"].is_object()) {
        for (const auto& [name, number] : ep["ports"].items()) {
          if (number.is_number_integer()) out_ep.ports[name] = number.get<uint32_t>();
        }
      }
      if (out_ep.address.empty()) {
        warnings->push_back("ServiceEntry " + KeyOf(e) + ": an endpoint without address is left out");
        continue;
      }
      endpoints.push_back(std::move(out_ep));
    }
  }
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const Endpoint& ep = endpoints[i];
    const std::string uid =
        mesh.cluster_id + "/networking.istio.io/ServiceEntry/" + e.metadata.ns + "/" + e.metadata.name + "/" + ep.address;
    if (out->contains(uid)) continue;  // the same address listed twice
    wl::Address address;
    wl::Workload* w = address.mutable_workload();
    w->set_uid(uid);
    w->set_name(e.metadata.name);
    w->set_namespace_(e.metadata.ns);
    if (auto packed = Pack(ep.address)) {
      w->add_addresses(*packed);
    } else {
      w->set_hostname(ep.address);
    }
    w->set_network(ep.network.empty() ? mesh.network : ep.network);
    w->set_tunnel_protocol(wl::NONE);
    w->set_trust_domain(mesh.trust_domain);
    w->set_service_account(ep.service_account.empty() ? "default" : ep.service_account);
    w->set_workload_type(wl::POD);
    w->set_workload_name(e.metadata.name);
    w->set_canonical_name(e.metadata.name);
    w->set_canonical_revision("latest");
    w->set_status(wl::HEALTHY);
    w->set_cluster_id(mesh.cluster_id);
    // An implicit endpoint serves only the host it stands for.
    const std::vector<std::string> served = implicit ? std::vector<std::string>{ep.address} : hosts;
    for (const auto& host : served) {
      wl::PortList& ports = (*w->mutable_services())[e.metadata.ns + "/" + host];
      for (const auto& p : e.ports) {
        auto named = ep.ports.find(p.name);
        AddPort(&ports, p.number, named != ep.ports.end() ? named->second : TargetOf(p));
      }
    }
    out->emplace(uid, std::move(address));
  }
}

void AddServiceEntryMembership(const ServiceEntryInput& in, const config::Pod& pod, wl::Workload* pod_workload) {
  const config::ServiceEntry& e = *in.entry;
  if (!e.workload_selector || e.metadata.ns != pod.metadata.ns) return;
  if (!config::SelectorMatches(*e.workload_selector, pod.metadata.labels)) return;
  for (const auto& host : Hosts(e)) {
    wl::PortList& ports = (*pod_workload->mutable_services())[e.metadata.ns + "/" + host];
    for (const auto& p : e.ports) AddPort(&ports, p.number, TargetOf(p));
  }
}

}  // namespace ambit::model
