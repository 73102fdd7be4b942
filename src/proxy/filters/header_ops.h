#pragma once
// Header operations (VirtualService `headers`, proxy/route_table.h HeaderOps): the route's
// request operations then the chosen destination's on the upstream request; the route's
// response operations then the destination's on the response (101 included).

#include "proxy/filters/http_filter.h"

namespace sluice::proxy {

class HeaderOpsFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "header_ops"; }
  void onUpstreamRequest(FilterContext& ctx) const override;
  FilterResult onResponseHead(FilterContext& ctx, http::ResponseHead& response) const override;
};

}  // namespace sluice::proxy
