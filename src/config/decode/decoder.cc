#include "config/decode/decoder.h"

#include <cmath>
#include <limits>

#include "config/names.h"
#include "config/unenforced.h"
#include "core/strings.h"

namespace sluice::config::decode {

namespace {

std::string stripIndices(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  bool in_index = false;
  for (char c : path) {
    if (c == '[') {
      in_index = true;
    } else if (c == ']') {
      in_index = false;
    } else if (!in_index) {
      out += c;
    }
  }
  return out;
}

bool isPlain(const YAML::Node& n) { return n.Tag() == "?"; }

bool looksNumeric(std::string_view s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  bool digit = false;
  bool dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digit) {
      return i + 1 < s.size();
    } else {
      return false;
    }
  }
  return digit;
}

bool isBoolWord(std::string_view s) {
  return s == "true" || s == "false" || s == "True" || s == "False" || s == "TRUE" || s == "FALSE";
}

}  // namespace

YAML::Node get(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node();
}

std::string Decoder::nodeTypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "an object";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return fmt::format("\"{}\"", n.Scalar().substr(0, 40));
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

// --- diagnostics -----------------------------------------------------------------------------

Position Decoder::pos(const YAML::Node& n) const {
  Position p{file_, 0, 0};
  if (n.IsDefined()) {
    auto m = n.Mark();
    if (!m.is_null()) {
      p.line = m.line + 1 + line_offset_;
      p.column = m.column + 1;
    }
  }
  return p;
}

void Decoder::report(Severity severity, const YAML::Node& at, std::string path, std::string message,
                     std::string code) {
  if (++reported_ > kMaxDiagnosticsPerDocument) {
    if (reported_ == kMaxDiagnosticsPerDocument + 1) {
      reporter_.error(meta_.pos, "",
                      fmt::format("too many problems (more than {}); stopped checking this "
                                  "document",
                                  kMaxDiagnosticsPerDocument));
    }
    budget_ = 0;  // stop walking
    return;
  }
  reporter_.report(severity, pos(at), std::move(path), std::move(message), std::move(code));
}

bool Decoder::spend() {
  if (budget_ == 0) return false;
  if (--budget_ == 0) {
    reporter_.error(meta_.pos, "",
                    fmt::format("document too large or complex (more than {} nodes)", kNodeBudget));
    return false;
  }
  return true;
}

void Decoder::checkUnenforced(const YAML::Node& key_node, const YAML::Node& value,
                              const std::string& path) {
  if (value.IsNull()) return;
  const std::string generic = meta_.kind + "." + stripIndices(path);
  const UnenforcedField* entry = findUnenforced(generic);
  std::string shown = path;
  if (entry == nullptr && value.IsScalar()) {
    entry = findUnenforced(generic + "=" + value.Scalar());
    shown = path + "=" + value.Scalar();
  }
  if (entry == nullptr) return;
  report(Severity::kWarning, key_node, path,
         fmt::format("parsed but not enforced: {} ({})", shown, entry->reason));
}

// --- scalars ---------------------------------------------------------------------------------

