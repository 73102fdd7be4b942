#include "proxy/filters/fault.h"

#include "proxy/grpc.h"
#include "proxy/worker.h"

namespace sluice::proxy {

FilterResult FaultFilter::onRequestHead(FilterContext& ctx) const {
  const FaultPolicy& fault = ctx.route.fault;
  if (ctx.route.action != Route::Action::kRoute) return FilterResult::proceed();
  if (fault.abort_grpc_status >= 0 && ctx.worker.rollPercent(fault.abort_percent)) {
    return FilterResult::stop(
        grpc::asGrpcReply(LocalReply::faultAbort(200), fault.abort_grpc_status));
  }
  if (fault.abort_status > 0 && ctx.worker.rollPercent(fault.abort_percent)) {
    return FilterResult::stop(LocalReply::faultAbort(fault.abort_status));
  }
  if (fault.delay.count() > 0 && ctx.worker.rollPercent(fault.delay_percent)) {
    return FilterResult::proceedAfter(fault.delay);
  }
  return FilterResult::proceed();
}

}  // namespace sluice::proxy
