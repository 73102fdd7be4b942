#pragma once
// Turns the downstream request head, in place (no copies), into the head sent upstream:
// target (route rewrite; absolute-form becomes origin-form), hop-by-hop fields removed (an
// Upgrade on a bodiless HTTP/1.1 request is the one hop-by-hop exchange passed on), Expect and a
// client's x-envoy-attempt-count dropped, Host (rewrite authority, or following an absolute-form
// target), x-forwarded-for, x-forwarded-proto, x-request-id. Filters (header operations,
// registry interception) run after this. Worker thread only.

#include <string>

#include "proxy/request_context.h"
#include "proxy/route_table.h"

namespace sluice::proxy {

// Returns the Upgrade token passed on ("" when the request does not upgrade).
std::string prepareUpstreamHead(RequestContext& rc, const Route& route, const MatchBlock* matched);

}  // namespace sluice::proxy
