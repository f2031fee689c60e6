// ZdsSession: ztunnel's side of one ZDS connection as a pure state machine —
// applies each decoded request to a WorkloadHandler and returns the ack text.
// Owns no socket; ZdsClient feeds it. Snapshot semantics: until SnapshotSent,
// every Add/Keep marks a uid as present; at SnapshotSent, workloads known from
// before but absent from the snapshot are deleted, and the session is
// reconciled.
//
// Thread-safety: not synchronised; one session per connection, driven by one
// thread.
#pragma once

#include <set>
#include <string>

#include "core/result.h"
#include "core/unique_fd.h"
#include "inpod/zds_messages.h"

namespace ambit::inpod {

// What ztunnel does with pods (implemented by the in-pod proxy manager).
class WorkloadHandler {
 public:
  virtual ~WorkloadHandler() = default;
  // Start serving the pod; |netns| belongs to the handler from now on. Called
  // again for a known uid (e.g. in the snapshot after a reconnect): replace.
  virtual Status AddWorkload(const std::string& uid, const WorkloadInfo& info, UniqueFd netns) = 0;
  // Stop serving the pod and release its netns. Unknown uids succeed.
  virtual Status DelWorkload(const std::string& uid) = 0;
};

class ZdsSession {
 public:
  // |known| is the set of uids the handler currently serves; it outlives the
  // session (it carries over between connections) and is updated in place.
  ZdsSession(WorkloadHandler& handler, std::set<std::string>& known) : handler_(handler), known_(known) {}

  // Applies one request; returns the ack's error text ("" = success).
  std::string Handle(ZdsRequest request);
  // Applies a request that failed to decode: only produces the error ack.
  static std::string HandleUndecodable(const Error& error) { return "bad request: " + error.ToString(); }

  // True once SnapshotSent has been processed on this connection.
  bool reconciled() const { return reconciled_; }

 private:
  WorkloadHandler& handler_;
  std::set<std::string>& known_;
  std::set<std::string> in_snapshot_;
  bool reconciled_ = false;
};

}  // namespace ambit::inpod
