// Connection: what an L4 authorization decision looks at — the source's
// authenticated identity (if any), the source and destination IPs and the
// destination port (https://istio.io/latest/docs/ambient/usage/l4-policy/).
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "identity/spiffe_id.h"
#include "net/socket_address.h"

namespace ambit::authz {

// The peer's identity as policies see it. Built once per connection.
struct Peer {
  std::string principal;        // "td/ns/NS/sa/SA": the SPIFFE id without "spiffe://"
  std::string ns;               // the namespace of the SPIFFE id (source.namespace)
  std::string service_account;  // the service account of the SPIFFE id

  static Peer FromIdentity(const identity::SpiffeId& id);
};

// The same three values borrowed from elsewhere (e.g. a principal computed
// once per mTLS connection and the SpiffeId it came from), so a decision on
// the data path copies no string. Valid while what it views lives.
struct PeerView {
  std::string_view principal;
  std::string_view ns;
  std::string_view service_account;

  static PeerView Of(const Peer& peer) { return {peer.principal, peer.ns, peer.service_account}; }
  // |principal| must be id.Principal() (kept by the caller).
  static PeerView Of(const identity::SpiffeId& id, std::string_view principal) {
    return {principal, id.ns(), id.service_account()};
  }
};

struct Connection {
  // The mTLS-verified source identity; nullopt when there is none (plaintext
  // on 15006). Without one, principal / namespace / service-account matchers
  // never hit: a positive list of them fails, a negative list passes.
  std::optional<Peer> peer;
  net::IpAddress source_ip;
  net::IpAddress destination_ip;
  std::uint16_t destination_port = 0;
};

}  // namespace ambit::authz
