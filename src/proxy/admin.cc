#include "proxy/admin.h"

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace ambit::proxy {

Admin::Addresses Admin::DefaultAddresses() {
  return Addresses{
      .admin = net::SocketAddress(net::IpAddress::Loopback4(), 15000),
      .metrics = net::SocketAddress(net::IpAddress(), 15020),
      .readiness = net::SocketAddress(net::IpAddress(), 15021),
  };
}

Admin::Admin(httpd::ServiceLoop& loop, Readiness& readiness) : loop_(loop), readiness_(readiness) {}

Admin::~Admin() { Close(); }

void Admin::AddDumpSection(std::string name, DumpSection section) {
  sections_.emplace_back(std::move(name), std::move(section));
}

void Admin::AddMetricsSource(MetricsSource source) { metrics_sources_.push_back(std::move(source)); }

void Admin::SetQuitHandler(std::function<void()> on_quit) {
  std::lock_guard lock(quit_mu_);
  on_quit_ = std::move(on_quit);
}

std::string Admin::ConfigDump() const {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, section] : sections_) {
    nlohmann::json value;
    section(value);
    doc[name] = std::move(value);
  }
  return doc.dump(2) + "\n";
}

std::string Admin::Metrics() const {
  std::string out;
  for (const auto& source : metrics_sources_) out += source();
  return out;
}

httpd::HttpRoutes Admin::AdminRoutes() {
  httpd::HttpRoutes routes;
  routes["/"] = [](const httpd::HttpRequest&) {
    return httpd::HttpResponse::Text(200,
                              "ztunnel admin\n"
                              "  /config_dump     workloads, services, certificates, pods, counters\n"
                              "  /quitquitquit    POST: drain and exit\n");
  };
  routes["/config_dump"] = [this](const httpd::HttpRequest&) { return httpd::HttpResponse::Json(ConfigDump()); };
  routes["/quitquitquit"] = [this](const httpd::HttpRequest& req) {
    if (req.method != "POST") return httpd::HttpResponse::Text(405, "use POST\n");
    std::function<void()> quit;
    {
      std::lock_guard lock(quit_mu_);
      quit = on_quit_;
    }
    if (!quit) return httpd::HttpResponse::Text(503, "no quit handler\n");
    // Stop only once the answer is out: stopping first let the drain end the
    // service loop before the 200 was written (the client saw a reset).
    httpd::HttpResponse ok = httpd::HttpResponse::Text(200, "OK\n");
    ok.after_sent = std::move(quit);
    return ok;
  };
  return routes;
}

httpd::HttpRoutes Admin::MetricsRoutes() {
  httpd::HttpRoutes routes;
  auto handler = [this](const httpd::HttpRequest&) {
    httpd::HttpResponse r = httpd::HttpResponse::Text(200, Metrics());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  };
  routes["/metrics"] = handler;
  routes["/stats/prometheus"] = handler;
  return routes;
}

httpd::HttpRoutes Admin::ReadinessRoutes() {
  httpd::HttpRoutes routes;
  routes["/healthz/ready"] = [this](const httpd::HttpRequest&) {
    std::vector<std::string> pending = readiness_.pending();
    if (pending.empty()) return httpd::HttpResponse::Text(200, "ready\n");
    std::string body = "not ready:";
    for (const auto& p : pending) body += " " + p;
    return httpd::HttpResponse::Text(503, body + "\n");
  };
  return routes;
}

Status Admin::Start(const Addresses& addresses) {
  struct Plan {
    const net::SocketAddress* addr;
    httpd::HttpRoutes routes;
    net::SocketAddress* bound;
    const char* what;
  };
  Plan plans[] = {
      {&addresses.admin, AdminRoutes(), &bound_.admin, "admin"},
      {&addresses.metrics, MetricsRoutes(), &bound_.metrics, "metrics"},
      {&addresses.readiness, ReadinessRoutes(), &bound_.readiness, "readiness"},
  };
  for (Plan& plan : plans) {
    auto server = httpd::HttpServer::Start(loop_, *plan.addr, std::move(plan.routes));
    if (!server.ok()) {
      Close();
      return std::move(server).error().WithContext(std::string("starting the ") + plan.what +
                                                   " server on " + plan.addr->ToString());
    }
    *plan.bound = (*server)->local_address();
    AMBIT_LOG_INFO("{} server listening on {}", plan.what, plan.bound->ToString());
    servers_.push_back(std::move(server).value());
  }
  return Ok();
}

void Admin::Close() {
  for (auto& server : servers_) server->Close();
  servers_.clear();
}

}  // namespace ambit::proxy
