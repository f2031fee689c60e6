// ServiceLoop: one event loop on its own thread for the work that must stay off
// the data-plane workers (admin, metrics and readiness HTTP servers).
//
// Thread-safety: Start/Stop by the owner; context() may be used from any
// thread to post work (asio::io_context is thread-safe for posting).
#pragma once

#include <memory>

namespace asio {
class io_context;
}

namespace ambit::httpd {

class ServiceLoop {
 public:
  ServiceLoop();
  ~ServiceLoop();  // Stop()
  ServiceLoop(const ServiceLoop&) = delete;
  ServiceLoop& operator=(const ServiceLoop&) = delete;

  // Starts the thread. Work posted before Start runs once it is called.
  void Start();
  // Stops the loop (pending handlers are destroyed) and joins. Idempotent.
  void Stop();

  asio::io_context& context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::httpd
