#pragma once
// GET /stats/json: the request metrics of /stats/prometheus as JSON, for the mesh page (/ui) and
// for scripts. Off the request path: the admin thread renders it from the series it collected
// from every worker (proxy/stats.h).
//
// Shape (every field always present):
//   reporter, source_workload, mode ("sidecar" | "gateway"), snapshot_version, timestamp_ms (Unix)
//   duration_buckets_ms: the histogram's upper bounds (Istio's defaults)
//   istio_requests_total: [{labels: {reporter, source_workload, destination_service,
//       destination_service_name, destination_version, response_code, response_flags,
//       request_protocol, grpc_response_status}, value}]
//   istio_request_duration_milliseconds: [{labels (as above), count, sum, buckets}] with
//       `buckets` cumulative per bound of duration_buckets_ms, as Prometheus' _bucket{le}
//   edges: one per (destination_service, destination_version), this workload being the source:
//       {source_workload, destination_service, destination_service_name, destination_version,
//        requests_total, errors_total (5xx), responses: {"<code>": count}, duration_sum_ms,
//        buckets (cumulative, as above), p50_ms, p99_ms (since start, histogram estimates)}
// Every number is a counter since the process started (a rate is the difference of two reads
// divided by the difference of their timestamp_ms), except the quantiles.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/stats.h"

namespace sluice::proxy {

struct StatsJsonContext {
  std::string source_workload;  // "unknown" when the workload has no name
  std::string reporter;         // "source": this proxy measured the client's side
  std::string mode;             // "sidecar" or "gateway"
  uint64_t snapshot_version = 0;
  int64_t timestamp_ms = 0;
};

nlohmann::json renderStatsJson(const std::vector<std::vector<RequestSeries>>& per_worker,
                               const StatsJsonContext& context);

}  // namespace sluice::proxy
