#pragma once
// CORS (VirtualService corsPolicy, proxy/route_table.h CorsPolicy): a preflight (OPTIONS with
// Origin and Access-Control-Request-Method) from an allowed origin is answered here with the
// policy's allow headers; one from another origin is answered empty unless the policy forwards
// unmatched preflights. Responses to allowed origins get Access-Control-Allow-Origin (and
// expose headers, allow credentials). A 101 (upgrade) gets nothing.

#include "proxy/filters/http_filter.h"

namespace sluice::proxy {

class CorsFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "cors"; }
  FilterResult onRequestHead(FilterContext& ctx) const override;
  FilterResult onResponseHead(FilterContext& ctx, http::ResponseHead& response) const override;
};

}  // namespace sluice::proxy
