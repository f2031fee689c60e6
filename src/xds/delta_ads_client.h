// DeltaAdsClient: ztunnel's delta ADS client. Subscribes (wildcard) to
// istio.workload.Address and istio.security.Authorization, applies each
// response to an immutable WorkloadState published through a StateStore
// (StateApplier), ACKs good responses and NACKs bad ones with error_detail
// (keeping the last good state), and reconnects with backoff (10 ms -> 15 s,
// jittered) sending initial_resource_versions so the server skips what it
// already has. While the control plane is away the last good state keeps
// serving: nothing is cleared on disconnect.
//
// Transport: one gRPC bidirectional stream
// (/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources)
// per connection attempt, over src/rpc (HTTP/2 cleartext via nghttp2; no gRPC
// library in the node proxies). The bearer token is re-read on every connect.
//
// Threading: Start() runs the stream on one background thread (blocking
// reads on the call's socket); everything else is thread-safe. Stop() cancels
// the live call from any thread. The data path never calls into the client;
// it reads the StateStore (state_store.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "state/state_store.h"
#include "xds/proxy_node.h"
#include "xds/resource_handler.h"

namespace ambit::rpc {
class Channel;
class ClientCall;
}  // namespace ambit::rpc

namespace ambit::xds {

class StateApplier;

struct DeltaAdsClientOptions {
  ProxyNode node;
  // Wildcard subscriptions, one per type.
  std::vector<std::string> type_urls;  // empty = Address and Authorization
  // More types, each consumed by its handler (resource_handler.h) instead of
  // the workload state; also subscribed (wildcard) and counted for synced().
  std::map<std::string, std::shared_ptr<ResourceHandler>> handlers;
  // Returns the bearer token (re-read on every connect); null = send none.
  std::function<Result<std::string>()> token_source;
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{15'000};
};

// A channel to the control plane: |target| "unix:/path/ambitd.sock" (inside
// the local cluster; the socket's permissions are the transport security) or
// "host:port" (cleartext). Responses up to kMaxXdsResponseBytes (a full sync
// of a large mesh is one message). Errors: kInvalidArgument (bad target).
inline constexpr std::size_t kMaxXdsResponseBytes = std::size_t{1} << 30;
Result<std::shared_ptr<rpc::Channel>> MakeXdsChannel(const std::string& target);

// A token_source that reads the node credential file (e.g.
// <state-dir>/nodes/<node>/credential) on every call, trimming surrounding
// whitespace. Fails (kIo / kInvalidArgument) if unreadable or empty.
std::function<Result<std::string>()> TokenFromFile(std::string path);

class DeltaAdsClient {
 public:
  struct Stats {
    uint64_t connects = 0;        // streams that received at least one response
    uint64_t attempts = 0;        // streams started
    uint64_t responses_applied = 0;
    uint64_t responses_rejected = 0;  // NACKed
    uint64_t resources_applied = 0;
    uint64_t removals_applied = 0;
    bool connected = false;
    std::string last_error;  // latest NACK reason or stream failure
  };

  // |store| must outlive the client.
  DeltaAdsClient(std::shared_ptr<rpc::Channel> channel, DeltaAdsClientOptions options,
                 state::StateStore& store);
  ~DeltaAdsClient();  // Stop()

  DeltaAdsClient(const DeltaAdsClient&) = delete;
  DeltaAdsClient& operator=(const DeltaAdsClient&) = delete;

  void Start();
  // Cancels the stream and joins the thread. Idempotent.
  void Stop();

  // True once every subscribed type got a response (on any stream): the
  // state reflects the control plane at least once. Readiness uses this.
  // Lock-free: the data path asks it per connection.
  bool synced() const { return synced_.load(std::memory_order_acquire); }
  bool WaitForSync(std::chrono::milliseconds timeout) const;
  // If synced now, returns false and drops |callback|. Otherwise keeps it and
  // returns true: it runs once, on the client's thread, when the client
  // becomes synced (or from Stop()/the destructor, so no waiter is left
  // hanging); it must not block. For net::WaitUntil.
  bool WhenSynced(std::function<void()> callback) const;

  Stats stats() const;

 private:
  void Run();
  // One stream: returns when it ends (error, server gone, or Stop).
  void RunStream(bool& got_response);
  // Subscribes, then applies and answers responses until the call fails.
  Status Exchange(rpc::ClientCall& call, bool& got_response);

  std::shared_ptr<rpc::Channel> channel_;
  DeltaAdsClientOptions options_;
  // Used only on the client thread. Lives across streams: its versions feed
  // initial_resource_versions on reconnect.
  std::unique_ptr<StateApplier> applier_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;                       // guarded by mu_
  rpc::ClientCall* call_ = nullptr;             // guarded by mu_: the live stream
  std::set<std::string> synced_types_;          // guarded by mu_
  std::atomic<bool> synced_{false};             // synced_types_ covers every type
  mutable std::vector<std::function<void()>> on_synced_;  // guarded by mu_
  Stats stats_;                                 // guarded by mu_
  std::thread thread_;
};

}  // namespace ambit::xds
