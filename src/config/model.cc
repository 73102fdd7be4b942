#include "config/model.h"

#include <re2/re2.h>

#include <algorithm>
#include <limits>

#include "core/strings.h"

namespace sluice::config {

std::string Position::toString() const {
  return fmt::format("{}:{}:{}", file.empty() ? "<input>" : file, line, column);
}

// ---------------------------------------------------------------------------------------------
// Duration

namespace {

// Nanoseconds per unit; nullopt for an unknown unit.
std::optional<uint64_t> unitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;  // us, µs, μs
  if (unit == "ms") return 1000000;
  if (unit == "s") return 1000000000ULL;
  if (unit == "m") return 60ULL * 1000000000ULL;
  if (unit == "h") return 3600ULL * 1000000000ULL;
  return std::nullopt;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Duration> Duration::parse(std::string_view text) {
  const std::string_view original = text;
  if (text.empty()) return invalidArgument("empty duration (expected e.g. \"1.5s\", \"200ms\")");
  if (text.front() == '-') return invalidArgument("duration '{}' must not be negative", original);
  if (text.front() == '+') text.remove_prefix(1);
  if (text == "0") return Duration{};
  using u128 = unsigned __int128;
  const u128 kMax = static_cast<u128>(std::numeric_limits<int64_t>::max());
  u128 total = 0;
  if (text.empty()) return invalidArgument("invalid duration '{}'", original);
  while (!text.empty()) {
    // Number: digits, optionally '.' digits; at least one digit overall.
    size_t i = 0;
    u128 whole = 0;
    bool any_digit = false;
    while (i < text.size() && isDigit(text[i])) {
      whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
      if (whole > kMax) return invalidArgument("duration '{}' is out of range", original);
      any_digit = true;
      ++i;
    }
    u128 frac = 0;
    u128 frac_scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && isDigit(text[i])) {
        // Digits beyond nanosecond precision of the largest unit cannot matter; keep 18.
        if (frac_scale < static_cast<u128>(1000000000000000000ULL)) {
          frac = frac * 10 + static_cast<unsigned>(text[i] - '0');
          frac_scale *= 10;
        }
        any_digit = true;
        ++i;
      }
    }
    if (!any_digit) return invalidArgument("invalid duration '{}' (expected a number)", original);
    size_t j = i;
    while (j < text.size() && !isDigit(text[j]) && text[j] != '.') ++j;
    std::string_view unit = text.substr(i, j - i);
    if (unit.empty()) {
      if (j < text.size() && text[j] == '.') {
        return invalidArgument("invalid duration '{}' (more than one '.')", original);
      }
      return invalidArgument("duration '{}' is missing a unit (ns, us, ms, s, m, h)", original);
    }
    auto per = unitNanos(unit);
    if (!per) {
      return invalidArgument("duration '{}' has unknown unit '{}' (ns, us, ms, s, m, h)", original,
                             unit);
    }
    u128 part = whole * *per;
    if (whole != 0 && part / whole != *per) {
      return invalidArgument("duration '{}' is out of range", original);
    }
    part += frac * *per / frac_scale;
    total += part;
    if (total > kMax) return invalidArgument("duration '{}' is out of range", original);
    text.remove_prefix(j);
  }
  return Duration{std::chrono::nanoseconds(static_cast<int64_t>(total))};
}

std::string Duration::toString() const {
  int64_t ns = value.count();
  if (ns == 0) return "0s";
  auto trimmed = [](int64_t whole, int64_t frac, int digits, const char* unit) {
    std::string out = std::to_string(whole);
    if (frac != 0) {
      std::string f = fmt::format("{:0{}}", frac, digits);
      while (!f.empty() && f.back() == '0') f.pop_back();
      out += "." + f;
    }
    return out + unit;
  };
  if (ns % 1000000 == 0 && ns < 1000000000) return std::to_string(ns / 1000000) + "ms";
  if (ns < 1000000) {
    if (ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
    return std::to_string(ns) + "ns";
  }
  return trimmed(ns / 1000000000, ns % 1000000000, 9, "s");
}

// ---------------------------------------------------------------------------------------------
// Matching

Result<std::shared_ptr<const re2::RE2>> compileRegex(std::string_view pattern) {
  constexpr size_t kMaxRegexLength = 1024;
  if (pattern.empty()) return invalidArgument("regex string match should not be empty");
  if (pattern.size() > kMaxRegexLength) {
    return invalidArgument("regex is too large, max length allowed is {}", kMaxRegexLength);
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return invalidArgument(
        "{}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)",
        re->error());
  }
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

bool regexFullMatch(const re2::RE2& re, std::string_view text) {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), re);
}

bool StringMatch::matches(std::string_view text, bool ignore_case) const {
  switch (kind) {
    case Kind::kPresent:
      return true;
    case Kind::kExact:
      return ignore_case ? equalsIgnoreCase(text, value) : text == value;
    case Kind::kPrefix:
      if (text.size() < value.size()) return false;
      return ignore_case ? equalsIgnoreCase(text.substr(0, value.size()), value)
                         : text.substr(0, value.size()) == value;
    case Kind::kRegex:
      return regex != nullptr && regexFullMatch(*regex, text);
  }
  return false;
}

std::string resolveShortName(std::string_view host, std::string_view ns) {
  std::string lower = toLower(host);
  if (lower.empty() || lower == "*") return lower;
  if (lower.find('.') != std::string::npos || lower.find(':') != std::string::npos) return lower;
  return fmt::format("{}.{}.svc.cluster.local", lower, ns.empty() ? "default" : ns);
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

std::string Diagnostic::format() const {
  std::string out = pos.toString();
  out += ": ";
  if (!kind.empty()) out += fmt::format("{}/{}/{}: ", kind, ns, name);
  if (!field_path.empty()) out += field_path + ": ";
  out += message;
  return out;
}

size_t ConfigSet::resourceCount() const {
  return virtual_services.size() + destination_rules.size() + gateways.size() +
         service_entries.size() + envoy_filters.size() + sidecars.size() + workload_entries.size();
}

size_t ConfigSet::errorCount() const {
  return static_cast<size_t>(std::count_if(diagnostics.begin(), diagnostics.end(),
                                           [](auto& d) { return d.severity == Severity::kError; }));
}

size_t ConfigSet::warningCount() const { return diagnostics.size() - errorCount(); }

}  // namespace sluice::config
