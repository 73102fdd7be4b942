#pragma once
// The last phases of a forwarded request: response filters, then the upstream response written
// downstream.
//   101 Switching Protocols  (only for a request that asked to upgrade) the head goes back and
//                            both connections become a byte relay (no route timeout applies);
//   a filter buffers the body the body is read whole (within the filter's limit, else the
//                            filter's local reply), given to the filter(s), sent with
//                            Content-Length;
//   otherwise                the body streams through the body pump (re-chunked as received;
//                            de-chunked for an HTTP/1.0 client, which then gets a close).
// Afterwards the attempt's outcome goes to outlier detection and the upstream connection back
// to the pool when reusable. Worker thread only.

#include <asio/awaitable.hpp>
#include <string_view>

#include "proxy/filters/http_filter.h"
#include "proxy/request_context.h"
#include "proxy/retry_loop.h"
#include "proxy/socket_timer.h"

namespace sluice::proxy {

// `upgrade`: the Upgrade token the request passed on ("" when none). `timer` is the attempt's
// deadline, still armed.
asio::awaitable<void> respond(RequestContext& rc, FilterContext& filters,
                              UpstreamExchange& exchange, std::string_view upgrade,
                              SocketTimer& timer);

}  // namespace sluice::proxy
