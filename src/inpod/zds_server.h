// ZdsServer: the node agent's end of ZDS. Holds the node's set of enrolled pods
// (uid, workload info, netns fd) and serves it to ztunnel over a unix
// SOCK_SEQPACKET socket (https://github.com/istio/ztunnel/blob/master/proto/zds.proto):
//   on a connection: wait for ZdsHello (5 s), send every pod as Add (with its
//   netns fd) or Keep (no fd known), one at a time, each waiting for its ack,
//   then SnapshotSent; afterwards Add/Del as pods change. Adds go to the newest
//   connection, Dels to all. Every exchange has a 5 s deadline; a connection
//   that misses one is dropped (ztunnel reconnects and gets a new snapshot).
//
// Thread-safety: all public methods may be called from any thread. Each
// connection is served by its own thread; AddPod/DelPod block until ztunnel has
// acknowledged (or the deadline passed).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"
#include "inpod/zds_messages.h"

namespace ambit::inpod {

struct ZdsServerOptions {
  std::string socket_path;  // e.g. <state-dir>/nodes/<node>/ztunnel.sock
  std::chrono::milliseconds io_timeout{5000};
};

class ZdsServer {
 public:
  // Listens on options.socket_path (replacing a stale socket file) and starts
  // accepting ztunnel connections.
  static Result<std::unique_ptr<ZdsServer>> Start(ZdsServerOptions options);
  // Stops accepting, closes every connection, joins all threads, removes the
  // socket file. Pods' netns fds are closed.
  ~ZdsServer();

  // Puts the pod in the node's set (replacing an entry with the same uid) and
  // sends Add (with |netns|) to the newest ztunnel connection, waiting for its
  // ack. |netns| may be invalid: the pod is then announced as Keep in
  // snapshots and no Add is sent now.
  // Errors: kUnavailable "no ztunnel connection" (the pod stays in the set and
  // goes out with the next snapshot); kProtocol when ztunnel answered with an
  // error or the exchange failed (the pod stays in the set; call DelPod to
  // withdraw it).
  Status AddPod(const std::string& uid, const WorkloadInfo& info, UniqueFd netns);

  // Removes the pod from the set and sends Del to every connection. Removing
  // an unknown uid succeeds. Errors are only about delivery (the set is
  // updated regardless).
  Status DelPod(const std::string& uid);

  std::vector<std::string> PodUids() const;
  // Connections that completed hello + snapshot.
  size_t ReadyConnections() const;
  // Waits until at least one connection has completed its snapshot.
  bool WaitForReadyConnection(std::chrono::milliseconds timeout) const;

  ZdsServer(const ZdsServer&) = delete;
  ZdsServer& operator=(const ZdsServer&) = delete;

 private:
  struct Impl;
  explicit ZdsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::inpod
