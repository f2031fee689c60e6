// ZDS messages as plain C++ values, and their wire encoding (pure functions).
//
// ZDS (https://github.com/istio/ztunnel/blob/master/proto/zds.proto): the node agent
// sends WorkloadRequest datagrams (Add / Keep / Del / SnapshotSent) to ztunnel
// over a unix SOCK_SEQPACKET socket, one protobuf per datagram; AddWorkload carries exactly
// one fd (the pod's netns) as SCM_RIGHTS. ztunnel answers each with an Ack.
//
// Decoding is total: any byte string and any set of received fds yields a
// value or an Error, never a crash; received fds are owned from the moment of
// receipt and closed on every error path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"

namespace ambit::inpod {

// Largest datagram either side sends or accepts. Istio's ztunnel reads into a
// 1024-byte buffer; names are bounded by Kubernetes (253 bytes), so this is
// ample.
inline constexpr size_t kMaxZdsDatagram = 4096;

struct WorkloadInfo {
  std::string name;
  std::string ns;  // Kubernetes namespace
  std::string service_account;
  bool operator==(const WorkloadInfo&) const = default;
};

struct ZdsAdd {
  std::string uid;
  WorkloadInfo info;
  UniqueFd netns;  // the pod's network namespace
};
struct ZdsKeep {
  std::string uid;
};
struct ZdsDel {
  std::string uid;
};
struct ZdsSnapshotSent {};

using ZdsRequest = std::variant<ZdsAdd, ZdsKeep, ZdsDel, ZdsSnapshotSent>;

// One datagram as received: payload, fds from SCM_RIGHTS (already owned) and
// whether the kernel truncated the payload or the control data.
struct ReceivedDatagram {
  std::string bytes;
  std::vector<UniqueFd> fds;
  bool truncated = false;
  bool control_truncated = false;
};

// Short name of a request for logs: "add <uid>", "del <uid>", "snapshot-sent".
std::string Describe(const ZdsRequest& request);

// Encodes a request (the Add's fd is NOT part of the bytes; send it alongside).
std::string EncodeWorkloadRequest(const ZdsRequest& request);
// Decodes a WorkloadRequest. Rules: the payload must be a well-formed protobuf
// with one known payload; uids must be non-empty; Add must carry exactly one
// fd and every other message none; truncation is an error. Consumes |datagram|.
Result<ZdsRequest> DecodeWorkloadRequest(ReceivedDatagram datagram);

// ZdsHello{version: V1}.
std::string EncodeHello();
// Accepts a hello with version V1; anything else (including stray fds) is an error.
Status DecodeHello(ReceivedDatagram datagram);

// WorkloadResponse{ack{error}}; an empty |error| means success.
std::string EncodeAck(std::string_view error);
// The ack's error string ("" = success), or an Error if it is not an ack.
Result<std::string> DecodeAck(ReceivedDatagram datagram);

}  // namespace ambit::inpod
