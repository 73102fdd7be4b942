#include "proxy/request_context.h"

#include "proxy/grpc.h"

namespace sluice::proxy {

asio::awaitable<void> sendReply(RequestContext& rc, const LocalReply& reply_in) {
  // A gRPC client gets an error as a gRPC status (trailers-only answer), as Envoy sends it.
  bool grpc_error = reply_in.status >= 400 && grpc::isGrpc(rc.head.headers);
  const LocalReply& reply = grpc_error ? grpc::asGrpcReply(reply_in) : reply_in;
  rc.outcome.status = reply.status;
  rc.outcome.flags.add(reply.flag);
  if (rc.outcome.grpc) rc.outcome.grpc_status = grpc::statusOf(reply.headers);
  if (rc.hasBody() && !rc.body_consumed) rc.keep_alive = false;
  bool ok = co_await rc.stream.sendLocalReply(reply, !rc.keep_alive);
  rc.outcome.bytes_sent += reply.body.size();
  if (!ok) rc.keep_alive = false;
}

}  // namespace sluice::proxy
