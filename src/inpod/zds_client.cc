#include "inpod/zds_client.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "core/log.h"
#include "inpod/seqpacket.h"

namespace ambit::inpod {

struct ZdsClient::Impl {
  Impl(ZdsClientOptions o, WorkloadHandler& h) : options(std::move(o)), handler(h) {}

  ZdsClientOptions options;
  WorkloadHandler& handler;
  std::thread thread;
  std::atomic<bool> ready{false};
  std::atomic<uint64_t> connections{0};

  mutable std::mutex mu;  // guards stopping, known
  std::condition_variable stop_cv;
  bool stopping = false;
  std::set<std::string> known;

  bool Stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  // Sleeps for |d| unless stopped first; returns false when stopping.
  bool SleepFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !stop_cv.wait_for(lock, d, [this] { return stopping; });
  }

  void Run() {
    auto backoff = options.initial_backoff;
    while (!Stopping()) {
      auto fd = ConnectSeqpacket(options.socket_path);
      if (fd.ok()) {
        Status hello = SendDatagram(fd->get(), EncodeHello(), -1, options.io_timeout);
        if (hello.ok()) {
          ++connections;
          backoff = options.initial_backoff;
          Status ended = Serve(fd->get());
          AMBIT_LOG_INFO("zds: disconnected from node agent: {}", ended.ok() ? "stopped" : ended.error().ToString());
        }
        ready = false;
      }
      if (!SleepFor(backoff)) break;
      backoff = std::min(backoff * 2, options.max_backoff);
    }
  }

  // Serves one connection until it closes, fails, or the client stops.
  Status Serve(int fd) {
    // |known| is only touched from this thread apart from Workloads(), which
    // copies it under |mu|; the session mutates a local copy that is written
    // back after every message.
    std::set<std::string> local;
    {
      std::lock_guard lock(mu);
      local = known;
    }
    ZdsSession session(handler, local);
    for (;;) {
      if (Stopping()) return Ok();
      auto datagram = ReceiveDatagram(fd, std::chrono::milliseconds(200));
      if (!datagram.ok()) {
        if (datagram.error().code() == ErrorCode::kTimeout) continue;
        return std::move(datagram).error();
      }
      auto request = DecodeWorkloadRequest(std::move(*datagram));
      std::string ack;
      if (request.ok()) {
        AMBIT_LOG_DEBUG("zds: {}", Describe(*request));
        ack = session.Handle(std::move(*request));
      } else {
        ack = ZdsSession::HandleUndecodable(request.error());
      }
      if (!ack.empty()) AMBIT_LOG_WARN("zds: error ack: {}", ack);
      {
        std::lock_guard lock(mu);
        known = local;
      }
      AMBIT_RETURN_IF_ERROR(SendDatagram(fd, EncodeAck(ack), -1, options.io_timeout));
      if (session.reconciled()) ready = true;
    }
  }
};

ZdsClient::ZdsClient(ZdsClientOptions options, WorkloadHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

ZdsClient::~ZdsClient() { Stop(); }

void ZdsClient::Start() {
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = false;
  }
  impl_->thread = std::thread([this] { impl_->Run(); });
}

void ZdsClient::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->ready = false;
}

bool ZdsClient::ready() const { return impl_->ready; }

std::vector<std::string> ZdsClient::Workloads() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->known.begin(), impl_->known.end()};
}

uint64_t ZdsClient::connections() const { return impl_->connections; }

}  // namespace ambit::inpod
