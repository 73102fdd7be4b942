#pragma once
// Fault injection (VirtualService `fault`, proxy/route_table.h FaultPolicy) on routed requests
// (not on redirects or direct responses): abort with the configured status for abort_percent of
// requests (flag FI), else delay delay_percent of them (flag DI). Abort is decided first, each
// with its own roll.

#include "proxy/filters/http_filter.h"

namespace sluice::proxy {

class FaultFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "fault"; }
  FilterResult onRequestHead(FilterContext& ctx) const override;
};

}  // namespace sluice::proxy
