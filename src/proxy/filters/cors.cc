#include "proxy/filters/cors.h"

namespace sluice::proxy {

FilterResult CorsFilter::onRequestHead(FilterContext& ctx) const {
  const CorsPolicy& cors = ctx.route.cors;
  const http::RequestHead& head = ctx.request;
  if (!cors.enabled || head.method != "OPTIONS") return FilterResult::proceed();
  auto origin = head.headers.get("origin");
  if (!origin || !head.headers.has("access-control-request-method")) {
    return FilterResult::proceed();
  }
  if (cors.originAllowed(*origin)) {
    LocalReply reply = LocalReply::direct(200, "");
    http::Headers& h = reply.headers;
    h.add("access-control-allow-origin", *origin);
    if (!cors.allow_methods.empty()) h.add("access-control-allow-methods", cors.allow_methods);
    if (!cors.allow_headers.empty()) h.add("access-control-allow-headers", cors.allow_headers);
    if (!cors.max_age.empty()) h.add("access-control-max-age", cors.max_age);
    if (cors.allow_credentials.value_or(false)) h.add("access-control-allow-credentials", "true");
    return FilterResult::stop(std::move(reply));
  }
  if (!cors.forward_unmatched_preflights) return FilterResult::stop(LocalReply::direct(200, ""));
  return FilterResult::proceed();
}

FilterResult CorsFilter::onResponseHead(FilterContext& ctx, http::ResponseHead& response) const {
  const CorsPolicy& cors = ctx.route.cors;
  if (!cors.enabled || response.status == 101) return FilterResult::proceed();
  auto origin = ctx.request.headers.get("origin");
  if (!origin || !cors.originAllowed(*origin)) return FilterResult::proceed();
  response.headers.set("access-control-allow-origin", *origin);
  if (!cors.expose_headers.empty()) {
    response.headers.set("access-control-expose-headers", cors.expose_headers);
  }
  if (cors.allow_credentials.value_or(false)) {
    response.headers.set("access-control-allow-credentials", "true");
  }
  return FilterResult::proceed();
}

}  // namespace sluice::proxy
