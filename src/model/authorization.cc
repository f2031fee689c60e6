#include "model/authorization.h"

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

#include "authz/string_pattern.h"
#include "config/ip_prefix.h"

namespace ambit::model {
namespace {

namespace pb = istio::security;
using json = nlohmann::json;

constexpr std::string_view kAuthorizationPolicy = "AuthorizationPolicy";
constexpr std::string_view kPeerAuthentication = "PeerAuthentication";

const json& Member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// The string items of object[key] (anything else is skipped: the parser
// already rejected it).
std::vector<std::string> StringItems(const json& object, const char* key) {
  std::vector<std::string> out;
  const json& list = Member(object, key);
  if (!list.is_array()) return out;
  for (const json& v : list) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Go's strconv.ParseBool, which istiod uses for istio.io/dry-run.
std::optional<bool> ParseBool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

bool IsEmpty(const pb::Match& m) { return m.ByteSizeLong() == 0; }

// Ordering for "the oldest policy wins": creationTimestamp (RFC 3339, those
// with one first), then name.
template <typename T>
bool Older(const T* a, const T* b) {
  const auto& ma = a->metadata;
  const auto& mb = b->metadata;
  return std::make_tuple(ma.creation_timestamp.empty(), ma.creation_timestamp, ma.name) <
         std::make_tuple(mb.creation_timestamp.empty(), mb.creation_timestamp, mb.name);
}

// Warnings about one rule, collected while lowering it.
class RuleLowering {
 public:
  RuleLowering(const config::AuthorizationPolicy& ap, std::string prefix,
               std::vector<std::string>* notes)
      : ap_(ap), prefix_(std::move(prefix)), notes_(notes) {}

  void Strings(const json& object, const char* key, const std::string& where,
               google::protobuf::RepeatedPtrField<pb::StringMatch>* out, bool principal) {
    for (const std::string& v : StringItems(object, key)) {
      if (principal && v.starts_with("spiffe://")) {
        notes_->push_back(prefix_ + where + "." + key + ": " + Quote(v) +
                          " never matches: principals are written without 'spiffe://' "
                          "(e.g. cluster.local/ns/default/sa/curl)");
      }
      *out->Add() = authz::StringMatchFromPattern(v);
    }
  }

  void Ips(const std::vector<std::string>& values, const std::string& where,
           google::protobuf::RepeatedPtrField<pb::Address>* out) {
    for (const std::string& v : values) {
      std::optional<config::IpPrefix> p = config::ParseIpOrCidr(v);
      if (!p) {
        notes_->push_back(prefix_ + where + ": " + Quote(v) +
                          " is not an IP address or CIDR range; left out");
        continue;
      }
      pb::Address* a = out->Add();
      a->set_address(p->bytes);
      a->set_length(p->length);
    }
  }

  void Ports(const std::vector<std::string>& values, const std::string& where,
             google::protobuf::RepeatedField<uint32_t>* out) {
    for (const std::string& v : values) {
      std::optional<uint32_t> port = config::ParsePortString(v);
      if (!port) {
        notes_->push_back(prefix_ + where + ": " + Quote(v) + " is not a port number; left out");
        continue;
      }
      out->Add(*port);
    }
  }

  void ServiceAccounts(const std::vector<std::string>& values,
                       google::protobuf::RepeatedPtrField<pb::ServiceAccountMatch>* out) {
    for (const std::string& v : values) {
      pb::ServiceAccountMatch* m = out->Add();
      const size_t slash = v.find('/');
      if (slash == std::string::npos) {
        m->set_namespace_(ap_.metadata.ns);
        m->set_serviceaccount(v);
      } else {
        m->set_namespace_(v.substr(0, slash));
        m->set_serviceaccount(v.substr(slash + 1));
      }
    }
  }

 private:
  const config::AuthorizationPolicy& ap_;
  std::string prefix_;
  std::vector<std::string>* notes_;
};

bool IsL4ConditionKey(std::string_view key) {
  return key == "source.ip" || key == "source.namespace" || key == "source.principal" ||
         key == "destination.ip" || key == "destination.port";
}

struct LoweredRule {
  pb::Rule rule;
  std::vector<std::string> http_fields;  // where HTTP-only attributes were found
  std::vector<std::string> dead_parts;   // clauses left with nothing to match
};

// istiod's handleRule: clauses `to`, then `from`, then one per `when`.
LoweredRule LowerRule(const config::AuthorizationPolicy& ap, const json& rule, size_t index,
                      std::vector<std::string>* notes) {
  LoweredRule out;
  RuleLowering lower(ap, "rules[" + std::to_string(index) + "].", notes);
  auto clause_dead = [](const pb::Clause& c) {
    return std::all_of(c.matches().begin(), c.matches().end(), IsEmpty);
  };

  const json& to = Member(rule, "to");
  if (to.is_array() && !to.empty()) {
    pb::Clause* clause = out.rule.add_clauses();
    for (size_t i = 0; i < to.size(); ++i) {
      const json& op = Member(to[i], "operation");
      const std::string where = "to[" + std::to_string(i) + "].operation";
      pb::Match* m = clause->add_matches();
      lower.Ports(StringItems(op, "ports"), where + ".ports", m->mutable_destination_ports());
      lower.Ports(StringItems(op, "notPorts"), where + ".notPorts", m->mutable_not_destination_ports());
      for (const char* f : {"hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"}) {
        if (!StringItems(op, f).empty()) out.http_fields.push_back(where + "." + f);
      }
    }
    if (clause_dead(*clause)) out.dead_parts.push_back("to");
  }

  const json& from = Member(rule, "from");
  if (from.is_array() && !from.empty()) {
    pb::Clause* clause = out.rule.add_clauses();
    for (size_t i = 0; i < from.size(); ++i) {
      const json& src = Member(from[i], "source");
      const std::string where = "from[" + std::to_string(i) + "].source";
      pb::Match* m = clause->add_matches();
      lower.Ips(StringItems(src, "ipBlocks"), where + ".ipBlocks", m->mutable_source_ips());
      lower.Ips(StringItems(src, "notIpBlocks"), where + ".notIpBlocks", m->mutable_not_source_ips());
      lower.Strings(src, "namespaces", where, m->mutable_namespaces(), false);
      lower.Strings(src, "notNamespaces", where, m->mutable_not_namespaces(), false);
      lower.ServiceAccounts(StringItems(src, "serviceAccounts"), m->mutable_service_accounts());
      lower.ServiceAccounts(StringItems(src, "notServiceAccounts"), m->mutable_not_service_accounts());
      lower.Strings(src, "principals", where, m->mutable_principals(), true);
      lower.Strings(src, "notPrincipals", where, m->mutable_not_principals(), true);
      for (const char* f : {"requestPrincipals", "notRequestPrincipals", "remoteIpBlocks",
                            "notRemoteIpBlocks"}) {
        if (!StringItems(src, f).empty()) out.http_fields.push_back(where + "." + f);
      }
    }
    if (clause_dead(*clause)) out.dead_parts.push_back("from");
  }

  const json& when = Member(rule, "when");
  for (size_t i = 0; when.is_array() && i < when.size(); ++i) {
    const json& cond = when[i];
    const std::string key = Member(cond, "key").is_string() ? Member(cond, "key").get<std::string>() : "";
    const std::string where = "when[" + std::to_string(i) + "]";
    pb::Match* m = out.rule.add_clauses()->add_matches();
    if (!IsL4ConditionKey(key)) {
      out.http_fields.push_back(where + " (key " + Quote(key) + ")");
    } else {
      for (bool negative : {false, true}) {
        const char* field = negative ? "notValues" : "values";
        const std::string at = where + "." + field;
        if (key == "source.namespace") {
          lower.Strings(cond, field, where, negative ? m->mutable_not_namespaces() : m->mutable_namespaces(), false);
        } else if (key == "source.principal") {
          lower.Strings(cond, field, where, negative ? m->mutable_not_principals() : m->mutable_principals(), true);
        } else if (key == "source.ip") {
          lower.Ips(StringItems(cond, field), at, negative ? m->mutable_not_source_ips() : m->mutable_source_ips());
        } else if (key == "destination.ip") {
          lower.Ips(StringItems(cond, field), at,
                    negative ? m->mutable_not_destination_ips() : m->mutable_destination_ips());
        } else {  // destination.port
          lower.Ports(StringItems(cond, field), at,
                      negative ? m->mutable_not_destination_ports() : m->mutable_destination_ports());
        }
      }
    }
    if (IsEmpty(*m)) out.dead_parts.push_back(where);
  }
  return out;
}

}  // namespace

std::string PolicyWarning::ToString() const { return object.ToString() + ": " + message; }

PolicyModel::PolicyModel(const AmbientInput& input) : mesh_(input.mesh) {
  for (const config::Gateway* gw : input.gateways) {
    gateways_[{gw->metadata.ns, gw->metadata.name}] = gw;
  }
  for (const config::AuthorizationPolicy* ap : input.authorization_policies) {
    LowerAuthorizationPolicy(*ap);
  }
  LowerPeerAuthentications(input.peer_authentications);
  CheckPods(input.pods);
}

void PolicyModel::Warn(std::string_view kind, const config::ObjectMeta& meta, std::string message) {
  warnings_.push_back({config::ResourceKey{std::string(kind), meta.ns, meta.name}, std::move(message)});
}

void PolicyModel::LowerAuthorizationPolicy(const config::AuthorizationPolicy& ap) {
  const config::ObjectMeta& meta = ap.metadata;
  auto warn = [&](std::string message) { Warn(kAuthorizationPolicy, meta, std::move(message)); };
  const std::string key = meta.ns + "/" + meta.name;

  bool dry_run = false;
  if (auto it = meta.annotations.find(std::string(kDryRunAnnotation));
      it != meta.annotations.end() && !it->second.empty()) {
    if (std::optional<bool> v = ParseBool(it->second)) {
      dry_run = *v;
    } else {
      warn("annotation " + std::string(kDryRunAnnotation) + ": " + Quote(it->second) +
           " is not a boolean; the policy is enforced (not dry-run)");
    }
  }

  pb::Action action;
  if (ap.action == "ALLOW") {
    action = pb::ALLOW;
  } else if (ap.action == "DENY") {
    action = pb::DENY;
  } else {
    warn("action " + ap.action +
         " is not supported: neither ztunnel nor the waypoint enforces it; the policy is stored "
         "but has no effect");
    return;
  }

  pb::Scope scope = pb::WORKLOAD_SELECTOR;
  std::string enforcer = "ztunnel";
  std::vector<std::pair<std::string, std::string>> bound;  // waypoints it targets
  if (!ap.target_refs.empty()) {
    enforcer = "the waypoint (an L4 relay)";
    for (size_t i = 0; i < ap.target_refs.size(); ++i) {
      const config::PolicyTargetRef& ref = ap.target_refs[i];
      const std::string where = "targetRefs[" + std::to_string(i) + "]";
      const std::string ns = ref.ns.empty() ? meta.ns : ref.ns;
      if (ref.kind == "Gateway") {
        if (ns != meta.ns) {
          warn(where + ": Gateway " + ns + "/" + ref.name +
               " is in another namespace; a policy can only target a Gateway of its own "
               "namespace, so this reference is ignored");
          continue;
        }
        auto gw = gateways_.find({ns, ref.name});
        if (gw == gateways_.end()) {
          warn(where + ": Gateway " + ns + "/" + ref.name +
               " does not exist (yet); the policy applies to that waypoint once it does");
        } else if (!gw->second->IsWaypoint()) {
          warn(where + ": Gateway " + ns + "/" + ref.name + " has class " +
               Quote(gw->second->gateway_class_name) + ", not " +
               std::string(config::kWaypointGatewayClass) +
               "; policies on other gateways are not enforced");
          continue;
        }
        bound.emplace_back(ns, ref.name);
      } else if (ref.kind == "Service" || ref.kind == "ServiceEntry" || ref.kind == "GatewayClass") {
        warn(where + ": a policy attached to a " + ref.kind + " (" + ref.name +
             ") is not enforced yet: that needs the L7 waypoint; attach it to the waypoint "
             "Gateway itself (kind Gateway) for its L4 parts");
      } else {
        warn(where + ": kind " + Quote(ref.kind) +
             " cannot carry an AuthorizationPolicy (Gateway, GatewayClass, Service or "
             "ServiceEntry); not enforced");
      }
    }
    if (bound.empty()) return;
  } else if (ap.selector.has_value()) {
    if (ap.selector->empty()) {
      warn("selector has no matchLabels: in ambient mode such a policy selects no workload (as "
           "Istio); leave the selector out to apply it to the whole namespace");
    } else {
      selector_policies_.push_back({key, meta.ns, &*ap.selector});
    }
  } else {
    scope = meta.ns == mesh_.root_namespace ? pb::GLOBAL : pb::NAMESPACE;
  }

  pb::Authorization out;
  out.set_name(meta.name);
  out.set_namespace_(meta.ns);
  out.set_scope(scope);
  out.set_action(action);
  out.set_dry_run(dry_run);

  const json& rules = Member(ap.spec, "rules");
  const size_t rule_count = rules.is_array() ? rules.size() : 0;
  size_t kept = 0, can_match = 0;
  for (size_t i = 0; i < rule_count; ++i) {
    std::vector<std::string> notes;
    LoweredRule lowered = LowerRule(ap, rules[i], i, &notes);
    for (std::string& n : notes) warn(std::move(n));
    const std::string where = "rules[" + std::to_string(i) + "]";
    const std::string fields = JoinList(lowered.http_fields);
    if (!lowered.http_fields.empty()) {
      if (action == pb::ALLOW) {
        warn(where + " is left out: " + enforcer + " cannot check HTTP attributes (" + fields +
             "), and an ALLOW rule that needs them matches nothing; use a waypoint for HTTP rules");
        continue;
      }
      if (lowered.dead_parts.empty()) {
        warn(where + ": " + enforcer + " cannot check HTTP attributes (" + fields +
             "); they are left out and the rest is enforced, so this DENY rule denies more "
             "than written");
      } else {
        warn(where + " has no effect: " + enforcer + " cannot check HTTP attributes (" + fields +
             ") and then " + JoinList(lowered.dead_parts) + " has nothing left to match");
      }
    }
    if (lowered.dead_parts.empty()) ++can_match;
    ++kept;
    *out.add_rules() = std::move(lowered.rule);
  }
  if (action == pb::ALLOW && rule_count > 0 && kept == 0) {
    warn("no rule is left, so this ALLOW policy matches nothing: it denies all traffic to "
         "the workloads it applies to");
  } else if (action == pb::DENY && rule_count > 0 && can_match == 0) {
    warn("no rule can match at " + enforcer + ": this DENY policy has no effect");
  }

  for (const auto& b : bound) {
    waypoint_policies_[b].insert(key);
    if (!dry_run) required_waypoints_.insert(b);
  }
  resources_[key] = std::move(out);
}

bool PolicyModel::ParentStrict(const std::string& ns) const {
  if (ns != mesh_.root_namespace) {
    auto it = namespace_peer_.find(ns);
    if (it != namespace_peer_.end() && it->second->mtls_mode != "UNSET") {
      return it->second->mtls_mode == "STRICT";
    }
  }
  return mesh_peer_ != nullptr && mesh_peer_->mtls_mode == "STRICT";
}

void PolicyModel::LowerPeerAuthentications(const std::vector<const config::PeerAuthentication*>& pas) {
  any_peer_authentication_ = !pas.empty();
  std::vector<const config::PeerAuthentication*> sorted = pas;
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return std::tie(a->metadata.ns, a->metadata.name) < std::tie(b->metadata.ns, b->metadata.name);
  });
  auto warn = [&](const config::PeerAuthentication& pa, std::string message) {
    Warn(kPeerAuthentication, pa.metadata, std::move(message));
  };
  auto pick = [&](const config::PeerAuthentication*& slot, const config::PeerAuthentication* pa,
                  const std::string& level) {
    if (slot == nullptr) {
      slot = pa;
      return;
    }
    const config::PeerAuthentication* loser = pa;
    if (Older(pa, slot)) std::swap(loser, slot);
    warn(*loser, "ignored: " + slot->metadata.ns + "/" + slot->metadata.name + " also applies " +
                     level + " and is older (oldest creationTimestamp, then name, wins)");
  };

