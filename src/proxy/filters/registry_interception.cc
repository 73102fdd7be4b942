#include "proxy/filters/registry_interception.h"

#include "core/log.h"
#include "core/strings.h"
#include "proxy/worker.h"
#include "registry/nacos/list_rewrite.h"

namespace sluice::proxy {

namespace {

bool intercepted(const FilterContext& ctx) {
  return !ctx.listener.gateway && registryInterceptionPort(*ctx.snapshot, ctx.port) &&
         registry::nacos::isInstanceListRequest(ctx.request.method, ctx.request.path);
}

}  // namespace

bool registryInterceptionPort(const MeshSnapshot& snapshot, uint32_t port) {
  return snapshot.nacosRewriteFor(port) != nullptr;
}

void RegistryInterceptionFilter::onUpstreamRequest(FilterContext& ctx) const {
  if (!intercepted(ctx)) return;
  ctx.request.target = registry::nacos::disableUdpPush(ctx.request.target);
  ctx.request.headers.remove("accept-encoding");
}

FilterResult RegistryInterceptionFilter::onResponseHead(FilterContext& ctx,
                                                        http::ResponseHead& response) const {
  if (response.status != 200 || ctx.request.method == "HEAD" || !intercepted(ctx)) {
    return FilterResult::proceed();
  }
  auto encoding = response.headers.get("content-encoding");
  if (encoding && !equalsIgnoreCase(*encoding, "identity")) {
    SLUICE_LOG_WARN("nacos rewrite: {} came back with content-encoding {}; passed unchanged",
                    ctx.request.path, *encoding);
    return FilterResult::proceed();
  }
  LocalReply incomplete;
  incomplete.status = 502;
  incomplete.flag = ResponseFlag::kUpstreamProtocolError;
  incomplete.body = "incomplete or oversized Nacos instance list from the registry\n";
  return FilterResult::bufferBody(kMaxInstanceList, std::move(incomplete));
}

void RegistryInterceptionFilter::onResponseBody(FilterContext& ctx, http::ResponseHead&,
                                                std::string& body) const {
  auto rewritten = registry::nacos::rewriteInstanceList(body);
  if (!rewritten) {
    SLUICE_LOG_WARN("nacos rewrite: {}: {}; passed unchanged", ctx.request.path,
                    rewritten.error().message);
    return;
  }
  body = std::move(rewritten->body);
}

}  // namespace sluice::proxy
