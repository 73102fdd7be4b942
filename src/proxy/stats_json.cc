#include "proxy/stats_json.h"

#include <map>
#include <utility>

namespace sluice::proxy {

namespace {

std::string serviceName(const std::string& fqdn) { return fqdn.substr(0, fqdn.find('.')); }

nlohmann::json cumulative(const std::array<uint64_t, kDurationBucketsMs.size()>& buckets) {
  nlohmann::json out = nlohmann::json::array();
  uint64_t sum = 0;
  for (uint64_t b : buckets) out.push_back(sum += b);
  return out;
}

}  // namespace

nlohmann::json renderStatsJson(const std::vector<std::vector<RequestSeries>>& per_worker,
                               const StatsJsonContext& context) {
  std::vector<RequestSeries> series = mergeSeries(per_worker);
  nlohmann::json j;
  j["reporter"] = context.reporter;
  j["source_workload"] = context.source_workload;
  j["mode"] = context.mode;
  j["snapshot_version"] = context.snapshot_version;
  j["timestamp_ms"] = context.timestamp_ms;
  j["duration_buckets_ms"] = kDurationBucketsMs;
  auto& requests = j["istio_requests_total"] = nlohmann::json::array();
  auto& durations = j["istio_request_duration_milliseconds"] = nlohmann::json::array();

  struct Edge {
    uint64_t requests = 0;
    uint64_t errors = 0;
    double duration_sum_ms = 0;
    std::map<int, uint64_t> responses;
    std::array<uint64_t, kDurationBucketsMs.size()> buckets{};
  };
  std::map<std::pair<std::string, std::string>, Edge> edges;  // (service, version)

  for (const auto& s : series) {
    nlohmann::json labels{{"reporter", context.reporter},
                          {"source_workload", context.source_workload},
                          {"destination_service", s.destination_service},
                          {"destination_service_name", serviceName(s.destination_service)},
                          {"destination_version", s.destination_version},
                          {"response_code", std::to_string(s.response_code)},
                          {"response_flags", responseFlagsLabel(s)},
                          {"request_protocol", requestProtocolLabel(s)},
                          {"grpc_response_status", grpcStatusLabel(s)}};
    requests.push_back({{"labels", labels}, {"value", s.count}});
    durations.push_back({{"labels", std::move(labels)},
                         {"count", s.count},
                         {"sum", s.duration_sum_ms},
                         {"buckets", cumulative(s.buckets)}});
    Edge& e = edges[{s.destination_service, s.destination_version}];
    e.requests += s.count;
    if (s.response_code >= 500) e.errors += s.count;
    e.duration_sum_ms += s.duration_sum_ms;
    e.responses[s.response_code] += s.count;
    for (size_t i = 0; i < s.buckets.size(); ++i) e.buckets[i] += s.buckets[i];
  }

  auto& out = j["edges"] = nlohmann::json::array();
  for (const auto& [key, e] : edges) {
    nlohmann::json responses = nlohmann::json::object();
    for (const auto& [code, n] : e.responses) responses[std::to_string(code)] = n;
    out.push_back({{"source_workload", context.source_workload},
                   {"destination_service", key.first},
                   {"destination_service_name", serviceName(key.first)},
                   {"destination_version", key.second},
                   {"requests_total", e.requests},
                   {"errors_total", e.errors},
                   {"responses", std::move(responses)},
                   {"duration_sum_ms", e.duration_sum_ms},
                   {"buckets", cumulative(e.buckets)},
                   {"p50_ms", estimateQuantileMs(e.buckets, e.requests, 0.5)},
                   {"p99_ms", estimateQuantileMs(e.buckets, e.requests, 0.99)}});
  }
  return j;
}

}  // namespace sluice::proxy
