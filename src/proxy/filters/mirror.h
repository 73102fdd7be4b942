#pragma once
// Mirroring (VirtualService `mirror` / `mirrors`, proxy/route_table.h Mirror): for each mirror
// whose percentage rolls, a fire-and-forget copy of the upstream request goes to the mirror's
// cluster with Host "<host>-shadow" (Envoy's convention); its response is read and dropped.
// Only requests whose body was read whole (replayable) are mirrored. A copy is skipped when
// the worker's snapshot moved on before it starts, or its cluster has no healthy endpoint.

#include "proxy/filters/http_filter.h"

namespace sluice::proxy {

class MirrorFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "mirror"; }
  void onUpstreamRequest(FilterContext& ctx) const override;
};

}  // namespace sluice::proxy
