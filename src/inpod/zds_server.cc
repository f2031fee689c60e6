#include "inpod/zds_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "inpod/seqpacket.h"

namespace ambit::inpod {
namespace {

constexpr std::chrono::milliseconds kPollInterval{200};

struct PodEntry {
  std::string uid;
  WorkloadInfo info;
  UniqueFd netns;  // invalid: announce as Keep
};

struct Connection {
  explicit Connection(UniqueFd f, uint64_t i) : fd(std::move(f)), id(i) {}
  UniqueFd fd;
  const uint64_t id;
  std::mutex exchange_mu;  // one outstanding request per connection
  std::atomic<bool> ready{false};
  std::atomic<bool> dead{false};
  std::atomic<bool> finished{false};
  std::thread thread;

  // Marks the connection unusable; the fd stays open (no reuse race) until
  // the Connection is destroyed.
  void Kill() {
    dead = true;
    ::shutdown(fd.get(), SHUT_RDWR);
  }
};

}  // namespace

struct ZdsServer::Impl {
  ZdsServerOptions options;
  UniqueFd listener;
  std::atomic<bool> stopping{false};
  std::thread accept_thread;

  mutable std::mutex mu;  // guards pods, connections, all_connections, next_id
  mutable std::condition_variable ready_cv;
  std::map<std::string, std::shared_ptr<const PodEntry>> pods;
  std::vector<std::shared_ptr<Connection>> connections;      // live, in accept order
  std::vector<std::shared_ptr<Connection>> all_connections;  // until joined
  uint64_t next_id = 1;

  // Sends |request| (with |pass_fd|) and waits for the ack; returns ztunnel's
  // error string. Transport or protocol failure kills the connection. The
  // caller holds conn.exchange_mu.
  Result<std::string> Exchange(Connection& conn, const ZdsRequest& request, int pass_fd) {
    if (conn.dead) return Error(ErrorCode::kUnavailable, "ztunnel connection closed");
    Status sent = SendDatagram(conn.fd.get(), EncodeWorkloadRequest(request), pass_fd, options.io_timeout);
    if (!sent.ok()) {
      conn.Kill();
      return std::move(sent).error().WithContext("sending " + Describe(request) + " to ztunnel");
    }
    auto datagram = ReceiveDatagram(conn.fd.get(), options.io_timeout);
    if (!datagram.ok()) {
      conn.Kill();
      return std::move(datagram).error().WithContext("waiting for ztunnel's ack of " + Describe(request));
    }
    auto ack = DecodeAck(std::move(*datagram));
    if (!ack.ok()) {
      conn.Kill();
      return std::move(ack).error().WithContext("ztunnel's answer to " + Describe(request));
    }
    return ack;
  }

  void AcceptLoop() {
    while (!stopping) {
      auto accepted = AcceptSeqpacket(listener.get(), kPollInterval);
      ReapFinished();
      if (!accepted.ok()) {
        if (accepted.error().code() != ErrorCode::kTimeout) {
          AMBIT_LOG_WARN("zds: accept on {}: {}", options.socket_path, accepted.error().ToString());
          std::this_thread::sleep_for(kPollInterval);
        }
        continue;
      }
      std::lock_guard lock(mu);
      auto conn = std::make_shared<Connection>(std::move(*accepted), next_id++);
      connections.push_back(conn);
      all_connections.push_back(conn);
      conn->thread = std::thread([this, conn] { Serve(conn); });
    }
  }

  void ReapFinished() {
    std::vector<std::shared_ptr<Connection>> done;
    {
      std::lock_guard lock(mu);
      auto split = std::stable_partition(all_connections.begin(), all_connections.end(),
                                         [](const auto& c) { return !c->finished; });
      done.assign(split, all_connections.end());
      all_connections.erase(split, all_connections.end());
    }
    for (auto& c : done) c->thread.join();
  }

  // Hello, snapshot, then watch for the peer going away.
  void Serve(const std::shared_ptr<Connection>& conn) {
    Status handshake = Handshake(*conn);
    if (!handshake.ok()) {
      AMBIT_LOG_WARN("zds: ztunnel connection {} dropped during hello/snapshot: {}", conn->id,
                     handshake.error().ToString());
      conn->Kill();
    }
    while (!stopping && !conn->dead) {
      pollfd p{conn->fd.get(), POLLRDHUP, 0};
      int rc = ::poll(&p, 1, static_cast<int>(kPollInterval.count()));
      if (rc > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) break;
    }
    // Wait out an exchange in flight before declaring the connection gone.
    std::lock_guard exchange(conn->exchange_mu);
    conn->Kill();
    {
      std::lock_guard lock(mu);
      std::erase(connections, conn);
    }
    AMBIT_LOG_INFO("zds: ztunnel connection {} closed", conn->id);
    conn->finished = true;
  }