  // Levels first (each policy's lowering depends on its namespace's and the mesh's).
  for (const config::PeerAuthentication* pa : sorted) {
    const bool workload = pa->selector.has_value() && !pa->selector->empty();
    const bool root = pa->metadata.ns == mesh_.root_namespace;
    if (pa->mtls_mode == "DISABLE") {
      warn(*pa, "mode DISABLE: ambient traffic between ztunnels is always mTLS (HBONE); DISABLE "
                "acts as PERMISSIVE (plaintext is accepted too)");
    }
    for (const auto& [port, mode] : pa->port_level_mtls) {
      if (mode == "DISABLE" && workload && !root) {
        warn(*pa, "portLevelMtls " + std::to_string(port) +
                      ": mode DISABLE acts as PERMISSIVE in ambient mode (HBONE is always mTLS)");
      }
    }
    if (!workload) {
      if (!pa->port_level_mtls.empty()) {
        warn(*pa, "portLevelMtls is ignored: port-level mTLS needs a selector with matchLabels");
      }
      if (root) {
        pick(mesh_peer_, pa, "mesh-wide");
      } else {
        pick(namespace_peer_[pa->metadata.ns], pa, "namespace-wide");
      }
    } else if (root) {
      warn(*pa, "ignored: in ambient mode a PeerAuthentication with a selector in the root "
                "namespace (" + mesh_.root_namespace + ") applies to no workload, and its "
                "portLevelMtls is not used (as Istio); put it in the workloads' namespace");
    } else {
      workload_peers_[pa->metadata.ns].push_back(PeerPolicy{pa});
    }
  }

