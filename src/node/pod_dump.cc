#include "node/pod_dump.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ambit::node {

using nlohmann::json;

void DumpConnections(const std::vector<PodManager::PodConnections>& pods, json& out) {
  out = json::array();
  for (const auto& pod : pods) {
    std::vector<const ConnectionRow*> rows;
    for (const auto& r : pod.rows) rows.push_back(&r);
    std::stable_sort(rows.begin(), rows.end(), [](const ConnectionRow* a, const ConnectionRow* b) {
      return a->age > b->age;
    });
    for (const ConnectionRow* r : rows) {
      json j{{"pod", pod.spec.ns + "/" + pod.spec.name},
             {"direction", r->direction},
             {"source", r->source},
             {"destination", r->destination},
             {"identity", r->identity},
             {"ageSeconds", static_cast<double>(r->age.count()) / 1000.0}};
      if (r->bytes_from_app) j["bytesFromApp"] = *r->bytes_from_app;
      if (r->bytes_to_app) j["bytesToApp"] = *r->bytes_to_app;
      out.push_back(std::move(j));
    }
  }
}

void DumpPods(const std::vector<PodStatus>& pods, json& out) {
  out = json::array();
  for (const auto& p : pods) {
    out.push_back(json{
        {"uid", p.spec.uid},
        {"name", p.spec.name},
        {"namespace", p.spec.ns},
        {"serviceAccount", p.spec.service_account},
        {"identity", p.identity},
        {"listeners", p.listeners},
        {"certificateReady", p.certificate_ready},
        {"connectionsActive", p.active_connections},
        {"connectionsTotal", p.total_connections},
        {"state", p.draining ? "Draining" : "Serving"},
    });
  }
}

}  // namespace ambit::node
