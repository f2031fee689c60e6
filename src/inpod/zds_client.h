// ZdsClient: ztunnel's end of ZDS. Connects to the node agent's socket (retry
// with backoff 10 ms doubling to 15 s), sends ZdsHello, then receives
// Add/Keep/Del/SnapshotSent, hands each to a WorkloadHandler and acks it (an
// error ack carries the handler's or the decoder's message). After
// SnapshotSent, pods not in the snapshot are deleted. On disconnect it
// reconnects and expects a fresh snapshot.
//
// Readiness: ready() is false until the snapshot of the current connection has
// been reconciled, and false again while disconnected.
//
// Thread-safety: Start/Stop from one owner thread; ready() and Workloads() from
// any thread. The handler is called only from the client's own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inpod/zds_session.h"

namespace ambit::inpod {

struct ZdsClientOptions {
  std::string socket_path;  // the node agent's ZDS socket
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{15000};
  std::chrono::milliseconds io_timeout{5000};  // hello and ack sends
};

class ZdsClient {
 public:
  // |handler| must outlive the client.
  ZdsClient(ZdsClientOptions options, WorkloadHandler& handler);
  // Stops (joins the thread). Workloads stay with the handler.
  ~ZdsClient();

  void Start();
  void Stop();

  bool ready() const;
  // uids the handler currently serves.
  std::vector<std::string> Workloads() const;
  // Connections established so far (each one got a hello).
  uint64_t connections() const;

  ZdsClient(const ZdsClient&) = delete;
  ZdsClient& operator=(const ZdsClient&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::inpod
