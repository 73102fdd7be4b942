#include "proxy/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "proxy/load_balancer.h"

namespace sluice::proxy {

namespace {

uint64_t seriesHash(std::string_view service, std::string_view version, int code) {
  uint64_t h = hashKey(service);
  h ^= hashKey(version) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h ^ (static_cast<uint64_t>(code) * 0xff51afd7ed558ccdULL);
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

void WorkerStats::record(std::string_view service, std::string_view version, int code,
                         double duration_ms) {
  auto& bucket = series_[seriesHash(service, version, code)];
  RequestSeries* s = nullptr;
  for (auto& candidate : bucket) {
    if (candidate.response_code == code && candidate.destination_service == service &&
        candidate.destination_version == version) {
      s = &candidate;
      break;
    }
  }
  if (s == nullptr) {
    bucket.push_back(RequestSeries{std::string(service), std::string(version), code});
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
  std::map<std::tuple<std::string, std::string, int>, RequestSeries> merged;
  for (const auto& worker : per_worker) {
    for (const auto& s : worker) {
      auto& m = merged[{s.destination_service, s.destination_version, s.response_code}];
      m.destination_service = s.destination_service;
      m.destination_version = s.destination_version;
      m.response_code = s.response_code;
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
        "destination_service_name=\"{}\",destination_version=\"{}\",response_code=\"{}\"",
        escapeLabel(reporter), escapeLabel(source_workload), escapeLabel(s.destination_service),
        escapeLabel(s.destination_service.substr(0, s.destination_service.find('.'))),
        escapeLabel(s.destination_version), s.response_code);
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
