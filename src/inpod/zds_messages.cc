#include "inpod/zds_messages.h"

#include <fmt/format.h>

#include "istio/zds/zds.pb.h"

namespace ambit::inpod {
namespace {

namespace pb = istio::workload::zds;

Error ProtocolError(std::string message) { return Error(ErrorCode::kProtocol, std::move(message)); }

// Checks what every datagram must satisfy before it is parsed.
Status CheckFraming(const ReceivedDatagram& d, size_t fds_allowed, std::string_view what) {
  if (d.truncated) return ProtocolError(fmt::format("{} truncated (larger than {} bytes)", what, kMaxZdsDatagram));
  if (d.control_truncated) return ProtocolError(fmt::format("{}: ancillary data truncated", what));
  if (d.bytes.size() > kMaxZdsDatagram) {
    return ProtocolError(fmt::format("{} of {} bytes exceeds {}", what, d.bytes.size(), kMaxZdsDatagram));
  }
  if (d.fds.size() > fds_allowed) {
    return ProtocolError(fmt::format("{} carried {} file descriptors, at most {} allowed", what, d.fds.size(),
                                     fds_allowed));
  }
  return Ok();
}

Status CheckUid(const std::string& uid, std::string_view what) {
  if (uid.empty()) return ProtocolError(fmt::format("{} without a uid", what));
  return Ok();
}

}  // namespace

std::string Describe(const ZdsRequest& request) {
  struct Visitor {
    std::string operator()(const ZdsAdd& m) const { return "add " + m.uid; }
    std::string operator()(const ZdsKeep& m) const { return "keep " + m.uid; }
    std::string operator()(const ZdsDel& m) const { return "del " + m.uid; }
    std::string operator()(const ZdsSnapshotSent&) const { return "snapshot-sent"; }
  };
  return std::visit(Visitor{}, request);
}

std::string EncodeWorkloadRequest(const ZdsRequest& request) {
  pb::WorkloadRequest msg;
  if (const auto* add = std::get_if<ZdsAdd>(&request)) {
    auto* a = msg.mutable_add();
    a->set_uid(add->uid);
    a->mutable_workload_info()->set_name(add->info.name);
    a->mutable_workload_info()->set_namespace_(add->info.ns);
    a->mutable_workload_info()->set_service_account(add->info.service_account);
  } else if (const auto* keep = std::get_if<ZdsKeep>(&request)) {
    msg.mutable_keep()->set_uid(keep->uid);
  } else if (const auto* del = std::get_if<ZdsDel>(&request)) {
    msg.mutable_del()->set_uid(del->uid);
  } else {
    msg.mutable_snapshot_sent();
  }
  return msg.SerializeAsString();
}

Result<ZdsRequest> DecodeWorkloadRequest(ReceivedDatagram datagram) {
  // Only an Add may carry an fd; the count is checked per type below.
  AMBIT_RETURN_IF_ERROR(CheckFraming(datagram, 1, "workload request"));
  pb::WorkloadRequest msg;
  if (!msg.ParseFromString(datagram.bytes)) return ProtocolError("workload request is not a valid protobuf");
  switch (msg.payload_case()) {
    case pb::WorkloadRequest::kAdd: {
      AMBIT_RETURN_IF_ERROR(CheckUid(msg.add().uid(), "add"));
      if (datagram.fds.size() != 1) {
        return ProtocolError(fmt::format("add {} without the pod's netns fd", msg.add().uid()));
      }
      const auto& info = msg.add().workload_info();
      return ZdsRequest(ZdsAdd{msg.add().uid(),
                               WorkloadInfo{info.name(), info.namespace_(), info.service_account()},
                               std::move(datagram.fds[0])});
    }
    case pb::WorkloadRequest::kKeep:
      AMBIT_RETURN_IF_ERROR(CheckUid(msg.keep().uid(), "keep"));
      if (!datagram.fds.empty()) return ProtocolError("keep " + msg.keep().uid() + " carried a file descriptor");
      return ZdsRequest(ZdsKeep{msg.keep().uid()});
    case pb::WorkloadRequest::kDel:
      AMBIT_RETURN_IF_ERROR(CheckUid(msg.del().uid(), "del"));
      if (!datagram.fds.empty()) return ProtocolError("del " + msg.del().uid() + " carried a file descriptor");
      return ZdsRequest(ZdsDel{msg.del().uid()});
    case pb::WorkloadRequest::kSnapshotSent:
      if (!datagram.fds.empty()) return ProtocolError("snapshot-sent carried a file descriptor");
      return ZdsRequest(ZdsSnapshotSent{});
    case pb::WorkloadRequest::PAYLOAD_NOT_SET:
      break;
  }
  return ProtocolError("workload request with no known payload");
}

std::string EncodeHello() {
  pb::ZdsHello hello;
  hello.set_version(pb::V1);
  return hello.SerializeAsString();
}

Status DecodeHello(ReceivedDatagram datagram) {
  AMBIT_RETURN_IF_ERROR(CheckFraming(datagram, 0, "hello"));
  pb::ZdsHello hello;
  if (!hello.ParseFromString(datagram.bytes)) return ProtocolError("hello is not a valid protobuf");
  if (hello.version() != pb::V1) {
    return ProtocolError(fmt::format("unsupported ZDS version {} (want 1)", static_cast<int>(hello.version())));
  }
  return Ok();
}

std::string EncodeAck(std::string_view error) {
  pb::WorkloadResponse response;
  response.mutable_ack()->set_error(std::string(error));
  return response.SerializeAsString();
}

Result<std::string> DecodeAck(ReceivedDatagram datagram) {
  AMBIT_RETURN_IF_ERROR(CheckFraming(datagram, 0, "ack"));
  pb::WorkloadResponse response;
  if (!response.ParseFromString(datagram.bytes)) return ProtocolError("ack is not a valid protobuf");
  if (response.payload_case() != pb::WorkloadResponse::kAck) return ProtocolError("response is not an ack");
  return response.ack().error();
}

}  // namespace ambit::inpod
