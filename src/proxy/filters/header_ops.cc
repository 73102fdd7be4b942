#include "proxy/filters/header_ops.h"

namespace sluice::proxy {

void HeaderOpsFilter::onUpstreamRequest(FilterContext& ctx) const {
  ctx.route.request_headers.apply(ctx.request.headers);
  if (ctx.destination != nullptr) ctx.destination->request_headers.apply(ctx.request.headers);
}

FilterResult HeaderOpsFilter::onResponseHead(FilterContext& ctx,
                                             http::ResponseHead& response) const {
  ctx.route.response_headers.apply(response.headers);
  if (ctx.destination != nullptr) ctx.destination->response_headers.apply(response.headers);
  return FilterResult::proceed();
}

}  // namespace sluice::proxy
