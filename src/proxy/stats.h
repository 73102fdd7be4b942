#pragma once
// Request metrics with Istio's standard names: istio_requests_total (counter) and
// istio_request_duration_milliseconds (histogram), labelled by source_workload,
// destination_service, destination_version (the subset, "unknown" without one), response_code,
// response_flags (Envoy's, "-" for none), request_protocol ("http", or "grpc" for gRPC over
// HTTP/2), grpc_response_status (the grpc-status of a gRPC answer, "" otherwise) and reporter.
//
// Threading: each worker owns one WorkerStats and is the only writer; the admin thread collects
// snapshots of every worker's stats by posting a job to the worker (so there is no lock and no
// shared write on the request path) and merges them with renderPrometheus().

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/response_flags.h"

namespace sluice::proxy {

// Istio's default duration buckets, in milliseconds.
inline constexpr std::array<double, 19> kDurationBucketsMs = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

// What one request is counted under (views; the series copies them once).
struct SeriesKey {
  std::string_view service;
  std::string_view version;
  int code = 0;
  uint32_t flags = 0;    // ResponseFlags::bits()
  bool grpc = false;     // request_protocol "grpc" (else "http")
  int grpc_status = -1;  // -1: no grpc-status
};

struct RequestSeries {
  std::string destination_service;
  std::string destination_version;
  int response_code = 0;
  uint32_t response_flags = 0;  // ResponseFlags::bits()
  bool grpc = false;
  int grpc_status = -1;
  uint64_t count = 0;
  double duration_sum_ms = 0;
  std::array<uint64_t, kDurationBucketsMs.size()> buckets{};  // non-cumulative
};

class WorkerStats {
 public:
  // Records one request. Allocation-free once its series exists.
  void record(const SeriesKey& key, double duration_ms);
  void record(std::string_view service, std::string_view version, int code, double duration_ms) {
    record(SeriesKey{service, version, code}, duration_ms);
  }
  // Copies every series (the admin thread calls this through the worker's io_context).
  std::vector<RequestSeries> collect() const;

  uint64_t downstream_connections_total = 0;
  uint64_t downstream_connections_overflow_total = 0;  // refused: --max-downstream-connections
  uint64_t idle_closed_max_connections_total = 0;   // idle ones closed to make room under that cap
  uint64_t overload_refused_connections_total = 0;  // refused: heap overload
  uint64_t idle_closed_overload_total = 0;          // idle ones closed: heap overload
  uint64_t downstream_requests_total = 0;
  uint64_t upstream_connections_total = 0;
  // Transparent listener: connections passed through as TCP (not HTTP) and those that failed.
  uint64_t tcp_connections_total = 0;
  uint64_t tcp_connect_failures_total = 0;
  uint64_t inbound_connections_total = 0;  // relayed to the local application
  // Registry interception over TCP (method 2 for ZooKeeper), counted when a connection ends:
  // connections relayed through a stream rewriter, the instance records it rewrote, and the
  // connections it gave up on (an unknown or malformed frame: the rest relayed unmodified).
  uint64_t registry_stream_connections_total = 0;
  uint64_t registry_stream_records_rewritten_total = 0;
  uint64_t registry_stream_passthrough_total = 0;

 private:
  std::unordered_map<uint64_t, std::vector<RequestSeries>> series_;  // hash -> collisions
};

// Adds up the series of every worker: one per key (service, version, code, flags, protocol, grpc
// status), ordered by those.
std::vector<RequestSeries> mergeSeries(const std::vector<std::vector<RequestSeries>>& per_worker);

// The label values of a series' response_flags, request_protocol and grpc_response_status.
std::string responseFlagsLabel(const RequestSeries& s);
std::string_view requestProtocolLabel(const RequestSeries& s);
std::string grpcStatusLabel(const RequestSeries& s);

// The q-quantile (0 < q <= 1) of a duration histogram (non-cumulative `buckets` of
// kDurationBucketsMs, `count` requests in all, those above the last bound included), interpolated
// linearly inside the bucket it falls in, as Prometheus' histogram_quantile() does. 0 when `count`
// is 0; the last bound when the quantile lies above it.
double estimateQuantileMs(const std::array<uint64_t, kDurationBucketsMs.size()>& buckets,
                          uint64_t count, double q);

// Merges per-worker series and renders Prometheus text exposition.
std::string renderPrometheus(const std::vector<std::vector<RequestSeries>>& per_worker,
                             std::string_view source_workload, std::string_view reporter);

}  // namespace sluice::proxy
