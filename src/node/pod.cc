#include "node/pod.h"

#include "core/log.h"

namespace ambit::node {

Pod::Pod(PodSpec spec, identity::SpiffeId identity, std::shared_ptr<const Netns> netns,
         std::uint32_t mark, proxy::CertLease lease)
    : spec_(std::move(spec)),
      identity_(std::move(identity)),
      netns_(netns),
      factory_(std::make_shared<net::NetnsSocketFactory>(std::move(netns), mark)),
      lease_(std::move(lease)) {}

Result<std::shared_ptr<Pod>> Pod::Start(PodSpec spec, identity::SpiffeId identity,
                                        std::shared_ptr<const Netns> netns, std::uint32_t mark,
                                        proxy::CertLease lease, const PodPorts& ports,
                                        net::WorkerPool& workers, PodTrafficHandler& handler) {
  auto pod = std::make_shared<Pod>(std::move(spec), std::move(identity), std::move(netns), mark,
                                   std::move(lease));
  auto traffic = handler.Attach(*pod);
  if (!traffic.ok()) {
    return std::move(traffic).error().WithContext("pod " + pod->spec_.ns + "/" + pod->spec_.name);
  }
  pod->traffic_ = std::move(traffic).value();
  using Accept = void (PodTraffic::*)(std::shared_ptr<Pod>, asio::ip::tcp::socket);
  struct Plan {
    std::uint16_t port;
    Accept accept;
    const char* what;
  };
  const Plan plans[] = {
      {ports.outbound, &PodTraffic::OnOutbound, "outbound"},
      {ports.inbound_plaintext, &PodTraffic::OnInboundPlaintext, "inbound plaintext"},
      {ports.hbone, &PodTraffic::OnHbone, "HBONE"},
  };
  for (const Plan& plan : plans) {
    net::Listener::Options options;
    // One listening socket per worker loop in the pod's namespace, all in one
    // SO_REUSEPORT group (which a restarted ztunnel also joins): the kernel
    // spreads connections and each is served by the loop that accepted it.
    options.listen.reuse_port = true;
    options.listen.backlog = 128;
    options.per_worker = true;
    options.placement = net::Listener::Placement::kAcceptingLoop;
    // HBONE connections are long-lived and carry many streams: one stays on
    // its accepting loop unless another loop serves fewer (a peer's two
    // pooled connections must not share a loop while another idles).
    if (plan.port == ports.hbone) options.placement = net::Listener::Placement::kLeastLoaded;
    std::weak_ptr<Pod> weak = pod;
    auto listener = net::Listener::Start(
        workers, *pod->factory_, net::SocketAddress(ports.bind, plan.port), options,
        [weak, accept = plan.accept](asio::ip::tcp::socket socket) {
          auto self = weak.lock();
          if (self == nullptr || self->tracker_->draining()) return;  // socket closes
          PodTraffic& attached = *self->traffic_;
          (attached.*accept)(std::move(self), std::move(socket));
        });
    if (!listener.ok()) {
      pod->StopAccepting();
      return std::move(listener).error().WithContext(
          std::string("opening the ") + plan.what + " listener of pod " + pod->spec_.ns + "/" +
          pod->spec_.name);
    }
    pod->listeners_.push_back(std::move(listener).value());
  }
  return pod;
}

std::vector<net::SocketAddress> Pod::listen_addresses() const {
  std::vector<net::SocketAddress> out;
  for (const auto& l : listeners_) out.push_back(l->local_address());
  return out;
}

std::size_t Pod::listening_sockets() const {
  std::size_t n = 0;
  for (const auto& l : listeners_) n += l->socket_count();
  return n;
}

std::vector<std::string> Pod::side_service_descriptions() const {
  std::vector<std::string> out;
  for (const auto& s : side_services_) {
    auto d = s->Describe();
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}

void Pod::StopAccepting() {
  tracker_->StartDraining();
  for (auto& l : listeners_) l->Close();
  for (auto& s : side_services_) s->Stop();
}

}  // namespace ambit::node
