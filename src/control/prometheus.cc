#include "control/prometheus.h"

#include <signal.h>
#include <sys/stat.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cluster/process.h"
#include "cluster/subprocess.h"
#include "cluster/supervisor.h"
#include "config/kube.h"
#include "config/resource.h"
#include "control/monitoring.h"
#include "control/reconciler.h"
#include "control/store.h"
#include "core/log.h"
#include "core/netns.h"
#include "net/connect.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"
#include "net/task_group.h"

namespace ambit::control {
namespace {

using asio::ip::tcp;

constexpr const char* kGatewayNameLabel = "gateway.networking.k8s.io/gateway-name";
constexpr int kMetricsPort = 15020;  // ztunnel's and the waypoint's /metrics

// One direction of a forwarded connection; EOF is passed on as a half-close.
asio::awaitable<void> Pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
  std::array<char, 16384> buf;
  for (;;) {
    asio::error_code ec;
    std::size_t n = co_await from->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      asio::error_code ignored;
      if (ec == asio::error::eof) {
        to->shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        from->close(ignored);
        to->close(ignored);
      }
      co_return;
    }
    asio::error_code wec;
    co_await asio::async_write(*to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, wec));
    if (wec) {
      asio::error_code ignored;
      from->close(ignored);
      to->close(ignored);
      co_return;
    }
  }
}

// 127.0.0.1:<port> of ambitd's namespace -> 127.0.0.1:9090 of node1's.
class Forwarder {
 public:
  explicit Forwarder(std::shared_ptr<const Netns> netns) : netns_(std::move(netns)) {}
  ~Forwarder() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Status Listen(int port) {
    tcp::acceptor acceptor(io_);
    asio::error_code ec;
    const tcp::endpoint at(asio::ip::make_address_v4("127.0.0.1"), static_cast<unsigned short>(port));
    acceptor.open(at.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(at, ec);
    if (!ec) acceptor.listen(64, ec);
    if (ec) return Error(ErrorCode::kIo, "listening on 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
    auto accept = Accept(std::move(acceptor));
    tasks_.Spawn(std::move(accept));  // before the loop's thread starts
    thread_ = std::thread([this] { io_.run(); });
    return Ok();
  }

 private:
  asio::awaitable<void> Accept(tcp::acceptor acceptor) {
    for (;;) {
      asio::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      auto relay = Relay(std::move(socket));
      tasks_.Spawn(std::move(relay));
    }
  }

  asio::awaitable<void> Relay(tcp::socket client) {
    net::NetnsSocketFactory factory(netns_, net::kInpodMark);
    net::ConnectOptions options;
    options.timeout = std::chrono::seconds(5);
    auto upstream = co_await net::Connect(
        factory, net::SocketAddress(net::IpAddress::Loopback4(), kPrometheusPort), options);
    if (!upstream.ok()) {
      AMBIT_LOG_WARN("prometheus forwarder: {}", upstream.error().ToString());
      co_return;  // closes the client
    }
    auto a = std::make_shared<tcp::socket>(std::move(client));
    auto b = std::make_shared<tcp::socket>(std::move(*upstream));
    auto to_upstream = Pump(a, b);
    auto to_client = Pump(b, a);
    co_await net::JoinBoth(std::move(to_upstream), std::move(to_client));
  }

  std::shared_ptr<const Netns> netns_;
  asio::io_context io_;
  // The accept loop and the relays, on io_'s one thread (cancelled when the
  // forwarder goes, after that thread has stopped).
  net::TaskGroup tasks_{io_.get_executor()};
  std::thread thread_;
};

std::string Quoted(const std::string& s) { return nlohmann::json(s).dump(); }

}  // namespace

std::string PrometheusConfigYaml(const std::vector<cluster::NodeInfo>& nodes,
                                 const std::string& waypoint_file) {
  // JSON strings are valid YAML scalars, so every value is written quoted.
  std::string y;
  y += "# Written by ambitd (docs/observability.md); rewritten at every start.\n";
  y += "global:\n";
  y += "  scrape_interval: " + std::to_string(kScrapeIntervalSeconds) + "s\n";
  y += "  scrape_timeout: " + std::to_string(kScrapeIntervalSeconds - 1) + "s\n";
  y += "  evaluation_interval: " + std::to_string(kScrapeIntervalSeconds) + "s\n";
  y += "scrape_configs:\n";
  y += "  - job_name: \"ztunnel\"\n";
  y += "    metrics_path: \"/metrics\"\n";
  y += "    static_configs:\n";
  for (const auto& n : nodes) {
    y += "      - targets: [" + Quoted(n.ip + ":" + std::to_string(kMetricsPort)) + "]\n";
    y += "        labels: {node: " + Quoted(n.name) + "}\n";
  }
  if (!nodes.empty()) {
    y += "  - job_name: \"ambitd\"\n";
    y += "    metrics_path: \"/metrics\"\n";
    y += "    static_configs:\n";
    y += "      - targets: [" + Quoted(nodes.front().ip + ":" + std::to_string(kMonitoringPort)) + "]\n";
    y += "        labels: {app: \"ambitd\"}\n";
  }
  y += "  - job_name: \"waypoint\"\n";
  y += "    metrics_path: \"/metrics\"\n";
  y += "    file_sd_configs:\n";
  y += "      - files: [" + Quoted(waypoint_file) + "]\n";
  y += "        refresh_interval: " + std::to_string(kScrapeIntervalSeconds) + "s\n";
  return y;
}

std::string WaypointTargetsJson(const StoreState& state, const RuntimeView& view) {
  nlohmann::json groups = nlohmann::json::array();
  for (const config::Pod* pod : state.Pods()) {
    auto label = pod->metadata.labels.find(kGatewayNameLabel);
    if (label == pod->metadata.labels.end()) continue;
    auto pv = view.pods.find(config::ResourceKey{"Pod", pod->metadata.ns, pod->metadata.name});
    if (pv == view.pods.end() || pv->second.phase != "Running" || pv->second.ip.empty()) continue;
    if (pv->second.uid != pod->metadata.uid) continue;  // being replaced
    groups.push_back({{"targets", {pv->second.ip + ":" + std::to_string(kMetricsPort)}},
                      {"labels",
                       {{"namespace", pod->metadata.ns},
                        {"pod", pod->metadata.name},
                        {"gateway", label->second},
                        {"node", pod->spec.node_name}}}});
  }
  return groups.dump(2) + "\n";
}

struct PrometheusAgent::Impl {
  cluster::ClusterLayout layout;
  cluster::ClusterConfig config;
  std::string self_exe;
  std::string dir;
  cluster::NodeInfo node;  // where Prometheus runs (node1)
  std::unique_ptr<Forwarder> forwarder;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                 // guarded by mu
  std::optional<std::string> targets;    // guarded by mu; newest waypoint targets
  std::thread worker;

