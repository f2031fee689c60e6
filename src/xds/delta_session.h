// DeltaSession: the server side of one delta ADS stream as a pure state
// machine (no gRPC, no threads), so the protocol rules are unit-testable.
//
// Per type URL it tracks: whether the client is subscribed (wildcard or a set
// of names), and which version of each resource the client holds. Requests
// update that; BuildResponse() diffs it against the store's snapshot and
// returns only what the client lacks:
//  - resources whose version differs from the client's (or that it lacks),
//  - removed_resources for names the client holds that are gone or no longer
//    visible to it,
//  - every explicitly (re)subscribed name, even if the client seems to have it
//    (Envoy's rule), or a removal if no such resource exists.
// The first request of a type may carry initial_resource_versions (a
// reconnect); those become the client's known versions, so unchanged
// resources are not sent again.
// The first request of a type always gets a response, possibly empty, so the
// client learns that it is in sync even when it already had everything.
// ACK/NACK: the held versions are updated optimistically when a response is
// built. A NACK is recorded (last_nack) and not retried: the rejected
// versions count as delivered, so nothing is resent until the resource
// changes again (then the new version is sent).
//
// Thread-compatible: the owner serializes calls.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "xds/resource_store.h"

namespace ambit::xds {

class DeltaSession {
 public:
  // Decides whether a resource may be sent to this stream's client.
  using Visibility = std::function<bool(std::string_view type_url, const VersionedResource&)>;

  struct TypeStats {
    uint64_t acks = 0;
    uint64_t nacks = 0;
    std::string last_nack;  // error_detail.message of the latest NACK
  };

  // Applies one request. InvalidArgument for a request without type_url.
  Status OnRequest(const envoy::service::discovery::v3::DeltaDiscoveryRequest& request);

  // The next response for |type_url| given the store's |snapshot| and what is
  // |visible|, or nullopt when the client is up to date or not subscribed.
  // Marks the sent versions as held by the client.
  std::optional<envoy::service::discovery::v3::DeltaDiscoveryResponse> BuildResponse(
      std::string_view type_url, const TypeSnapshot& snapshot, const Visibility& visible);

  // Type URLs the client has sent at least one request for.
  std::vector<std::string> subscribed_types() const;
  // The versions the server believes the client holds for |type_url|.
  std::map<std::string, std::string> known_versions(std::string_view type_url) const;
  TypeStats stats(std::string_view type_url) const;

 private:
  struct TypeState {
    bool wildcard = false;
    bool initial_response_due = true;  // the first response is sent even if empty
    std::set<std::string, std::less<>> names;        // explicit subscriptions
    std::set<std::string, std::less<>> must_send;    // newly (re)subscribed names
    std::map<std::string, std::string, std::less<>> known;  // name -> version held by client
    TypeStats stats;
  };

  std::map<std::string, TypeState, std::less<>> types_;
  uint64_t next_nonce_ = 1;
};

}  // namespace ambit::xds
