#include "control/monitoring.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "core/netns.h"
#include "httpd/http_server.h"
#include "httpd/service_loop.h"

namespace ambit::control {
namespace {

// Fields of /proc/self/stat after the command name (proc(5)): utime is the
// 14th field overall, stime the 15th, starttime the 22nd.
struct ProcStat {
  double cpu_seconds = 0;
  double start_seconds_since_boot = 0;
};

ProcStat ReadProcStat() {
  ProcStat out;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return out;
  // The command name is in parentheses and may contain spaces: skip past it.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  // fields now starts at field 3 (state).
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) out.cpu_seconds += std::stod(field) / ticks;
    if (i == 22) {
      out.start_seconds_since_boot = std::stod(field) / ticks;
      break;
    }
  }
  return out;
}

double ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

void AddProcessMetrics(metrics::Registry& registry) {
  registry.AddCallback("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                       metrics::MetricType::kCounter, [] { return ReadProcStat().cpu_seconds; });
  registry.AddCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                       metrics::MetricType::kGauge, [] { return ResidentBytes(); });
  registry.AddCallback("process_open_fds", "Number of open file descriptors.",
                       metrics::MetricType::kGauge, [] { return OpenFds(); });
  const double start = BootTimeSeconds() + ReadProcStat().start_seconds_since_boot;
  registry.AddCallback("process_start_time_seconds",
                       "Start time of the process since the Unix epoch in seconds.",
                       metrics::MetricType::kGauge, [start] { return start; });
}

struct Monitoring::Server {
  httpd::ServiceLoop loop;
  std::shared_ptr<httpd::HttpServer> http;
};

Monitoring::Monitoring() { AddProcessMetrics(registry_); }

Monitoring::~Monitoring() { Stop(); }

Status Monitoring::Start(const std::string& netns_path, const net::SocketAddress& addr) {
  auto server = std::make_unique<Server>();
  httpd::HttpRoutes routes;
  routes["/metrics"] = [this](const httpd::HttpRequest&) {
    httpd::HttpResponse r = httpd::HttpResponse::Text(200, registry_.Render());
    r.content_type = std::string(metrics::Registry::kContentType);
    return r;
  };
  std::optional<NetnsGuard> guard;
  if (!netns_path.empty()) {
    AMBIT_ASSIGN_OR_RETURN(NetnsGuard entered, NetnsGuard::Enter(netns_path));
    guard.emplace(std::move(entered));
  }
  auto http = httpd::HttpServer::Start(server->loop, addr, std::move(routes));
  guard.reset();
  if (!http.ok()) {
    return Error(http.error().code(),
                 "monitoring endpoint on " + addr.ToString() + ": " + http.error().message());
  }
  server->http = std::move(*http);
  server->loop.Start();
  server_ = std::move(server);
  return Ok();
}

const net::SocketAddress& Monitoring::local_address() const { return server_->http->local_address(); }

void Monitoring::Stop() {
  if (!server_) return;
  server_->http->Close();
  server_->loop.Stop();
  server_.reset();
}

}  // namespace ambit::control
