#include "dns/resolver.h"

#include <algorithm>
#include <map>
#include <set>

namespace ambit::dns {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::size_t LabelCount(std::string_view name) {
  if (name.empty()) return 0;
  return static_cast<std::size_t>(std::count(name.begin(), name.end(), '.')) + 1;
}

std::string LastLabel(std::string_view name) {
  auto dot = name.rfind('.');
  return std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

// |name| with |suffix| removed when |name| is "<something>.<suffix>".
std::string TrimDomain(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() + 1 || !name.ends_with(suffix)) return "";
  if (name[name.size() - suffix.size() - 1] != '.') return "";
  return std::string(name.substr(0, name.size() - suffix.size() - 1));
}

// The Kubernetes FQDNs |name| may stand for, given the label count.
std::vector<std::string> KubeFqdns(std::string_view name, std::string_view ns, std::string_view domain) {
  const std::string svc_domain = "svc." + std::string(domain);
  const std::string ns_domain = std::string(ns) + "." + svc_domain;
  std::vector<std::string> out;
  const std::string n(name);
  switch (LabelCount(name)) {
    case 1:
      out.push_back(n + "." + ns_domain);  // <service>
      break;
    case 2:
      out.push_back(n + "." + svc_domain);  // <service>.<namespace>
      out.push_back(n + "." + ns_domain);   // <pod-hostname>.<subdomain>
      break;
    case 3:
      if (LastLabel(name) == "svc") out.push_back(n + "." + std::string(domain));  // <service>.<ns>.svc
      out.push_back(n + "." + svc_domain);  // <pod-hostname>.<subdomain>.<ns>
      break;
    case 4:
      if (LastLabel(name) == "svc") out.push_back(n + "." + std::string(domain));
      break;
    default:
      break;
  }
  return out;
}

// name, *.parent, *.grandparent, ... (no bare "*").
std::vector<std::string> Wildcards(std::string_view name) {
  std::vector<std::string> out{std::string(name)};
  std::string_view rest = name;
  while (true) {
    auto dot = rest.find('.');
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
    out.push_back("*." + std::string(rest));
  }
  return out;
}

bool IsV4(std::string_view packed) { return packed.size() == 4; }

}  // namespace

NameTable::NameTable(const state::WorkloadState& snapshot) {
  const auto& contents = snapshot.contents();
  // Headless services need their members' addresses.
  std::map<std::string, std::vector<std::string>, std::less<>> members;  // key -> packed ips
  std::set<std::string, std::less<>> headless;
  for (const auto& [key, svc] : contents.services) {
    if (svc->vips.empty()) headless.insert(key);
  }
  if (!headless.empty()) {
    for (const auto& [uid, w] : contents.workloads) {
      if (!w->healthy || w->addresses.empty()) continue;
      for (const auto& [key, ports] : w->services) {
        if (headless.contains(key)) {
          auto& list = members[key];
          list.insert(list.end(), w->addresses.begin(), w->addresses.end());
        }
      }
    }
  }
  for (const auto& [key, svc] : contents.services) {
    Entry e;
    e.service = svc.get();
    if (auto it = members.find(key); it != members.end()) e.endpoint_addresses = it->second;
    by_host_[Lower(svc->hostname)].push_back(std::move(e));
  }
}

const std::vector<NameTable::Entry>* NameTable::Find(std::string_view hostname) const {
  auto it = by_host_.find(std::string(hostname));
  return it == by_host_.end() ? nullptr : &it->second;
}

std::vector<Alias> Aliases(std::string_view name, std::string_view client_ns, std::string_view domain) {
  std::vector<Alias> out;
  std::set<std::string> seen;
  auto add = [&](std::string n, std::string stripped) {
    if (n.empty() || !seen.insert(n).second) return;
    out.push_back({std::move(n), std::move(stripped)});
  };
  add(std::string(name), "");
  for (auto& fqdn : KubeFqdns(name, client_ns, domain)) add(std::move(fqdn), "");
  const std::string svc_domain = "svc." + std::string(domain);
  const std::string search[] = {std::string(client_ns) + "." + svc_domain, svc_domain, std::string(domain)};
  for (const auto& suffix : search) {
    std::string stripped = TrimDomain(name, suffix);
    if (stripped.empty()) continue;
    add(stripped, stripped);
    for (auto& fqdn : KubeFqdns(stripped, client_ns, domain)) add(std::move(fqdn), stripped);
  }
  return out;
}

Decision Resolve(const Question& question, const Client& client, const NameTable& names,
                 const ResolverSettings& settings) {
  Decision d;
  if (question.klass != kClassIn || (question.type != kTypeA && question.type != kTypeAaaa)) return d;
  if (question.name.empty()) return d;
  const std::string kube_suffix = ".svc." + settings.domain;

  for (const Alias& alias : Aliases(question.name, client.ns, settings.domain)) {
    for (const std::string& candidate : Wildcards(alias.name)) {
      const auto* entries = names.Find(candidate);
      if (entries == nullptr) continue;
      const NameTable::Entry* best = nullptr;
      for (const auto& e : *entries) {
        const bool usable = !e.service->vips.empty() || e.service->hostname.ends_with(kube_suffix);
        if (!usable) continue;
        if (best == nullptr || (e.service->ns == client.ns && best->service->ns != client.ns)) best = &e;
      }
      if (best == nullptr) continue;

      d.kind = Decision::Kind::kAnswer;
      d.service = best->service->Key();
      d.reply.authoritative = true;
      d.reply.rcode = kRcodeNoError;
      const bool want_v4 = question.type == kTypeA;
      if (!want_v4 && !settings.ipv6) return d;  // NODATA
      std::vector<std::string> addresses;
      if (best->service->vips.empty()) {
        for (const auto& ip : best->endpoint_addresses) {
          if (IsV4(ip) == want_v4) addresses.push_back(ip);
        }
      } else {
        for (const auto& vip : best->service->vips) {
          if (IsV4(vip.address) == want_v4 && vip.network == client.network) addresses.push_back(vip.address);
        }
      }
      if (addresses.empty()) return d;  // NODATA: the name exists
      std::string owner = question.name;
      const bool wildcard = candidate.starts_with("*.");
      if (!alias.stripped.empty() && !wildcard) {
        d.reply.answers.push_back({question.name, kTypeCname, settings.ttl, alias.stripped});
        owner = alias.stripped;
      }
      for (auto& ip : addresses) {
        d.reply.answers.push_back({owner, want_v4 ? kTypeA : kTypeAaaa, settings.ttl, std::move(ip)});
      }
      return d;
    }
  }
  return d;
}

}  // namespace ambit::dns
