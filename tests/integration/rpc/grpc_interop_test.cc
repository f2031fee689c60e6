// ambit::rpc (nghttp2, no gRPC library) against a real grpc++ server on a
// unix socket: unary calls, metadata, status mapping, deadlines, large
// messages both ways, a bidirectional stream, and the server going away.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "envoy/service/discovery/v3/discovery.grpc.pb.h"
#include "istio/security/ca.grpc.pb.h"
#include "rpc/channel.h"

namespace ambit::rpc {
namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using istio::v1::auth::IstioCertificateRequest;
using istio::v1::auth::IstioCertificateResponse;
using istio::v1::auth::IstioCertificateService;
using std::chrono::milliseconds;

constexpr const char* kCaMethod = "/istio.v1.auth.IstioCertificateService/CreateCertificate";
constexpr const char* kAdsMethod =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

// The CA's behaviour is chosen by the request's csr field.
class FakeCa final : public IstioCertificateService::Service {
 public:
  grpc::Status CreateCertificate(grpc::ServerContext* context, const IstioCertificateRequest* request,
                                 IstioCertificateResponse* response) override {
    const std::string& mode = request->csr();
    if (mode == "unauthenticated") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad token: caf\xC3\xA9 100%");
    }
    if (mode == "denied") return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "pod not on node");
    if (mode == "slow") {
      for (int i = 0; i < 300 && !context->IsCancelled(); ++i) std::this_thread::sleep_for(milliseconds(10));
    }
    if (mode == "big") response->add_cert_chain(std::string(6 * 1024 * 1024, 'c'));
    if (mode.starts_with("echo-size:")) {
      response->add_cert_chain(std::to_string(request->ByteSizeLong()));
    }
    for (const auto& [key, value] : context->client_metadata()) {
      if (key == "authorization" || key == "clusterid") {
        response->add_cert_chain(std::string(key.data(), key.size()) + "=" +
                                 std::string(value.data(), value.size()));
      }
    }
    return grpc::Status::OK;
  }
};

// Answers each request with one response: type_url "size:N" carries one
// resource of N bytes; nonce echoes the request's response_nonce + 1.
class FakeAds final : public AggregatedDiscoveryService::Service {
 public:
  grpc::Status DeltaAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<DeltaDiscoveryResponse, DeltaDiscoveryRequest>* stream) override {
    streams_.fetch_add(1);
    for (const auto& [key, value] : context->client_metadata()) {
      if (key == "authorization") last_token_ = std::string(value.data(), value.size());
    }
    DeltaDiscoveryRequest request;
    int count = 0;
    while (stream->Read(&request)) {
      if (request.type_url() == "fail") {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad subscription");
      }
      if (request.type_url() == "hang") {
        while (!context->IsCancelled() && !stop_.load()) std::this_thread::sleep_for(milliseconds(5));
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server stopping");
      }
      DeltaDiscoveryResponse response;
      response.set_type_url(request.type_url());
      response.set_nonce(std::to_string(++count));
      if (request.type_url().starts_with("size:")) {
        auto* resource = response.add_resources();
        resource->set_name("r");
        resource->mutable_resource()->set_value(std::string(std::stoul(request.type_url().substr(5)), 'x'));
      }
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }
  std::atomic<int> streams_{0};
  std::atomic<bool> stop_{false};
  std::string last_token_;
};

class RpcInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = "/tmp/ambit-rpc-" + std::to_string(::getpid()) + ".sock";
    std::filesystem::remove(socket_);
    StartServer();
    ChannelOptions options;
    options.max_receive_message_bytes = 64 * 1024 * 1024;
    channel_ = Channel::Create("unix:" + socket_, options).value();
  }
  void TearDown() override {
    StopServer();
    std::filesystem::remove(socket_);
  }
  void StartServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    builder.SetMaxReceiveMessageSize(-1);
    builder.SetMaxSendMessageSize(-1);
    builder.RegisterService(&ca_);
    builder.RegisterService(&ads_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void StopServer() {
    if (server_ == nullptr) return;
    ads_.stop_ = true;
    server_->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
    server_->Wait();
    server_.reset();
    ads_.stop_ = false;
  }

  Result<IstioCertificateResponse> Ca(const std::string& mode, const Metadata& metadata = {},
                                      milliseconds timeout = milliseconds(5'000)) {
    IstioCertificateRequest request;
    request.set_csr(mode);
    AMBIT_ASSIGN_OR_RETURN(std::string bytes,
                           channel_->UnaryCall(kCaMethod, request.SerializeAsString(), metadata, timeout));
    IstioCertificateResponse response;
    if (!response.ParseFromString(bytes)) return Error(ErrorCode::kProtocol, "unparsable response");
    return response;
  }

  std::string socket_;
  FakeCa ca_;
  FakeAds ads_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<Channel> channel_;
};

TEST_F(RpcInteropTest, UnaryCallWithMetadata) {
  auto response = Ca("ok", {{"authorization", "Bearer node-token"}, {"clusterid", "c1"}});
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  ASSERT_EQ(response->cert_chain_size(), 2);
  EXPECT_EQ(response->cert_chain(0), "authorization=Bearer node-token");
  EXPECT_EQ(response->cert_chain(1), "clusterid=c1");
}

TEST_F(RpcInteropTest, ServerStatusMapsToErrorCode) {
  auto unauthenticated = Ca("unauthenticated");
  ASSERT_FALSE(unauthenticated.ok());
  EXPECT_EQ(unauthenticated.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(unauthenticated.error().ToString(),
            std::string(kCaMethod) + " on unix:" + socket_ + ": UNAUTHENTICATED: bad token: caf\xC3\xA9 100%");
  auto denied = Ca("denied");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(RpcInteropTest, UnknownMethodIsUnimplemented) {
  auto result = channel_->UnaryCall("/no.Such/Method", "", {}, milliseconds(2'000));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().ToString().find("UNIMPLEMENTED"), std::string::npos) << result.error().ToString();
}

TEST_F(RpcInteropTest, DeadlineExceeded) {
  auto start = std::chrono::steady_clock::now();
  auto slow = Ca("slow", {}, milliseconds(200));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code(), ErrorCode::kTimeout) << slow.error().ToString();
  EXPECT_LT(took, milliseconds(2'000));
}

TEST_F(RpcInteropTest, LargeMessagesBothWays) {
  auto big = Ca("big");
  ASSERT_TRUE(big.ok()) << big.error().ToString();
  EXPECT_EQ(big->cert_chain(0).size(), 6u * 1024 * 1024);

  IstioCertificateRequest request;
  request.set_csr("echo-size:" + std::string(5 * 1024 * 1024, 'q'));
  auto bytes = channel_->UnaryCall(kCaMethod, request.SerializeAsString(), {}, milliseconds(10'000));
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToString();
  IstioCertificateResponse response;
  ASSERT_TRUE(response.ParseFromString(*bytes));
  EXPECT_EQ(response.cert_chain(0), std::to_string(request.ByteSizeLong()));
}

TEST_F(RpcInteropTest, MessageOverLimitFailsTheCall) {
  ChannelOptions options;
  options.max_receive_message_bytes = 1024 * 1024;
  auto small = Channel::Create("unix:" + socket_, options).value();
  IstioCertificateRequest request;
  request.set_csr("big");
  auto result = small->UnaryCall(kCaMethod, request.SerializeAsString(), {}, milliseconds(5'000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().ToString().find("exceeds the limit of 1048576"), std::string::npos);
}

TEST_F(RpcInteropTest, ConnectRefused) {
  StopServer();
  auto result = Ca("ok");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.error().ToString().find("connecting to unix:" + socket_), std::string::npos)
      << result.error().ToString();
}

TEST_F(RpcInteropTest, BidirectionalStreamWithMultiMegabyteResponses) {
  auto call = channel_->StartCall(kAdsMethod, {{"authorization", "Bearer t1"}}, std::nullopt);
  ASSERT_TRUE(call.ok()) << call.error().ToString();
  for (std::size_t size : {10u, 8u * 1024 * 1024, 100u, 20u * 1024 * 1024, 0u}) {
    DeltaDiscoveryRequest request;
    request.set_type_url("size:" + std::to_string(size));
    ASSERT_TRUE((*call)->Write(request.SerializeAsString()).ok());
    std::string bytes;
    auto got = (*call)->Read(&bytes);
    ASSERT_TRUE(got.ok()) << got.error().ToString();
    ASSERT_TRUE(*got);
    DeltaDiscoveryResponse response;
    ASSERT_TRUE(response.ParseFromString(bytes));
    EXPECT_EQ(response.type_url(), request.type_url());
    if (size > 0) {
      EXPECT_EQ(response.resources(0).resource().value().size(), size);
    }
  }
  EXPECT_EQ(ads_.last_token_, "Bearer t1");
  ASSERT_TRUE((*call)->WritesDone().ok());
  std::string bytes;
  auto end = (*call)->Read(&bytes);
  ASSERT_TRUE(end.ok()) << end.error().ToString();
  EXPECT_FALSE(*end);
}

TEST_F(RpcInteropTest, StreamErrorStatus) {
  auto call = channel_->StartCall(kAdsMethod, {}, std::nullopt).value();
  DeltaDiscoveryRequest request;
  request.set_type_url("fail");
  ASSERT_TRUE(call->Write(request.SerializeAsString()).ok());
  std::string bytes;
  auto got = call->Read(&bytes);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(got.error().ToString().find("INVALID_ARGUMENT: bad subscription"), std::string::npos);
}

TEST_F(RpcInteropTest, ServerGoingAwayEndsTheStream) {
  auto call = channel_->StartCall(kAdsMethod, {}, std::nullopt).value();
  DeltaDiscoveryRequest request;
  request.set_type_url("size:1");
  ASSERT_TRUE(call->Write(request.SerializeAsString()).ok());
  std::string bytes;
  ASSERT_TRUE(call->Read(&bytes).value());
  request.set_type_url("hang");
  ASSERT_TRUE(call->Write(request.SerializeAsString()).ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    StopServer();
  });
  auto got = call->Read(&bytes);
  stopper.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ErrorCode::kUnavailable) << got.error().ToString();
}

TEST_F(RpcInteropTest, CancelFromAnotherThreadUnblocksRead) {
  auto call = channel_->StartCall(kAdsMethod, {}, std::nullopt).value();
  DeltaDiscoveryRequest request;
  request.set_type_url("hang");
  ASSERT_TRUE(call->Write(request.SerializeAsString()).ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    call->Cancel();
  });
  std::string bytes;
  auto got = call->Read(&bytes);
  canceller.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(got.error().ToString().find("cancelled"), std::string::npos);
}

}  // namespace
}  // namespace ambit::rpc
