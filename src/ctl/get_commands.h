// `ambitctl get <kind>`: lists from ambitd as a table, JSON or YAML.
// Kinds are named as kubectl names them (plural, singular, short names such
// as po, svc, cm, vs, dr, se, ap, pa, ra, gtw; config/kind_names.h), plus
// `nodes`. Pods and Services show the runtime view (phase, IP, endpoints);
// every other kind shows its stored objects, and with -o json|yaml a v1 List
// that `ambitctl apply -f` takes back.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/kind_names.h"
#include "core/result.h"

namespace ambit::ctl {

struct GetOptions {
  std::string cluster;
  std::string what;             // a kind name, or nodes
  std::string ns;               // -n; empty = every namespace
  bool all_namespaces = false;  // -A (the default when -n is not given)
  std::string output;           // "" (table) | json | yaml
};

// Returns the text to print.
Result<std::string> Get(const GetOptions& options);

// The stored objects |objects| (Kubernetes JSON) of |kind| as a table, or as
// a v1 List in JSON or YAML. Pure.
Result<std::string> FormatObjects(const config::KindName& kind, const std::vector<nlohmann::json>& objects,
                                  const std::string& output);

// `ambitctl analyze`: the analyzers' findings, one istioctl-style line each
// ("Warning [IST0127] (AuthorizationPolicy ns/name) ..."), or a success line
// when there are none. |failed| is set when any finding is an Error.
Result<std::string> Analyze(const std::string& cluster, const std::string& ns, bool* failed);

}  // namespace ambit::ctl