  // Worker state.
  std::string written_targets;
  std::map<std::string, std::string> last_errors;  // by step; logged once per change

  Impl(cluster::ClusterLayout l, cluster::ClusterConfig c) : layout(std::move(l)), config(std::move(c)) {}

  std::string TargetsFile() const { return dir + "/waypoints.json"; }

  void Report(const Status& s, const std::string& step) {
    std::string text = s.ok() ? "" : s.error().ToString();
    std::string& last = last_errors[step];
    if (text == last) return;
    if (!text.empty()) {
      AMBIT_LOG_ERROR("prometheus: {}: {}", step, text);
    } else {
      AMBIT_LOG_INFO("prometheus: {}: recovered", step);
    }
    last = text;
  }

  Status EnsurePrometheus() {
    const std::string spec_file = dir + "/prometheus.json";
    const std::string status_file = dir + "/prometheus.status";
    auto status = cluster::ReadContainerStatus(status_file);
    if (status && cluster::IsAlive(status->supervisor)) return Ok();
    struct stat st {};
    if (!status && ::stat(spec_file.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime < 5) {
      return Ok();  // just started, has not reported yet
    }
    auto binary = cluster::FindExecutable("prometheus");
    if (!binary) {
      return Error(ErrorCode::kNotFound,
                   "the prometheus binary is not on PATH; install the Debian package prometheus "
                   "(scripts/install-deps.sh)");
    }
    if (status && status->pid > 0) ::kill(status->pid, SIGKILL);  // left by a dead supervisor
    cluster::ContainerSpec spec;
    spec.cluster = layout.name();
    spec.pod_namespace = "ambit-system";
    spec.pod_name = "prometheus";
    spec.name = "prometheus";
    spec.argv = {*binary,
                 "--config.file=" + dir + "/prometheus.yml",
                 "--storage.tsdb.path=" + dir + "/data",
                 "--storage.tsdb.retention.time=2d",
                 "--web.listen-address=127.0.0.1:" + std::to_string(kPrometheusPort)};
    spec.working_dir = dir;
    spec.restart_policy = "Always";
    spec.sandbox = {node.netns_path, dir + "/hosts", dir + "/resolv.conf", "", "prometheus"};
    spec.log_file = dir + "/prometheus.log";
    spec.status_file = status_file;
    AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(spec_file, cluster::ContainerSpecToJson(spec)));
    AMBIT_ASSIGN_OR_RETURN(cluster::ProcessId id, cluster::StartSupervisor(self_exe, spec_file, layout.name()));
    AMBIT_LOG_INFO("prometheus: started its supervisor in {} (pid {})", node.netns_path, id.pid);
    return Ok();
  }