  if (any_peer_authentication_) {
    pb::Authorization strict;
    strict.set_name(std::string(kStaticStrictPolicyName));
    strict.set_namespace_(mesh_.root_namespace);
    strict.set_scope(pb::WORKLOAD_SELECTOR);
    strict.set_action(pb::DENY);
    strict.add_rules()->add_clauses()->add_matches()->add_not_principals()->mutable_presence();
    resources_[mesh_.root_namespace + "/" + std::string(kStaticStrictPolicyName)] = std::move(strict);
  }

  for (auto& [ns, peers] : workload_peers_) {
    std::sort(peers.begin(), peers.end(),
              [](const PeerPolicy& a, const PeerPolicy& b) { return Older(a.pa, b.pa); });
    const bool parent_strict = ParentStrict(ns);
    for (PeerPolicy& p : peers) {
      const config::PeerAuthentication& pa = *p.pa;
      p.strict_base = pa.mtls_mode == "STRICT" || (pa.mtls_mode == "UNSET" && parent_strict);
      std::vector<uint32_t> exceptions;  // ports whose mode differs from the base
      for (const auto& [port, mode] : pa.port_level_mtls) {
        if (mode == "UNSET") continue;
        const bool port_strict = mode == "STRICT";
        if (port_strict != p.strict_base) exceptions.push_back(port);
      }
      p.has_exceptions = !exceptions.empty();
      if (!p.has_exceptions) continue;
      pb::Authorization out;
      out.set_name(std::string(kConvertedPeerAuthenticationPrefix) + pa.metadata.name);
      out.set_namespace_(pa.metadata.ns);
      out.set_scope(pb::WORKLOAD_SELECTOR);
      out.set_action(pb::DENY);
      if (p.strict_base) {
        // Deny plaintext unless it is for one of the PERMISSIVE ports.
        pb::Rule* rule = out.add_rules();
        rule->add_clauses()->add_matches()->add_not_principals()->mutable_presence();
        for (uint32_t port : exceptions) {
          rule->add_clauses()->add_matches()->add_not_destination_ports(port);
        }
      } else {
        // Deny plaintext to each STRICT port.
        for (uint32_t port : exceptions) {
          pb::Match* m = out.add_rules()->add_clauses()->add_matches();
          m->add_not_principals()->mutable_presence();
          m->add_destination_ports(port);
        }
      }
      resources_[pa.metadata.ns + "/" + out.name()] = std::move(out);
    }
  }
}

