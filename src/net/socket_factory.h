// SocketFactory: THE redirection seam. Every socket the data path creates
// (listeners and outgoing connections) comes from a factory, so the same proxy
// code runs in the node's namespace (DefaultSocketFactory) or inside a pod's
// network namespace (NetnsSocketFactory; as ztunnel's InPodSocketFactory,
// https://github.com/istio/ztunnel/blob/master/src/inpod/config.rs).
//
// A socket keeps the namespace it was created in for life, so only creation
// needs the namespace; bind/connect/accept can run on any thread afterwards.
//
// Thread-safety: implementations are immutable after construction and safe to
// call from any thread. NetnsSocketFactory switches only the calling thread's
// namespace, and only for the duration of the call (never across a suspension).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "core/netns.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "net/socket_address.h"

namespace ambit::net {

struct ListenOptions {
  bool reuse_port = true;  // SO_REUSEPORT: a new ztunnel can bind beside the old one
  int backlog = 128;
  // IP_TRANSPARENT on the listener (accept connections to non-local addresses).
  bool transparent = false;
};

class SocketFactory {
 public:
  virtual ~SocketFactory() = default;

  // A new non-blocking, close-on-exec TCP socket of |family| (AF_INET/AF_INET6),
  // not yet bound or connected. Factory-specific options (mark) are applied.
  virtual Result<UniqueFd> NewTcpSocket(int family) const = 0;

  // A non-blocking TCP socket bound to |addr| and listening.
  virtual Result<UniqueFd> NewListener(const SocketAddress& addr,
                                       const ListenOptions& options) const;

  // A new non-blocking, close-on-exec UDP socket of |family|, not yet bound
  // or connected, with the factory's options (mark) applied. The default
  // makes it in the calling thread's namespace, unmarked.
  virtual Result<UniqueFd> NewUdpSocket(int family) const;
};

// Sockets in the calling thread's namespace, optionally marked.
class DefaultSocketFactory : public SocketFactory {
 public:
  DefaultSocketFactory() = default;
  explicit DefaultSocketFactory(std::optional<std::uint32_t> mark) : mark_(mark) {}
  Result<UniqueFd> NewTcpSocket(int family) const override;
  Result<UniqueFd> NewUdpSocket(int family) const override;

 private:
  std::optional<std::uint32_t> mark_;
};

// Sockets inside one pod's network namespace, each carrying |mark| (default
// kInpodMark, 0x539) so the pod's redirection rules do not capture them again.
class NetnsSocketFactory : public SocketFactory {
 public:
  NetnsSocketFactory(std::shared_ptr<const Netns> netns, std::uint32_t mark);
  explicit NetnsSocketFactory(std::shared_ptr<const Netns> netns);

  Result<UniqueFd> NewTcpSocket(int family) const override;
  Result<UniqueFd> NewListener(const SocketAddress& addr,
                               const ListenOptions& options) const override;
  Result<UniqueFd> NewUdpSocket(int family) const override;

  const Netns& netns() const { return *netns_; }

 private:
  std::shared_ptr<const Netns> netns_;
  std::uint32_t mark_;
};

}  // namespace ambit::net
