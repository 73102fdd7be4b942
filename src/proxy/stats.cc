#include "proxy/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "proxy/load_balancer.h"

namespace sluice::proxy {

namespace {

uint64_t seriesHash(const SeriesKey& k) {
  uint64_t h = hashKey(k.service);
  h ^= hashKey(k.version) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  uint64_t small = static_cast<uint64_t>(static_cast<uint32_t>(k.code)) |
                   static_cast<uint64_t>(k.flags) << 16 |
                   static_cast<uint64_t>(static_cast<uint8_t>(k.grpc_status + 1)) << 48 |
                   static_cast<uint64_t>(k.grpc) << 56;
  return h ^ (small * 0xff51afd7ed558ccdULL);
}

bool sameKey(const RequestSeries& s, const SeriesKey& k) {
  return s.response_code == k.code && s.response_flags == k.flags && s.grpc == k.grpc &&
         s.grpc_status == k.grpc_status && s.destination_service == k.service &&
         s.destination_version == k.version;
}

auto orderKey(const RequestSeries& s) {
  return std::tuple(s.destination_service, s.destination_version, s.response_code, s.response_flags,
                    s.grpc, s.grpc_status);
}

std::string escapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string responseFlagsLabel(const RequestSeries& s) {
  ResponseFlags flags;
  for (uint32_t i = 1; i < 32; ++i) {
    if ((s.response_flags & (1u << i)) != 0) flags.add(static_cast<ResponseFlag>(i));
  }
  return flags.toString();
}

std::string_view requestProtocolLabel(const RequestSeries& s) { return s.grpc ? "grpc" : "http"; }

std::string grpcStatusLabel(const RequestSeries& s) {
  return s.grpc_status < 0 ? std::string() : std::to_string(s.grpc_status);
}

void WorkerStats::record(const SeriesKey& key, double duration_ms) {
  auto& bucket = series_[seriesHash(key)];
  RequestSeries* s = nullptr;
  for (auto& candidate : bucket) {
    if (sameKey(candidate, key)) {
      s = &candidate;
      break;
    }
  }
  if (s == nullptr) {
    bucket.push_back(RequestSeries{std::string(key.service), std::string(key.version), key.code,
                                   key.flags, key.grpc, key.grpc_status});
    s = &bucket.back();
  }
  ++s->count;
  s->duration_sum_ms += duration_ms;
  for (size_t i = 0; i < kDurationBucketsMs.size(); ++i) {
    if (duration_ms <= kDurationBucketsMs[i]) {
      ++s->buckets[i];
      break;
    }
  }
}

std::vector<RequestSeries> WorkerStats::collect() const {
  std::vector<RequestSeries> out;
  for (const auto& [h, bucket] : series_) out.insert(out.end(), bucket.begin(), bucket.end());
  return out;
}

std::vector<RequestSeries> mergeSeries(const std::vector<std::vector<RequestSeries>>& per_worker) {
  std::map<decltype(orderKey(RequestSeries{})), RequestSeries> merged;
  for (const auto& worker : per_worker) {
    for (const auto& s : worker) {
      auto [it, fresh] = merged.try_emplace(orderKey(s), s);
      if (fresh) continue;
      RequestSeries& m = it->second;
      m.count += s.count;
      m.duration_sum_ms += s.duration_sum_ms;
      for (size_t i = 0; i < s.buckets.size(); ++i) m.buckets[i] += s.buckets[i];
    }
  }
  std::vector<RequestSeries> out;
  out.reserve(merged.size());
  for (auto& [k, s] : merged) out.push_back(std::move(s));
  return out;
}

double estimateQuantileMs(const std::array<uint64_t, kDurationBucketsMs.size()>& buckets,
                          uint64_t count, double q) {
  if (count == 0) return 0;
  double rank = q * static_cast<double>(count);
  double below = 0;  // requests in the buckets before this one
  for (size_t i = 0; i < buckets.size(); ++i) {
    double in_bucket = static_cast<double>(buckets[i]);
    if (in_bucket > 0 && below + in_bucket >= rank) {
      double lower = i == 0 ? 0 : kDurationBucketsMs[i - 1];
      return lower + (kDurationBucketsMs[i] - lower) * ((rank - below) / in_bucket);
    }
    below += in_bucket;
  }
  return kDurationBucketsMs.back();
}

std::string renderPrometheus(const std::vector<std::vector<RequestSeries>>& per_worker,
                             std::string_view source_workload, std::string_view reporter) {
  std::vector<RequestSeries> merged = mergeSeries(per_worker);
  std::string out;
  auto labels = [&](const RequestSeries& s) {
    return fmt::format(
        "reporter=\"{}\",source_workload=\"{}\",destination_service=\"{}\","
        "destination_service_name=\"{}\",destination_version=\"{}\",response_code=\"{}\","
        "response_flags=\"{}\",request_protocol=\"{}\",grpc_response_status=\"{}\"",
        escapeLabel(reporter), escapeLabel(source_workload), escapeLabel(s.destination_service),
        escapeLabel(s.destination_service.substr(0, s.destination_service.find('.'))),
        escapeLabel(s.destination_version), s.response_code, responseFlagsLabel(s),
        requestProtocolLabel(s), grpcStatusLabel(s));
  };
  out += "# HELP istio_requests_total Requests proxied, by destination and response code.\n";
  out += "# TYPE istio_requests_total counter\n";
  for (const auto& s : merged) {
    out += fmt::format("istio_requests_total{{{}}} {}\n", labels(s), s.count);
  }
  out += "# HELP istio_request_duration_milliseconds Request duration in milliseconds.\n";
  out += "# TYPE istio_request_duration_milliseconds histogram\n";
  for (const auto& s : merged) {
    std::string l = labels(s);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kDurationBucketsMs.size(); ++i) {
      cumulative += s.buckets[i];
      out += fmt::format("istio_request_duration_milliseconds_bucket{{{},le=\"{}\"}} {}\n", l,
                         kDurationBucketsMs[i], cumulative);
    }
    out += fmt::format("istio_request_duration_milliseconds_bucket{{{},le=\"+Inf\"}} {}\n", l,
                       s.count);
    out += fmt::format("istio_request_duration_milliseconds_sum{{{}}} {}\n", l, s.duration_sum_ms);
    out += fmt::format("istio_request_duration_milliseconds_count{{{}}} {}\n", l, s.count);
  }
  return out;
}

}  // namespace sluice::proxy
