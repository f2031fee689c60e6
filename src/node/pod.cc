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
  std::size_t accept_loop = 0;
  for (const Plan& plan : plans) {
    net::Listener::Options options;
    options.listen.reuse_port = true;  // a restarted ztunnel binds beside the old one
    options.listen.backlog = 128;
    options.accept_loop = accept_loop++;
    // HBONE connections are long-lived and carry many streams: balance them
    // by how many each loop already serves, not by turn.
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
