#include "rpc/channel.h"

#include <algorithm>

namespace ambit::rpc {

Result<std::shared_ptr<Channel>> Channel::Create(std::string_view target, ChannelOptions options) {
  AMBIT_ASSIGN_OR_RETURN(Target parsed, Target::Parse(target));
  return std::make_shared<Channel>(std::move(parsed), options);
}

Result<std::unique_ptr<ClientCall>> Channel::StartCall(
    std::string_view method, const Metadata& metadata,
    std::optional<std::chrono::milliseconds> timeout) const {
  auto now = std::chrono::steady_clock::now();
  auto connect_deadline = now + options_.connect_timeout;
  if (timeout) connect_deadline = std::min(connect_deadline, now + *timeout);
  Result<UniqueFd> socket = Connect(target_, connect_deadline);
  if (!socket.ok()) return std::move(socket).error().WithContext(std::string(method));
  CallOptions call_options;
  if (timeout) {
    // What is left of the deadline after connecting.
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - now);
    call_options.timeout = std::max(std::chrono::milliseconds(1), *timeout - spent);
  }
  call_options.max_receive_message_bytes = options_.max_receive_message_bytes;
  call_options.stream_window = options_.stream_window;
  call_options.connection_window = options_.connection_window;
  return ClientCall::Start(std::move(socket).value(), target_.ToString(), target_.Authority(),
                           std::string(method), metadata, call_options);
}

Result<std::string> Channel::UnaryCall(std::string_view method, std::string_view request,
                                       const Metadata& metadata, std::chrono::milliseconds timeout) const {
  AMBIT_ASSIGN_OR_RETURN(std::unique_ptr<ClientCall> call, StartCall(method, metadata, timeout));
  AMBIT_RETURN_IF_ERROR(call->Write(request));
  AMBIT_RETURN_IF_ERROR(call->WritesDone());
  std::string response;
  AMBIT_ASSIGN_OR_RETURN(bool got, call->Read(&response));
  if (!got) {
    return Error(ErrorCode::kProtocol, std::string(method) + " on " + target_.ToString() +
                                           ": server answered OK without a response message");
  }
  std::string extra;
  AMBIT_ASSIGN_OR_RETURN(bool more, call->Read(&extra));
  if (more) {
    return Error(ErrorCode::kProtocol, std::string(method) + " on " + target_.ToString() +
                                           ": unary call got more than one response message");
  }
  return response;
}

}  // namespace ambit::rpc