  Status EnsureForwarder() {
    if (forwarder) return Ok();
    AMBIT_ASSIGN_OR_RETURN(Netns netns, Netns::Open(node.netns_path));
    auto f = std::make_unique<Forwarder>(std::make_shared<const Netns>(std::move(netns)));
    AMBIT_RETURN_IF_ERROR(f->Listen(config.prometheus.port));
    forwarder = std::move(f);
    AMBIT_LOG_INFO("prometheus: http://127.0.0.1:{}/ forwards to 127.0.0.1:{} in {}", config.prometheus.port,
                   kPrometheusPort, node.netns_path);
    return Ok();
  }

  void Loop() {
    for (;;) {
      std::optional<std::string> next;
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping || targets.has_value(); });
        if (stopping) return;
        next = std::exchange(targets, std::nullopt);
      }
      Report(EnsureForwarder(), "forwarder");
      Report(EnsurePrometheus(), "supervisor");
      if (next && *next != written_targets) {
        Status s = cluster::WriteFileAtomic(TargetsFile(), *next);
        Report(s, "waypoint targets");
        if (s.ok()) written_targets = *next;
      }
    }
  }
};

PrometheusAgent::PrometheusAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<PrometheusAgent>> PrometheusAgent::Start(cluster::ClusterLayout layout,
                                                                const cluster::ClusterConfig& config,
                                                                std::string self_exe) {
  auto impl = std::make_unique<Impl>(layout, config);
  impl->self_exe = std::move(self_exe);
  impl->dir = layout.StateDir() + "/prometheus";
  const auto nodes = cluster::DescribeNodes(layout, config.node_count);
  impl->node = nodes.front();
  std::error_code ec;
  std::filesystem::create_directories(impl->dir + "/data", ec);
  if (ec) return Error(ErrorCode::kIo, "creating " + impl->dir + "/data: " + ec.message());
  AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(impl->dir + "/hosts", "127.0.0.1 localhost\n"));
  AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(impl->dir + "/resolv.conf", "nameserver 127.0.0.1\n"));
  AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(impl->dir + "/prometheus.yml",
                                                 PrometheusConfigYaml(nodes, impl->TargetsFile())));
  // Prometheus re-reads this file when it changes; start from what is there
  // (a restarted ambitd) or from no waypoint.
  if (::access(impl->TargetsFile().c_str(), F_OK) != 0) {
    AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(impl->TargetsFile(), "[]\n"));
  } else if (auto text = cluster::ReadFile(impl->TargetsFile()); text.ok()) {
    impl->written_targets = *text;
  }
  Impl* raw = impl.get();
  impl->worker = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<PrometheusAgent>(new PrometheusAgent(std::move(impl)));
}

void PrometheusAgent::Observe(const StoreState& state, const RuntimeView& view) {
  std::string text = WaypointTargetsJson(state, view);
  {
    std::lock_guard lock(impl_->mu);
    impl_->targets = std::move(text);
  }
  impl_->cv.notify_all();
}

PrometheusAgent::~PrometheusAgent() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  impl_->forwarder.reset();
}

}  // namespace ambit::control