  Status Handshake(Connection& conn) {
    std::lock_guard exchange(conn.exchange_mu);
    AMBIT_ASSIGN_OR_RETURN(ReceivedDatagram hello, ReceiveDatagram(conn.fd.get(), options.io_timeout));
    AMBIT_RETURN_IF_ERROR(DecodeHello(std::move(hello)));
    std::vector<std::shared_ptr<const PodEntry>> snapshot;
    {
      std::lock_guard lock(mu);
      for (const auto& [uid, pod] : pods) snapshot.push_back(pod);
    }
    for (const auto& pod : snapshot) {
      ZdsRequest request = pod->netns.valid() ? ZdsRequest(ZdsAdd{pod->uid, pod->info, UniqueFd()})
                                              : ZdsRequest(ZdsKeep{pod->uid});
      AMBIT_ASSIGN_OR_RETURN(std::string error, Exchange(conn, request, pod->netns.get()));
      if (!error.empty()) AMBIT_LOG_WARN("zds: ztunnel refused {} in snapshot: {}", Describe(request), error);
    }
    AMBIT_ASSIGN_OR_RETURN(std::string error, Exchange(conn, ZdsSnapshotSent{}, -1));
    if (!error.empty()) AMBIT_LOG_WARN("zds: ztunnel reported an error reconciling the snapshot: {}", error);
    conn.ready = true;
    AMBIT_LOG_INFO("zds: ztunnel connection {} ready ({} pods in snapshot)", conn.id, snapshot.size());
    std::lock_guard lock(mu);
    ready_cv.notify_all();
    return Ok();
  }
};

ZdsServer::ZdsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ZdsServer>> ZdsServer::Start(ZdsServerOptions options) {
  auto impl = std::make_unique<Impl>();
  AMBIT_ASSIGN_OR_RETURN(impl->listener, ListenSeqpacket(options.socket_path));
  impl->options = std::move(options);
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<ZdsServer>(new ZdsServer(std::move(impl)));
}

ZdsServer::~ZdsServer() {
  impl_->stopping = true;
  impl_->accept_thread.join();
  std::vector<std::shared_ptr<Connection>> all;
  {
    std::lock_guard lock(impl_->mu);
    all = impl_->all_connections;
  }
  for (auto& c : all) c->Kill();
  for (auto& c : all) c->thread.join();
  ::unlink(impl_->options.socket_path.c_str());
}

Status ZdsServer::AddPod(const std::string& uid, const WorkloadInfo& info, UniqueFd netns) {
  if (uid.empty()) return Error(ErrorCode::kInvalidArgument, "AddPod: empty uid");
  auto entry = std::make_shared<PodEntry>(PodEntry{uid, info, std::move(netns)});
  std::shared_ptr<Connection> target;
  {
    std::lock_guard lock(impl_->mu);
    impl_->pods[uid] = entry;
    for (auto it = impl_->connections.rbegin(); it != impl_->connections.rend(); ++it) {
      if (!(*it)->dead) {
        target = *it;
        break;
      }
    }
  }
  if (!entry->netns.valid()) return Ok();
  if (target == nullptr) return Error(ErrorCode::kUnavailable, "no ztunnel connection (add " + uid + " queued)");
  std::lock_guard exchange(target->exchange_mu);
  auto ack = impl_->Exchange(*target, ZdsAdd{uid, info, UniqueFd()}, entry->netns.get());
  if (!ack.ok()) {
    Error e = std::move(ack).error();
    if (e.code() == ErrorCode::kUnavailable) return e;
    return Error(ErrorCode::kProtocol, e.ToString());
  }
  if (!ack->empty()) return Error(ErrorCode::kProtocol, "ztunnel refused add " + uid + ": " + *ack);
  return Ok();
}


Status ZdsServer::DelPod(const std::string& uid) {
  std::vector<std::shared_ptr<Connection>> targets;
  {
    std::lock_guard lock(impl_->mu);
    impl_->pods.erase(uid);
    targets = impl_->connections;
  }
  Status result = Ok();
  for (auto& conn : targets) {
    std::lock_guard exchange(conn->exchange_mu);
    auto ack = impl_->Exchange(*conn, ZdsDel{uid}, -1);
    if (!ack.ok() && conn->dead && ack.error().code() == ErrorCode::kUnavailable) continue;  // gone anyway
    if (!ack.ok()) {
      if (result.ok()) result = std::move(ack).error();
    } else if (!ack->empty() && result.ok()) {
      result = Error(ErrorCode::kProtocol, "ztunnel refused del " + uid + ": " + *ack);
    }
  }
  return result;
}

std::vector<std::string> ZdsServer::PodUids() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> uids;
  for (const auto& [uid, pod] : impl_->pods) uids.push_back(uid);
  return uids;
}

size_t ZdsServer::ReadyConnections() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<size_t>(std::count_if(impl_->connections.begin(), impl_->connections.end(),
                                           [](const auto& c) { return c->ready && !c->dead; }));
}

bool ZdsServer::WaitForReadyConnection(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->ready_cv.wait_for(lock, timeout, [this] {
    return std::any_of(impl_->connections.begin(), impl_->connections.end(),
                       [](const auto& c) { return c->ready && !c->dead; });
  });
}

}  // namespace ambit::inpod
