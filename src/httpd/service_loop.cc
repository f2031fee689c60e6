#include "httpd/service_loop.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <optional>
#include <thread>

namespace ambit::httpd {

struct ServiceLoop::Impl {
  asio::io_context context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
      context.get_executor()};
  std::thread thread;
};

ServiceLoop::ServiceLoop() : impl_(std::make_unique<Impl>()) {}

ServiceLoop::~ServiceLoop() { Stop(); }

void ServiceLoop::Start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([impl = impl_.get()] { impl->context.run(); });
}

void ServiceLoop::Stop() {
  impl_->guard.reset();
  impl_->context.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

asio::io_context& ServiceLoop::context() { return impl_->context; }

}  // namespace ambit::httpd
