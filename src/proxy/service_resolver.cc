#include "proxy/service_resolver.h"

#include <fmt/format.h>

#include "proxy/worker.h"

namespace sluice::proxy {

using asio::ip::tcp;

std::optional<DialledService> resolveDialled(const MeshSnapshot& snap,
                                             const tcp::endpoint& dialled) {
  std::string ip = dialled.address().to_string();
  // A service VIP handed out by the sidecar's DNS (method 2 names, any mesh host).
  if (const MeshService* s = snap.findByVip(ip))
    return DialledService{s, DialledService::Via::kVip};
  // Reverse DNS (method 1): ip:port of a registry instance in the pod CIDRs.
  if (const MeshService* s = snap.findByAddress(ip, dialled.port())) {
    return DialledService{s, DialledService::Via::kReverseDns};
  }
  return std::nullopt;
}

namespace {

Resolution resolveGateway(const MeshSnapshot& snap, const ListenerContext& listener,
                          const http::RequestHead& head) {
  Resolution r;
  r.port = listener.gateway_port;
  const GatewayListener* gl = snap.findGatewayListener(listener.gateway_port);
  if (gl == nullptr) {
    r.reply = LocalReply::noGatewayServer(r.port);
  } else if (gl->https_redirect) {
    auto host = splitAuthority(head.authority).first;
    r.reply = LocalReply::redirect(301, fmt::format("https://{}{}", host, head.path));
  } else {
    r.vhost = gl->routes.findVirtualHost(head.authority);
  }
  return r;
}

}  // namespace

Resolution resolveRequest(const MeshSnapshot& snap, const ListenerContext& listener,
                          const http::RequestHead& head) {
  if (listener.gateway) return resolveGateway(snap, listener, head);
  Resolution r;
  auto [host, authority_port] = splitAuthority(head.authority);
  // Transparent listener: the port is the one the application dialled (Istio's listener port),
  // and the address it dialled stands in for Host where Host names no mesh service.
  const auto& dialled = listener.original_dst;
  r.port = dialled ? dialled->port() : authority_port != 0 ? authority_port : 80;
  // By name: any accepted host form of a mesh service, or a VirtualService host.
  r.service = snap.findService(head.authority);
  r.vhost = r.service != nullptr ? snap.meshVirtualHost(*r.service)
                                 : snap.mesh_routes.findVirtualHost(head.authority);
  if (r.vhost == nullptr && dialled) {
    auto found = resolveDialled(snap, *dialled);
    r.service = found ? found->service : nullptr;
    if (r.service != nullptr) r.vhost = snap.meshVirtualHost(*r.service);
    if (r.vhost == nullptr) r.passthrough = *dialled;  // not ours: where the application wanted
  } else if (r.vhost == nullptr) {
    // By address (reverse DNS, method 1): ip:port of a registry instance in the pod CIDRs.
    r.service = snap.findByAddress(host, static_cast<uint16_t>(r.port));
    if (r.service != nullptr) r.vhost = snap.meshVirtualHost(*r.service);
  }
  if (r.vhost == nullptr && !r.passthrough) {
    asio::error_code ec;
    auto ip = asio::ip::make_address(std::string(host), ec);
    if (ec || authority_port == 0) {
      r.reply = LocalReply::unknownService(head.authority);
      return r;
    }
    r.passthrough = tcp::endpoint(ip, static_cast<uint16_t>(authority_port));
  }
  return r;
}

}  // namespace sluice::proxy
