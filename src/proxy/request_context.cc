#include "proxy/request_context.h"

namespace sluice::proxy {

asio::awaitable<void> sendReply(RequestContext& rc, const LocalReply& reply) {
  rc.outcome.status = reply.status;
  rc.outcome.flag = reply.flag;
  if (rc.hasBody() && !rc.body_consumed) rc.keep_alive = false;
  bool ok = co_await writeLocalReply(rc.d, reply, !rc.keep_alive);
  rc.outcome.bytes_sent += reply.body.size();
  if (!ok) rc.keep_alive = false;
}

}  // namespace sluice::proxy