const PolicyModel::PeerPolicy* PolicyModel::WorkloadPeerPolicy(const config::Pod& pod) const {
  auto it = workload_peers_.find(pod.metadata.ns);
  if (it == workload_peers_.end()) return nullptr;
  for (const PeerPolicy& p : it->second) {  // oldest first
    if (config::SelectorMatches(*p.pa->selector, pod.metadata.labels)) return &p;
  }
  return nullptr;
}

std::optional<WaypointBinding> PolicyModel::WaypointOf(const config::Pod& pod) const {
  auto label = pod.metadata.labels.find(std::string(kGatewayNameLabel));
  if (label == pod.metadata.labels.end()) return std::nullopt;
  auto gw = gateways_.find({pod.metadata.ns, label->second});
  if (gw == gateways_.end() || !gw->second->IsWaypoint()) return std::nullopt;
  return WaypointBinding{pod.metadata.ns, label->second};
}

bool PolicyModel::RequiresWaypoint(const WaypointBinding& waypoint) const {
  return required_waypoints_.contains({waypoint.ns, waypoint.name});
}

std::vector<std::string> PolicyModel::WaypointPolicies(const WaypointBinding& waypoint) const {
  auto it = waypoint_policies_.find({waypoint.ns, waypoint.name});
  if (it == waypoint_policies_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::string> PolicyModel::WorkloadPolicies(const config::Pod& pod) const {
  if (std::optional<WaypointBinding> waypoint = WaypointOf(pod)) return WaypointPolicies(*waypoint);
  std::set<std::string> selected;
  for (const SelectorPolicy& sp : selector_policies_) {
    if ((sp.ns == pod.metadata.ns || sp.ns == mesh_.root_namespace) &&
        config::SelectorMatches(*sp.labels, pod.metadata.labels)) {
      selected.insert(sp.key);
    }
  }
  std::vector<std::string> out(selected.begin(), selected.end());

  std::set<std::string> peer;
  const PeerPolicy* workload = pod.metadata.ns == mesh_.root_namespace ? nullptr : WorkloadPeerPolicy(pod);
  bool strict = ParentStrict(pod.metadata.ns);
  if (workload != nullptr) {
    strict = workload->strict_base;
    if (workload->has_exceptions) {
      peer.insert(workload->pa->metadata.ns + "/" + std::string(kConvertedPeerAuthenticationPrefix) +
                  workload->pa->metadata.name);
      strict = false;  // the converted policy carries the STRICT part
    }
  }
  if (strict) peer.insert(mesh_.root_namespace + "/" + std::string(kStaticStrictPolicyName));
  out.insert(out.end(), peer.begin(), peer.end());
  return out;
}

void PolicyModel::CheckPods(const std::vector<PodInput>& pods) {
  std::set<std::pair<std::string, std::string>> warned;  // (policy key, what)
  for (const PodInput& in : pods) {
    const config::Pod& pod = *in.pod;
    if (std::optional<WaypointBinding> waypoint = WaypointOf(pod)) {
      for (const SelectorPolicy& sp : selector_policies_) {
        if ((sp.ns == pod.metadata.ns || sp.ns == mesh_.root_namespace) &&
            config::SelectorMatches(*sp.labels, pod.metadata.labels) &&
            warned.insert({sp.key, waypoint->ns + "/" + waypoint->name}).second) {
          const size_t slash = sp.key.find('/');
          warnings_.push_back(
              {config::ResourceKey{std::string(kAuthorizationPolicy), sp.key.substr(0, slash),
                                   sp.key.substr(slash + 1)},
               "selector matches the pods of waypoint " + waypoint->ns + "/" + waypoint->name +
                   ", which ignore selector policies (as Istio); attach a policy to a waypoint "
                   "with targetRefs"});
        }
      }
      continue;
    }
    auto it = workload_peers_.find(pod.metadata.ns);
    if (it == workload_peers_.end() || pod.metadata.ns == mesh_.root_namespace) continue;
    const PeerPolicy* winner = WorkloadPeerPolicy(pod);
    for (const PeerPolicy& p : it->second) {
      if (&p == winner || !config::SelectorMatches(*p.pa->selector, pod.metadata.labels)) continue;
      const std::string key = p.pa->metadata.ns + "/" + p.pa->metadata.name;
      if (!warned.insert({key, "peer"}).second) continue;
      Warn(kPeerAuthentication, p.pa->metadata,
           "ignored for pod " + pod.metadata.name + ": " + winner->pa->metadata.ns + "/" +
               winner->pa->metadata.name +
               " also selects it and is older (oldest creationTimestamp, then name, wins)");
    }
  }
}

}  // namespace ambit::model
