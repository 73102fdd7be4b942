#include <array>

#include "proxy/filters/cors.h"
#include "proxy/filters/fault.h"
#include "proxy/filters/header_ops.h"
#include "proxy/filters/http_filter.h"
#include "proxy/filters/mirror.h"
#include "proxy/filters/registry_interception.h"

namespace sluice::proxy {

std::span<const HttpFilter* const> httpFilterChain() {
  // Order matters: a CORS preflight is answered before a fault can abort it; the registry
  // interception prepares its request before header operations apply; a mirror copies the head
  // as it finally goes out. Response hooks run backwards, so CORS headers are set last.
  static const CorsFilter cors;
  static const FaultFilter fault;
  static const RegistryInterceptionFilter registry_interception;
  static const HeaderOpsFilter header_ops;
  static const MirrorFilter mirror;
  static const std::array<const HttpFilter*, 5> chain = {&cors, &fault, &registry_interception,
                                                         &header_ops, &mirror};
  return chain;
}

}  // namespace sluice::proxy
