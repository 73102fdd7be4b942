#include "proxy/filters/registry_interception.h"

#include <fmt/format.h>

#include "core/log.h"
#include "core/strings.h"
#include "proxy/worker.h"

namespace sluice::proxy {

namespace {

// The registry plug-in's rewriter when this request is one it rewrites, else nullptr.
const http::InterceptionRewriter* interceptedBy(const FilterContext& ctx) {
  if (ctx.listener.gateway) return nullptr;
  const auto* rule = ctx.snapshot->interceptionFor(ctx.port);
  if (rule == nullptr || rule->rewriter == nullptr) return nullptr;
  return rule->rewriter->appliesTo(ctx.request) ? rule->rewriter.get() : nullptr;
}

}  // namespace

bool registryInterceptionPort(const MeshSnapshot& snapshot, uint32_t port) {
  return snapshot.interceptionFor(port) != nullptr ||
         snapshot.streamInterceptionFor(port) != nullptr;
}

void RegistryInterceptionFilter::onUpstreamRequest(FilterContext& ctx) const {
  if (const auto* rewriter = interceptedBy(ctx)) rewriter->prepareRequest(ctx.request);
}

FilterResult RegistryInterceptionFilter::onResponseHead(FilterContext& ctx,
                                                        http::ResponseHead& response) const {
  if (response.status != 200 || ctx.request.method == "HEAD") return FilterResult::proceed();
  const auto* rewriter = interceptedBy(ctx);
  if (rewriter == nullptr) return FilterResult::proceed();
  auto encoding = response.headers.get("content-encoding");
  if (encoding && !equalsIgnoreCase(*encoding, "identity")) {
    SLUICE_LOG_WARN("{} rewrite: {} came back with content-encoding {}; passed unchanged",
                    rewriter->registry(), ctx.request.path, *encoding);
    return FilterResult::proceed();
  }
  LocalReply incomplete;
  incomplete.status = 502;
  incomplete.flag = ResponseFlag::kUpstreamProtocolError;
  incomplete.body = fmt::format("incomplete or oversized {} instance list from the registry\n",
                                rewriter->registry() == "nacos" ? "Nacos" : rewriter->registry());
  return FilterResult::bufferBody(rewriter->maxBodyBytes(), std::move(incomplete));
}

void RegistryInterceptionFilter::onResponseBody(FilterContext& ctx, http::ResponseHead& response,
                                                std::string& body) const {
  const auto* rewriter = interceptedBy(ctx);
  if (rewriter == nullptr) return;
  auto rewritten = rewriter->rewriteResponseBody(ctx.request, response, body);
  if (!rewritten) {
    SLUICE_LOG_WARN("{} rewrite: {}: {}; passed unchanged", rewriter->registry(), ctx.request.path,
                    rewritten.error().message);
    return;
  }
  body = std::move(rewritten->body);
}

}  // namespace sluice::proxy