std::optional<std::string> Decoder::str(const At& v) {
  const YAML::Node& n = v.node;
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) {
    error(v, fmt::format("expected a string, got {}", nodeTypeName(n)));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  if (isPlain(n) && (looksNumeric(s) || isBoolWord(s))) {
    error(v, fmt::format("expected a string, got {} {} (quote it: \"{}\")",
                         isBoolWord(s) ? "boolean" : "number", s, s));
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> Decoder::integer(const At& v, int64_t min, int64_t max) {
  const YAML::Node& n = v.node;
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) {
    error(v, fmt::format("expected an integer, got {}", nodeTypeName(n)));
    return std::nullopt;
  }
  std::string_view s = n.Scalar();
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  auto magnitude = parseUint(s, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  if (!magnitude) {
    error(v, fmt::format("expected an integer, got {}", nodeTypeName(n)));
    return std::nullopt;
  }
  int64_t x = negative ? -static_cast<int64_t>(*magnitude) : static_cast<int64_t>(*magnitude);
  if (x < min || x > max) {
    error(v, fmt::format("value {} is out of range [{}, {}]", x, min, max));
    return std::nullopt;
  }
  return x;
}

std::optional<uint32_t> Decoder::u32(const At& v) {
  auto x = integer(v, 0, std::numeric_limits<uint32_t>::max());
  if (!x) return std::nullopt;
  return static_cast<uint32_t>(*x);
}

std::optional<int32_t> Decoder::i32(const At& v) {
  auto x = integer(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  if (!x) return std::nullopt;
  return static_cast<int32_t>(*x);
}

std::optional<int32_t> Decoder::nonNegative(const At& v, std::string_view what) {
  auto x = i32(v);
  if (x && *x < 0) {
    error(v, fmt::format("{} must be non-negative", what));
    return std::nullopt;
  }
  return x;
}

std::optional<uint32_t> Decoder::port(const At& v) {
  if (!v.node.IsDefined() || v.node.IsNull()) return std::nullopt;
  auto x = integer(v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (!x) return std::nullopt;
  if (*x < 1 || *x > 65535) {
    error(v, fmt::format("port number {} must be in the range 1..65535", *x));
    return std::nullopt;
  }
  return static_cast<uint32_t>(*x);
}

std::optional<bool> Decoder::boolean(const At& v) {
  const YAML::Node& n = v.node;
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(v, fmt::format("expected true or false, got {}", nodeTypeName(n)));
  return std::nullopt;
}

std::optional<double> Decoder::number(const At& v) {
  const YAML::Node& n = v.node;
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (n.IsScalar() && looksNumeric(n.Scalar())) {
    try {
      double x = std::stod(n.Scalar());
      if (std::isfinite(x)) return x;
    } catch (const std::exception&) {
    }
  }
  error(v, fmt::format("expected a number, got {}", nodeTypeName(n)));
  return std::nullopt;
}

std::optional<Duration> Decoder::duration(const At& v) {
  const YAML::Node& n = v.node;
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) {
    error(v, fmt::format("expected a duration such as \"1.5s\", got {}", nodeTypeName(n)));
    return std::nullopt;
  }
  auto d = Duration::parse(n.Scalar());
  if (!d) {
    error(v, d.error().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<Duration> Decoder::positiveDuration(const At& v) {
  auto d = duration(v);
  if (!d) return d;
  if (d->value < std::chrono::milliseconds(1)) {
    error(v, "duration must be greater than 1ms");
    return std::nullopt;
  }
  if (d->value % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0)) {
    error(v, "only durations to ms precision are supported");
    return std::nullopt;
  }
  return d;
}

namespace {
constexpr Field<std::optional<Percent>> kPercentFields[] = {
    {"value",
     [](Decoder& d, const At& v, std::optional<Percent>& out) {
       auto x = d.number(v);
       if (!x) return;
       if (*x < 0 || *x > 100) {
         d.error(v, fmt::format("percentage {} is not in range 0..100", *x));
         return;
       }
       out = *x;
     }},
};
constexpr Field<std::optional<uint32_t>> kPortSelectorFields[] = {
    {"number", [](Decoder& d, const At& v, std::optional<uint32_t>& out) { out = d.port(v); }},
};
}  // namespace

std::optional<uint32_t> Decoder::portSelector(const At& v) {
  std::optional<uint32_t> out;
  object(v, kPortSelectorFields, out);
  return out;
}

std::optional<Percent> Decoder::percent(const At& v) {
  std::optional<Percent> result;
  object(v, kPercentFields, result);
  if (v.node.IsMap() && !result && v.node.size() == 0) result = 0.0;
  return result;
}

StringMap Decoder::stringMap(const At& v) {
  StringMap m;
  const YAML::Node& n = v.node;
  if (!n.IsDefined() || n.IsNull()) return m;
  if (!spend()) return m;
  if (!n.IsMap()) {
    error(v, fmt::format("expected an object of strings, got {}", nodeTypeName(n)));
    return m;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!spend()) return m;
    if (!it->first.IsScalar()) {
      error(it->first, v.path, "keys must be strings");
      continue;
    }
    const std::string key = it->first.Scalar();
    auto s = str(At{it->second, child(v.path, key)});
    if (s) m[key] = *s;
  }
  return m;
}

std::vector<std::string> Decoder::stringList(const At& v) {
  std::vector<std::string> out;
  list(v, [&](const At& item) {
    if (item.node.IsNull()) {
      error(item, "expected a string, got null");
      return;
    }
    if (auto s = str(item)) out.push_back(*s);
  });
  return out;
}

nlohmann::json Decoder::json(const YAML::Node& n) {
  if (!spend()) return nullptr;
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        obj[it->first.Scalar()] = json(it->second);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (auto it = n.begin(); it != n.end(); ++it) arr.push_back(json(*it));
      return arr;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (isPlain(n)) {
        if (s == "true" || s == "True" || s == "TRUE") return true;
        if (s == "false" || s == "False" || s == "FALSE") return false;
        if (s == "null" || s == "~") return nullptr;
        if (looksNumeric(s)) {
          if (s.find_first_of(".eE") == std::string::npos) {
            std::string_view digits = s;
            bool neg = !digits.empty() && digits[0] == '-';
            if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
              digits.remove_prefix(1);
            }
            if (auto u = parseUint(digits, static_cast<uint64_t>(INT64_MAX))) {
              return neg ? -static_cast<int64_t>(*u) : static_cast<int64_t>(*u);
            }
          }
          try {
            return std::stod(s);
          } catch (const std::exception&) {
          }
        }
      }
      return s;
    }
    default:
      return nullptr;
  }
}

}  // namespace sluice::config::decode
