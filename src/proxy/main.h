// ProxyMain: the command line and process life of a proxy binary
// (apps/ztunnel, apps/waypoint), so each main only declares its own flags and
// says how to start its proxy.
//
//   ProxyMain m("waypoint", "description", config);   // adds the shared flags
//   m.app().add_option("--name", ...);                  // the proxy's own
//   if (auto code = m.Parse(argc, argv)) return *code;  // 0 (--help) or 2
//   ... turn the proxy's own flags into config ...
//   return m.Run([&] { return Waypoint::Start(config); });
//
// Shared flags, applied to the ProxyConfig by Parse: --xds-address
// (required), --ca-address, --credential-file, --trust-domain, --cluster-id,
// --workers, --admin-address/--admin-port (127.0.0.1:15000),
// --status-address (0.0.0.0) with --metrics-port (15020) and
// --readiness-port (15021), --secret-ttl, --drain-seconds, --log-level,
// --log-json. A bad value exits with 2 and a message naming the flag.
//
// Run blocks SIGTERM and SIGINT before the proxy starts any thread (so every
// thread inherits the mask and only this one takes them), ignores SIGPIPE,
// starts the proxy (exit 1 with the error logged if it cannot), makes POST
// /quitquitquit raise SIGTERM, waits for either signal, then drains for
// --drain-seconds and returns 0.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/log.h"
#include "core/result.h"
#include "proxy/config.h"

namespace ambit::proxy {

class ProxyMain {
 public:
  // |name|: the program ("ztunnel", "waypoint"), in messages and logs.
  // |config| must outlive this object; Parse fills its shared fields.
  ProxyMain(std::string name, const std::string& description, ProxyConfig& config);

  CLI::App& app() { return app_; }
  // Sets the help text of --drain-seconds (what the grace applies to).
  void DescribeDrain(const std::string& text);

  // Parses |argv| and applies the shared flags to the config and to logging.
  // nullopt: carry on; otherwise the exit code (0 after --help, 2 for a bad
  // flag, with the message printed).
  std::optional<int> Parse(int argc, char** argv);

  // Reports a bad value of the proxy's own flags: prints it, returns 2.
  int Fail(const Error& error) const;

  std::chrono::milliseconds drain() const;

  // Runs the proxy that |start| starts (see the file comment). Proxy needs
  // SetQuitHandler(std::function<void()>) and Shutdown(milliseconds).
  template <typename Start>
  int Run(Start start) {
    PrepareSignals();
    auto running = start();
    if (!running.ok()) {
      AMBIT_LOG_ERROR("{} failed to start: {}", name_, running.error().ToString());
      return 1;
    }
    (*running)->SetQuitHandler(&RequestTermination);
    WaitForTermination();
    (*running)->Shutdown(drain());
    return 0;
  }

 private:
  // Blocks SIGTERM/SIGINT in the calling thread, ignores SIGPIPE.
  void PrepareSignals();
  // Waits for SIGTERM or SIGINT and logs which one came.
  void WaitForTermination() const;
  // Sends SIGTERM to this process (the quit handler).
  static void RequestTermination();

  std::string name_;
  CLI::App app_;
  ProxyConfig& config_;
  std::string admin_ip_ = "127.0.0.1";
  std::string status_ip_ = "0.0.0.0";
  int admin_port_ = 15000;
  int metrics_port_ = 15020;
  int readiness_port_ = 15021;
  int drain_seconds_ = 5;
  std::string secret_ttl_ = "24h";
  std::string log_level_ = "info";
  bool log_json_ = false;
  CLI::Option* drain_option_ = nullptr;
};

}  // namespace ambit::proxy
