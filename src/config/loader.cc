#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>

#include "config/diagnostic_reporter.h"
#include "config/envoy_filter.h"
#include "config/names.h"
#include "config/prescan.h"
#include "config/unenforced.h"
#include "config/validate.h"
#include "core/strings.h"

namespace sluice::config {

namespace {

namespace fs = std::filesystem;

// Upper bound on YAML nodes visited per document; stops alias bombs and absurd documents.
constexpr size_t kNodeBudget = 500'000;
// Upper bound on diagnostics per document, so a repeated mistake cannot exhaust memory.
constexpr size_t kMaxDiagnosticsPerDocument = 500;

using Keys = std::initializer_list<std::string_view>;

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

std::string nodeTypeName(const YAML::Node& n) {
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

bool isPlain(const YAML::Node& n) { return n.Tag() == "?"; }

// map[key] without yaml-cpp's invalid-node exceptions: a missing key gives a Null node.
YAML::Node get(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node();
}

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

// Decodes one document into typed resources, reporting every problem with a position.
class Decoder {
 public:
  Decoder(ConfigSet& out, std::string file) : out_(out), file_(std::move(file)) {}

  void decodeDocument(const YAML::Node& doc, int list_depth = 0);

 private:
  // --- diagnostics -----------------------------------------------------------------------
  Position pos(const YAML::Node& n) const {
    Position p{file_, 0, 0};
    if (n.IsDefined()) {
      auto m = n.Mark();
      if (!m.is_null()) {
        p.line = m.line + 1;
        p.column = m.column + 1;
      }
    }
    return p;
  }

  void report(Severity severity, const YAML::Node& at, std::string path, std::string message,
              std::string code = "") {
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
  void error(const YAML::Node& at, std::string path, std::string message) {
    report(Severity::kError, at, std::move(path), std::move(message));
  }
  void warn(const YAML::Node& at, std::string path, std::string message) {
    report(Severity::kWarning, at, std::move(path), std::move(message));
  }

  bool spend() {
    if (budget_ == 0) return false;
    if (--budget_ == 0) {
      reporter_.error(
          meta_.pos, "",
          fmt::format("document too large or complex (more than {} nodes)", kNodeBudget));
      return false;
    }
    return true;
  }

  // --- structure -------------------------------------------------------------------------
  static std::string child(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  // Walks the fields of an object. Unknown keys are errors. Returns false when the node is
  // absent (null) or not an object.
  bool fields(const YAML::Node& n, const std::string& path, Keys known,
              const std::function<void(std::string_view key, const YAML::Node& value,
                                       const std::string& path)>& fn) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!spend()) return false;
    if (!n.IsMap()) {
      error(n, path, fmt::format("expected an object, got {}", nodeTypeName(n)));
      return false;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!spend()) return false;
      const YAML::Node key_node = it->first;
      if (!key_node.IsScalar()) {
        error(key_node, path, "field names must be strings");
        continue;
      }
      const std::string key = key_node.Scalar();
      const std::string child_path = child(path, key);
      if (!seen.insert(key).second) {
        error(key_node, child_path, "duplicate field");
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(key_node, child_path, fmt::format("unknown field \"{}\"", key));
        continue;
      }
      const YAML::Node value = it->second;
      checkUnenforced(key_node, value, child_path);
      fn(key, value, child_path);
    }
    return true;
  }

  void checkUnenforced(const YAML::Node& key_node, const YAML::Node& value,
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

  void list(const YAML::Node& n, const std::string& path,
            const std::function<void(const YAML::Node& item, const std::string& path)>& fn) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!spend()) return;
    if (!n.IsSequence()) {
      error(n, path, fmt::format("expected a list, got {}", nodeTypeName(n)));
      return;
    }
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      if (!spend()) return;
      fn(*it, fmt::format("{}[{}]", path, i));
    }
  }

  // --- scalars ---------------------------------------------------------------------------
  std::optional<std::string> str(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      error(n, path, fmt::format("expected a string, got {}", nodeTypeName(n)));
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    if (isPlain(n) && (looksNumeric(s) || isBoolWord(s))) {
      error(n, path,
            fmt::format("expected a string, got {} {} (quote it: \"{}\")",
                        isBoolWord(s) ? "boolean" : "number", s, s));
      return std::nullopt;
    }
    return s;
  }

  std::string strOr(const YAML::Node& n, const std::string& path) {
    return str(n, path).value_or("");
  }

  std::optional<int64_t> integer(const YAML::Node& n, const std::string& path, int64_t min,
                                 int64_t max) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      error(n, path, fmt::format("expected an integer, got {}", nodeTypeName(n)));
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
      error(n, path, fmt::format("expected an integer, got {}", nodeTypeName(n)));
      return std::nullopt;
    }
    int64_t v = negative ? -static_cast<int64_t>(*magnitude) : static_cast<int64_t>(*magnitude);
    if (v < min || v > max) {
      error(n, path, fmt::format("value {} is out of range [{}, {}]", v, min, max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<uint32_t> u32(const YAML::Node& n, const std::string& path) {
    auto v = integer(n, path, 0, std::numeric_limits<uint32_t>::max());
    if (!v) return std::nullopt;
    return static_cast<uint32_t>(*v);
  }

  std::optional<int32_t> i32(const YAML::Node& n, const std::string& path) {
    auto v =
        integer(n, path, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    if (!v) return std::nullopt;
    return static_cast<int32_t>(*v);
  }

  std::optional<uint32_t> port(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    auto v =
        integer(n, path, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    if (!v) return std::nullopt;
    if (*v < 1 || *v > 65535) {
      error(n, path, fmt::format("port number {} must be in the range 1..65535", *v));
      return std::nullopt;
    }
    return static_cast<uint32_t>(*v);
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    error(n, path, fmt::format("expected true or false, got {}", nodeTypeName(n)));
    return std::nullopt;
  }

  std::optional<double> number(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (n.IsScalar() && looksNumeric(n.Scalar())) {
      try {
        double v = std::stod(n.Scalar());
        if (std::isfinite(v)) return v;
      } catch (const std::exception&) {
      }
    }
    error(n, path, fmt::format("expected a number, got {}", nodeTypeName(n)));
    return std::nullopt;
  }

  std::optional<Duration> duration(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      error(n, path, fmt::format("expected a duration such as \"1.5s\", got {}", nodeTypeName(n)));
      return std::nullopt;
    }
    auto d = Duration::parse(n.Scalar());
    if (!d) {
      error(n, path, d.error().message);
      return std::nullopt;
    }
    return *d;
  }

  // {value: <0..100>}
  std::optional<Percent> percent(const YAML::Node& n, const std::string& path) {
    std::optional<Percent> result;
    fields(n, path, {"value"}, [&](std::string_view, const YAML::Node& v, const std::string& p) {
      auto x = number(v, p);
      if (!x) return;
      if (*x < 0 || *x > 100) {
        error(v, p, fmt::format("percentage {} is not in range 0..100", *x));
        return;
      }
      result = *x;
    });
    if (n.IsMap() && !result && n.size() == 0) result = 0.0;
    return result;
  }

  StringMap stringMap(const YAML::Node& n, const std::string& path) {
    StringMap m;
    if (!n.IsDefined() || n.IsNull()) return m;
    if (!spend()) return m;
    if (!n.IsMap()) {
      error(n, path, fmt::format("expected an object of strings, got {}", nodeTypeName(n)));
      return m;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!spend()) return m;
      if (!it->first.IsScalar()) {
        error(it->first, path, "keys must be strings");
        continue;
      }
      const std::string key = it->first.Scalar();
      auto v = str(it->second, child(path, key));
      if (v) m[key] = *v;
    }
    return m;
  }

  std::vector<std::string> stringList(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    list(n, path, [&](const YAML::Node& item, const std::string& p) {
      if (item.IsNull()) {
        error(item, p, "expected a string, got null");
        return;
      }
      if (auto s = str(item, p)) out.push_back(*s);
    });
    return out;
  }

  // --- Istio shapes ----------------------------------------------------------------------
  // where: headers/queryParams allow presence-only `{}`.
  std::optional<StringMatch> stringMatch(const YAML::Node& n, const std::string& path,
                                         bool allow_presence, bool allow_empty_prefix) {
    if (!n.IsDefined() || n.IsNull()) {
      if (allow_presence && n.IsDefined()) return StringMatch{StringMatch::Kind::kPresent, "", {}};
      return std::nullopt;
    }
    StringMatch m;
    int set = 0;
    bool bad = false;
    bool present = fields(
        n, path, {"exact", "prefix", "regex"},
        [&](std::string_view key, const YAML::Node& v, const std::string& p) {
          auto s = str(v, p);
          if (!s) {
            if (!v.IsNull()) bad = true;
            return;
          }
          ++set;
          m.value = *s;
          if (key == "exact") {
            m.kind = StringMatch::Kind::kExact;
          } else if (key == "prefix") {
            m.kind = StringMatch::Kind::kPrefix;
            if (s->empty() && !allow_empty_prefix) {
              error(v, p, "prefix string match should not be empty");
              bad = true;
            }
          } else {
            m.kind = StringMatch::Kind::kRegex;
            if (allow_presence && *s == "*") {
              m.kind = StringMatch::Kind::kPresent;  // Istio turns regex "*" into a presence check
              return;
            }
            auto re = compileRegex(*s);
            if (!re) {
              error(v, p, re.error().message);
              bad = true;
              return;
            }
            m.regex = *re;
          }
        });
    if (!present || bad) return std::nullopt;
    if (set > 1) {
      error(n, path, "only one of exact, prefix or regex may be set");
      return std::nullopt;
    }
    if (set == 0) {
      if (allow_presence) return StringMatch{StringMatch::Kind::kPresent, "", {}};
      error(n, path, "string match must set one of exact, prefix or regex");
      return std::nullopt;
    }
    return m;
  }

  std::map<std::string, StringMatch> matchMap(const YAML::Node& n, const std::string& path,
                                              bool header_names) {
    std::map<std::string, StringMatch> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsMap()) {
      error(n, path, fmt::format("expected an object, got {}", nodeTypeName(n)));
      return out;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!spend()) return out;
      if (!it->first.IsScalar()) {
        error(it->first, path, "keys must be strings");
        continue;
      }
      const std::string key = it->first.Scalar();
      const std::string p = child(path, key);
      if (key.empty()) {
        error(it->first, p, "header name cannot be empty");
        continue;
      }
      if (header_names) {
        std::string_view name = key;
        const bool pseudo = name.starts_with(":");
        const bool claim = name.starts_with("@request.auth.claims");
        if (!claim && !isHeaderToken(pseudo ? name.substr(1) : name)) {
          error(it->first, p, fmt::format("header name {} is not a valid header name", key));
          continue;
        }
        if (!claim && toLower(key) != key) {
          error(it->first, p, fmt::format("header name \"{}\" must be lower case", key));
          continue;
        }
      }
      auto m = stringMatch(it->second, p, /*allow_presence=*/true, /*allow_empty_prefix=*/false);
      if (m) out[key] = std::move(*m);
    }
    return out;
  }

  Destination destination(const YAML::Node& n, const std::string& path) {
    Destination d;
    d.pos = pos(n);
    fields(n, path, {"host", "subset", "port"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "host") {
               d.host = strOr(v, p);
             } else if (key == "subset") {
               d.subset = strOr(v, p);
               d.subset_pos = pos(v);
             } else {
               fields(v, p, {"number"},
                      [&](std::string_view, const YAML::Node& pv, const std::string& pp) {
                        d.port = port(pv, pp);
                      });
             }
           });
    d.host_fqdn = resolveShortName(d.host, meta_.ns);
    return d;
  }

  std::vector<std::pair<std::string, std::string>> headerPairs(const YAML::Node& n,
                                                               const std::string& path) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsMap()) {
      error(n, path, fmt::format("expected an object, got {}", nodeTypeName(n)));
      return out;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!spend()) return out;
      if (!it->first.IsScalar()) continue;
      const std::string key = it->first.Scalar();
      auto v = str(it->second, child(path, key));
      if (!checkHeaderOpName(it->first, child(path, key), key)) continue;
      out.emplace_back(key, v.value_or(""));
    }
    return out;
  }

  bool checkHeaderOpName(const YAML::Node& at, const std::string& path, std::string_view name) {
    if (name.starts_with(":")) {
      error(at, path, fmt::format("invalid header \"{}\": header cannot have \":\" prefix", name));
      return false;
    }
    if (!isHeaderToken(name)) {
      error(at, path, fmt::format("header name {} is not a valid header name", name));
      return false;
    }
    return true;
  }

  HeaderOperations headerOps(const YAML::Node& n, const std::string& path, bool response) {
    HeaderOperations ops;
    fields(n, path, {"set", "add", "remove"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "remove") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 auto s = str(item, ip);
                 if (!s) return;
                 if (!checkHeaderOpName(item, ip, *s)) return;
                 if (equalsIgnoreCase(*s, "host")) {
                   error(item, ip,
                         fmt::format("invalid header \"{}\": cannot set Host header", *s));
                   return;
                 }
                 ops.remove.push_back(*s);
               });
               return;
             }
             auto pairs = headerPairs(v, p);
             for (auto& [name, value] : pairs) {
               if (response && equalsIgnoreCase(name, "host")) {
                 error(v, child(p, name),
                       fmt::format("invalid header \"{}\": cannot set Host header", name));
                 continue;
               }
               (key == "set" ? ops.set : ops.add).emplace_back(name, value);
             }
           });
    return ops;
  }

  Headers headers(const YAML::Node& n, const std::string& path) {
    Headers h;
    fields(n, path, {"request", "response"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (v.IsNull()) return;
             if (key == "request") {
               h.request = headerOps(v, p, false);
             } else {
               h.response = headerOps(v, p, true);
             }
           });
    return h;
  }

  // --- VirtualService ---------------------------------------------------------------------
  HTTPMatchRequest httpMatch(const YAML::Node& n, const std::string& path) {
    HTTPMatchRequest m;
    m.pos = pos(n);
    if (n.IsMap() && n.size() == 0) return m;
    fields(
        n, path,
        {"name", "uri", "scheme", "method", "authority", "headers", "withoutHeaders", "queryParams",
         "ignoreUriCase", "port", "sourceLabels", "gateways", "sourceNamespace", "statPrefix"},
        [&](std::string_view key, const YAML::Node& v, const std::string& p) {
          if (key == "name") {
            m.name = strOr(v, p);
          } else if (key == "uri") {
            m.uri = stringMatch(v, p, false, true);
          } else if (key == "scheme") {
            m.scheme = stringMatch(v, p, false, false);
          } else if (key == "method") {
            m.method = stringMatch(v, p, false, false);
          } else if (key == "authority") {
            m.authority = stringMatch(v, p, false, false);
          } else if (key == "headers") {
            m.headers = matchMap(v, p, true);
          } else if (key == "withoutHeaders") {
            m.without_headers = matchMap(v, p, true);
          } else if (key == "queryParams") {
            m.query_params = matchMap(v, p, false);
          } else if (key == "ignoreUriCase") {
            m.ignore_uri_case = boolean(v, p).value_or(false);
          } else if (key == "port") {
            m.port = port(v, p);
          } else if (key == "sourceLabels") {
            m.source_labels = stringMap(v, p);
          } else if (key == "gateways") {
            m.gateways = stringList(v, p);
          } else if (key == "sourceNamespace") {
            m.source_namespace = strOr(v, p);
            if (!m.source_namespace.empty() && !isDns1123Label(m.source_namespace)) {
              error(v, p, fmt::format("sourceNamespace match {} is invalid", m.source_namespace));
            }
          } else if (key == "statPrefix") {
            m.stat_prefix = strOr(v, p);
          }
        });
    return m;
  }

  int32_t weight(const YAML::Node& v, const std::string& p) {
    auto w =
        integer(v, p, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    if (!w) return 0;
    if (*w < 0) {
      error(v, p, fmt::format("weight {} < 0", *w));
      return 0;
    }
    return static_cast<int32_t>(*w);
  }

  HTTPRoute httpRoute(const YAML::Node& n, const std::string& path) {
    HTTPRoute r;
    r.pos = pos(n);
    fields(n, path,
           {"name", "match", "route", "redirect", "directResponse", "delegate", "rewrite",
            "timeout", "retries", "fault", "mirror", "mirrorPercentage", "mirrorPercent", "mirrors",
            "corsPolicy", "headers"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "name") {
               r.name = strOr(v, p);
             } else if (key == "match") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 r.match.push_back(httpMatch(item, ip));
               });
             } else if (key == "route") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 HTTPRouteDestination d;
                 d.pos = pos(item);
                 bool has_destination = false;
                 fields(item, ip, {"destination", "weight", "headers"},
                        [&](std::string_view k, const YAML::Node& dv, const std::string& dp) {
                          if (k == "destination") {
                            has_destination = !dv.IsNull();
                            d.destination = destination(dv, dp);
                          } else if (k == "weight") {
                            d.weight = weight(dv, dp);
                          } else {
                            d.headers = headers(dv, dp);
                          }
                        });
                 if (!has_destination) error(item, ip, "destination is required");
                 r.route.push_back(std::move(d));
               });
             } else if (key == "redirect") {
               if (!v.IsNull()) r.redirect = redirect(v, p);
             } else if (key == "directResponse") {
               if (!v.IsNull()) r.direct_response = directResponse(v, p);
             } else if (key == "delegate") {
               if (v.IsNull()) return;
               Delegate d;
               d.ns = meta_.ns;
               fields(v, p, {"name", "namespace"},
                      [&](std::string_view k, const YAML::Node& dv, const std::string& dp) {
                        if (k == "name") {
                          d.name = strOr(dv, dp);
                        } else {
                          d.ns = str(dv, dp).value_or(meta_.ns);
                        }
                      });
               r.delegate = d;
             } else if (key == "rewrite") {
               if (!v.IsNull()) r.rewrite = rewrite(v, p);
             } else if (key == "timeout") {
               r.timeout = duration(v, p);
             } else if (key == "retries") {
               if (!v.IsNull()) r.retries = retries(v, p);
             } else if (key == "fault") {
               if (!v.IsNull()) r.fault = fault(v, p);
             } else if (key == "mirror") {
               if (!v.IsNull()) r.mirror = destination(v, p);
             } else if (key == "mirrorPercentage") {
               r.mirror_percentage = percent(v, p);
             } else if (key == "mirrorPercent") {
               warn(v, p,
                    "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead");
               auto x = integer(v, p, 0, 100);
               if (x) r.mirror_percentage = static_cast<double>(*x);
             } else if (key == "mirrors") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 HTTPMirrorPolicy m;
                 bool has_destination = false;
                 fields(item, ip, {"destination", "percentage"},
                        [&](std::string_view k, const YAML::Node& mv, const std::string& mp) {
                          if (k == "destination") {
                            has_destination = !mv.IsNull();
                            m.destination = destination(mv, mp);
                          } else {
                            m.percentage = percent(mv, mp);
                          }
                        });
                 if (!has_destination) error(item, ip, "destination is required for mirrors");
                 r.mirrors.push_back(std::move(m));
               });
             } else if (key == "corsPolicy") {
               if (!v.IsNull()) r.cors_policy = cors(v, p);
             } else if (key == "headers") {
               if (!v.IsNull()) r.headers = headers(v, p);
             }
           });
    return r;
  }

  HTTPRedirect redirect(const YAML::Node& n, const std::string& path) {
    HTTPRedirect r;
    r.pos = pos(n);
    fields(n, path,
           {"uri", "authority", "port", "derivePort", "scheme", "redirectCode", "prefixRewrite"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "uri") {
               r.uri = str(v, p);
             } else if (key == "authority") {
               r.authority = str(v, p);
             } else if (key == "port") {
               r.port = port(v, p);
             } else if (key == "derivePort") {
               std::string s = strOr(v, p);
               if (s == "FROM_PROTOCOL_DEFAULT") {
                 r.derive_port = HTTPRedirect::DerivePort::kFromProtocolDefault;
               } else if (s == "FROM_REQUEST_PORT") {
                 r.derive_port = HTTPRedirect::DerivePort::kFromRequestPort;
               } else if (!s.empty()) {
                 error(v, p,
                       fmt::format("invalid derivePort \"{}\" (FROM_PROTOCOL_DEFAULT or "
                                   "FROM_REQUEST_PORT)",
                                   s));
               }
             } else if (key == "scheme") {
               r.scheme = str(v, p);
               if (r.scheme && *r.scheme != "http" && *r.scheme != "https") {
                 error(v, p, "invalid redirect scheme, must be \"http\" or \"https\"");
               }
             } else if (key == "redirectCode") {
               auto code = u32(v, p);
               if (!code) return;
               if (*code < 300 || *code > 399) {
                 error(v, p, fmt::format("{} is not a valid redirect code, must be 3xx", *code));
                 return;
               }
               r.redirect_code = *code;
             } else if (key == "prefixRewrite") {
               r.prefix_rewrite = str(v, p);
             }
           });
    return r;
  }

  HTTPDirectResponse directResponse(const YAML::Node& n, const std::string& path) {
    HTTPDirectResponse d;
    d.pos = pos(n);
    bool has_status = false;
    fields(n, path, {"status", "body"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "status") {
               auto s = u32(v, p);
               if (!s) return;
               has_status = true;
               if (*s < 200 || *s > 599) {
                 error(v, p, fmt::format("HTTP status {} is not in range 200-599", *s));
               }
               d.status = *s;
             } else {
               fields(v, p, {"string", "bytes"},
                      [&](std::string_view k, const YAML::Node& bv, const std::string& bp) {
                        if (d.body) {
                          error(bv, bp, "only one of body.string or body.bytes may be set");
                          return;
                        }
                        auto s = str(bv, bp);
                        if (!s) return;
                        if (k == "string") {
                          d.body = *s;
                        } else {
                          auto decoded = base64Decode(*s);
                          if (!decoded) {
                            error(bv, bp, "body.bytes is not valid base64");
                            return;
                          }
                          d.body = *decoded;
                        }
                      });
             }
           });
    if (!has_status && n.IsMap()) error(n, path + ".status", "status is required");
    return d;
  }

  static std::optional<std::string> base64Decode(std::string_view in) {
    auto value = [](char c) -> int {
      if (c >= 'A' && c <= 'Z') return c - 'A';
      if (c >= 'a' && c <= 'z') return c - 'a' + 26;
      if (c >= '0' && c <= '9') return c - '0' + 52;
      if (c == '+' || c == '-') return 62;
      if (c == '/' || c == '_') return 63;
      return -1;
    };
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
      if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
      int v = value(c);
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((acc >> bits) & 0xFF);
      }
    }
    return out;
  }

  HTTPRewrite rewrite(const YAML::Node& n, const std::string& path) {
    HTTPRewrite r;
    r.pos = pos(n);
    fields(n, path, {"uri", "authority", "uriRegexRewrite"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "uri") {
               r.uri = str(v, p);
             } else if (key == "authority") {
               r.authority = str(v, p);
             } else {
               if (v.IsNull()) return;
               RegexRewrite rr;
               bool ok = true;
               fields(v, p, {"match", "rewrite"},
                      [&](std::string_view k, const YAML::Node& rv, const std::string& rp) {
                        if (k == "match") {
                          rr.match = strOr(rv, rp);
                          auto re = compileRegex(rr.match);
                          if (!re) {
                            error(rv, rp, re.error().message);
                            ok = false;
                          } else {
                            rr.regex = *re;
                          }
                        } else {
                          rr.rewrite = strOr(rv, rp);
                        }
                      });
               if (ok && (rr.match.empty() || get(v, "rewrite").IsNull())) {
                 error(v, p,
                       "UriRegexRewrite requires both Rewrite and Match fields to be specified");
               }
               r.uri_regex_rewrite = std::move(rr);
             }
           });
    return r;
  }

  HTTPRetry retries(const YAML::Node& n, const std::string& path) {
    HTTPRetry r;
    r.pos = pos(n);
    fields(n, path,
           {"attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities",
            "retryIgnorePreviousHosts", "backoff"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "attempts") {
               auto a = i32(v, p);
               if (a && *a < 0) {
                 error(v, p, "attempts cannot be negative");
                 return;
               }
               r.attempts = a.value_or(0);
             } else if (key == "perTryTimeout") {
               r.per_try_timeout = duration(v, p);
             } else if (key == "retryOn") {
               r.retry_on = str(v, p);
             } else if (key == "retryRemoteLocalities") {
               r.retry_remote_localities = boolean(v, p);
             } else if (key == "retryIgnorePreviousHosts") {
               boolean(v, p);
             } else if (key == "backoff") {
               r.backoff = duration(v, p);
             }
           });
    return r;
  }

  HTTPFaultInjection fault(const YAML::Node& n, const std::string& path) {
    HTTPFaultInjection f;
    f.pos = pos(n);
    fields(n, path, {"delay", "abort"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (v.IsNull()) return;
             if (key == "delay") {
               FaultDelay d;
               fields(v, p, {"fixedDelay", "exponentialDelay", "percentage", "percent"},
                      [&](std::string_view k, const YAML::Node& dv, const std::string& dp) {
                        if (k == "fixedDelay") {
                          d.fixed_delay = duration(dv, dp);
                        } else if (k == "exponentialDelay") {
                          error(dv, dp, "exponentialDelay not supported yet");
                        } else if (k == "percentage") {
                          d.percentage = percent(dv, dp);
                        } else {
                          auto x = integer(dv, dp, 0, 100);
                          if (x) d.percentage = static_cast<double>(*x);
                        }
                      });
               f.delay = d;
             } else {
               FaultAbort a;
               fields(v, p, {"httpStatus", "grpcStatus", "http2Error", "percentage"},
                      [&](std::string_view k, const YAML::Node& av, const std::string& ap) {
                        if (k == "httpStatus") {
                          auto s = u32(av, ap);
                          if (s && (*s < 200 || *s > 599)) {
                            error(av, ap,
                                  fmt::format("httpStatus {} must be in range 200..599", *s));
                            return;
                          }
                          a.http_status = s;
                        } else if (k == "grpcStatus") {
                          a.grpc_status = str(av, ap);
                        } else if (k == "http2Error") {
                          error(av, ap, "HTTP/2 abort fault injection not supported yet");
                        } else {
                          a.percentage = percent(av, ap);
                        }
                      });
               f.abort = a;
             }
           });
    return f;
  }

  CorsPolicy cors(const YAML::Node& n, const std::string& path) {
    CorsPolicy c;
    c.pos = pos(n);
    fields(n, path,
           {"allowOrigins", "allowOrigin", "allowMethods", "allowHeaders", "exposeHeaders",
            "maxAge", "allowCredentials", "unmatchedPreflights"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "allowOrigins") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 auto m = stringMatch(item, ip, false, false);
                 if (m) c.allow_origins.push_back(std::move(*m));
               });
             } else if (key == "allowOrigin") {
               for (auto& s : stringList(v, p)) {
                 c.allow_origins.push_back(StringMatch{StringMatch::Kind::kExact, s, {}});
               }
             } else if (key == "allowMethods") {
               c.allow_methods = stringList(v, p);
               static const std::set<std::string> kMethods = {
                   "GET",    "HEAD",    "POST",    "PUT",   "PATCH",
                   "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"};
               for (auto& m : c.allow_methods) {
                 if (!kMethods.count(m)) {
                   error(v, p, fmt::format("\"{}\" is not a supported HTTP method", m));
                 }
               }
             } else if (key == "allowHeaders") {
               c.allow_headers = stringList(v, p);
             } else if (key == "exposeHeaders") {
               c.expose_headers = stringList(v, p);
             } else if (key == "maxAge") {
               c.max_age = duration(v, p);
               if (c.max_age &&
                   c.max_age->value % std::chrono::seconds(1) != std::chrono::seconds(0)) {
                 error(v, p, "max_age duration is accurate only to seconds precision");
               }
             } else if (key == "allowCredentials") {
               c.allow_credentials = boolean(v, p);
             } else if (key == "unmatchedPreflights") {
               c.unmatched_preflights = strOr(v, p);
               if (!c.unmatched_preflights.empty() && c.unmatched_preflights != "FORWARD" &&
                   c.unmatched_preflights != "IGNORE" && c.unmatched_preflights != "UNSPECIFIED") {
                 error(v, p,
                       fmt::format("invalid unmatchedPreflights \"{}\"", c.unmatched_preflights));
               }
             }
           });
    return c;
  }

  std::vector<RouteDestination> routeDestinations(const YAML::Node& n, const std::string& path) {
    std::vector<RouteDestination> out;
    list(n, path, [&](const YAML::Node& item, const std::string& ip) {
      RouteDestination d;
      d.pos = pos(item);
      bool has_destination = false;
      fields(item, ip, {"destination", "weight"},
             [&](std::string_view k, const YAML::Node& dv, const std::string& dp) {
               if (k == "destination") {
                 has_destination = !dv.IsNull();
                 d.destination = destination(dv, dp);
               } else {
                 d.weight = weight(dv, dp);
               }
             });
      if (!has_destination) error(item, ip, "destination is required");
      out.push_back(std::move(d));
    });
    return out;
  }

  std::vector<std::string> subnets(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    list(n, path, [&](const YAML::Node& item, const std::string& ip) {
      auto s = str(item, ip);
      if (!s) return;
      if (!net::Cidr::parse(*s)) {
        error(item, ip, fmt::format("{} is not a valid CIDR block", *s));
        return;
      }
      out.push_back(*s);
    });
    return out;
  }

  // TCP and TLS routes share their shape; TLS matches add sniHosts, TCP matches sourceSubnet
  // (accepted, deprecated in Istio, not stored).
  template <typename Route>
  Route l4Route(const YAML::Node& item, const std::string& ip) {
    using Match = typename decltype(Route::match)::value_type;
    constexpr bool kTls = std::is_same_v<Match, TLSMatchAttributes>;
    Route r;
    r.pos = pos(item);
    fields(item, ip, {"match", "route"},
           [&](std::string_view k, const YAML::Node& rv, const std::string& rp) {
             if (k == "route") {
               r.route = routeDestinations(rv, rp);
               return;
             }
             list(rv, rp, [&](const YAML::Node& mi, const std::string& mp) {
               Match m;
               m.pos = pos(mi);
               auto on_field = [&](std::string_view mk, const YAML::Node& mv,
                                   const std::string& mpp) {
                 if (mk == "destinationSubnets") {
                   m.destination_subnets = subnets(mv, mpp);
                 } else if (mk == "port") {
                   m.port = port(mv, mpp);
                 } else if (mk == "sourceLabels") {
                   m.source_labels = stringMap(mv, mpp);
                 } else if (mk == "gateways") {
                   m.gateways = stringList(mv, mpp);
                 } else if (mk == "sourceNamespace") {
                   m.source_namespace = strOr(mv, mpp);
                 } else if constexpr (kTls) {
                   m.sni_hosts = stringList(mv, mpp);  // sniHosts
                 } else {
                   strOr(mv, mpp);  // sourceSubnet
                 }
               };
               // Two calls, not one with a chosen list: an initializer_list must not outlive its
               // array.
               if constexpr (kTls) {
                 fields(mi, mp,
                        {"sniHosts", "destinationSubnets", "port", "sourceLabels", "gateways",
                         "sourceNamespace"},
                        on_field);
               } else {
                 fields(mi, mp,
                        {"destinationSubnets", "port", "sourceLabels", "gateways",
                         "sourceNamespace", "sourceSubnet"},
                        on_field);
               }
               r.match.push_back(std::move(m));
             });
           });
    return r;
  }

  void decodeVirtualService(const YAML::Node& spec) {
    VirtualService vs;
    vs.meta = meta_;
    fields(spec, "spec", {"hosts", "gateways", "http", "tls", "tcp", "exportTo"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "hosts") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 auto s = str(item, ip);
                 if (!s) {
                   if (item.IsNull()) error(item, ip, "empty domain name not allowed");
                   return;
                 }
                 if (auto problem = checkHost(*s)) error(item, ip, *problem);
                 vs.hosts.push_back(*s);
               });
             } else if (key == "gateways") {
               vs.gateways = stringList(v, p);
             } else if (key == "http") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 vs.http.push_back(httpRoute(item, ip));
               });
             } else if (key == "tcp") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 vs.tcp.push_back(l4Route<TCPRoute>(item, ip));
               });
             } else if (key == "tls") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 vs.tls.push_back(l4Route<TLSRoute>(item, ip));
               });
             } else if (key == "exportTo") {
               vs.export_to = stringList(v, p);
             }
           });
    for (auto& h : vs.hosts) vs.hosts_fqdn.push_back(resolveShortName(h, vs.meta.ns));
    out_.virtual_services.push_back(std::move(vs));
  }

  // --- DestinationRule --------------------------------------------------------------------
  LoadBalancerSettings loadBalancer(const YAML::Node& n, const std::string& path) {
    LoadBalancerSettings lb;
    lb.pos = pos(n);
    fields(n, path,
           {"simple", "consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "simple") {
               auto s = str(v, p);
               if (!s) return;
               using S = LoadBalancerSettings::Simple;
               static const std::map<std::string, S> kSimple = {
                   {"UNSPECIFIED", S::kUnspecified}, {"LEAST_CONN", S::kLeastConn},
                   {"RANDOM", S::kRandom},           {"PASSTHROUGH", S::kPassthrough},
                   {"ROUND_ROBIN", S::kRoundRobin},  {"LEAST_REQUEST", S::kLeastRequest}};
               auto it = kSimple.find(*s);
               if (it == kSimple.end()) {
                 error(v, p,
                       fmt::format("invalid load balancer \"{}\" (UNSPECIFIED, LEAST_CONN, "
                                   "RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST)",
                                   *s));
                 return;
               }
               lb.simple = it->second;
             } else if (key == "consistentHash") {
               if (!v.IsNull()) lb.consistent_hash = consistentHash(v, p);
             } else if (key == "localityLbSetting") {
               if (!v.IsNull()) lb.locality_lb_setting = localityLb(v, p);
             } else if (key == "warmupDurationSecs") {
               lb.warmup_duration_secs = duration(v, p);
             } else {
               fields(v, p, {"duration", "minimumPercent", "aggression"},
                      [&](std::string_view k, const YAML::Node& wv, const std::string& wp) {
                        if (k == "duration") {
                          lb.warmup_duration_secs = duration(wv, wp);
                        } else {
                          number(wv, wp);
                        }
                      });
             }
           });
    return lb;
  }

  ConsistentHash consistentHash(const YAML::Node& n, const std::string& path) {
    ConsistentHash h;
    int keys = 0;
    fields(n, path,
           {"httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash",
            "maglev", "minimumRingSize"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "httpHeaderName") {
               h.http_header_name = str(v, p);
               keys += h.http_header_name ? 1 : 0;
             } else if (key == "httpCookie") {
               if (v.IsNull()) return;
               HTTPCookie c;
               fields(v, p, {"name", "path", "ttl", "attributes"},
                      [&](std::string_view k, const YAML::Node& cv, const std::string& cp) {
                        if (k == "name") {
                          c.name = strOr(cv, cp);
                        } else if (k == "path") {
                          c.path = strOr(cv, cp);
                        } else if (k == "ttl") {
                          c.ttl = duration(cv, cp);
                        }
                      });
               if (c.name.empty()) error(v, p + ".name", "name required for HttpCookie");
               h.http_cookie = c;
               ++keys;
             } else if (key == "useSourceIp") {
               h.use_source_ip = boolean(v, p).value_or(false);
               keys += h.use_source_ip ? 1 : 0;
             } else if (key == "httpQueryParameterName") {
               h.http_query_parameter_name = str(v, p);
               keys += h.http_query_parameter_name ? 1 : 0;
             } else if (key == "ringHash") {
               fields(v, p, {"minimumRingSize"},
                      [&](std::string_view, const YAML::Node& rv, const std::string& rp) {
                        auto x = integer(rv, rp, 0, std::numeric_limits<int64_t>::max());
                        if (x) h.ring_hash_minimum_ring_size = static_cast<uint64_t>(*x);
                      });
               if (h.use_maglev) error(v, p, "only one of ringHash or maglev can be specified");
             } else if (key == "maglev") {
               h.use_maglev = true;
               bool has_size = false;
               fields(v, p, {"tableSize"},
                      [&](std::string_view, const YAML::Node& mv, const std::string& mp) {
                        auto x = integer(mv, mp, 0, std::numeric_limits<int64_t>::max());
                        if (!x) return;
                        has_size = true;
                        if (*x >= 5000011) {
                          error(mv, mp, "tableSize must be less than 5000011 for maglev");
                        } else if (!isPrime(static_cast<uint64_t>(*x))) {
                          error(mv, mp, "tableSize must be a prime number for maglev");
                        } else {
                          h.maglev_table_size = static_cast<uint64_t>(*x);
                        }
                      });
               if (!has_size) error(v, p, "tableSize must be set for maglev");
               if (h.ring_hash_minimum_ring_size) {
                 error(v, p, "only one of ringHash or maglev can be specified");
               }
             } else if (key == "minimumRingSize") {
               auto x = integer(v, p, 0, std::numeric_limits<int64_t>::max());
               if (x) h.minimum_ring_size = static_cast<uint64_t>(*x);
             }
           });
    if (h.minimum_ring_size && (h.use_maglev || h.ring_hash_minimum_ring_size)) {
      error(n, path, "only one of MinimumRingSize or Maglev/Ringhash can be specified");
    }
    if (keys == 0 && n.IsMap()) {
      error(n, path,
            "consistentHash must set one of httpHeaderName, httpCookie, useSourceIp "
            "or httpQueryParameterName");
    } else if (keys > 1) {
      error(n, path,
            "consistentHash may set only one of httpHeaderName, httpCookie, "
            "useSourceIp or httpQueryParameterName");
    }
    return h;
  }

  static bool isPrime(uint64_t x) {
    if (x < 2) return false;
    for (uint64_t d = 2; d * d <= x; ++d) {
      if (x % d == 0) return false;
    }
    return true;
  }

  LocalityLbSetting localityLb(const YAML::Node& n, const std::string& path) {
    LocalityLbSetting l;
    fields(n, path, {"distribute", "failover", "failoverPriority", "enabled"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "distribute") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 LocalityLbSetting::Distribute d;
                 fields(item, ip, {"from", "to"},
                        [&](std::string_view k, const YAML::Node& dv, const std::string& dp) {
                          if (k == "from") {
                            d.from = strOr(dv, dp);
                            return;
                          }
                          if (!dv.IsMap()) {
                            if (!dv.IsNull())
                              error(dv, dp, "expected an object of locality weights");
                            return;
                          }
                          for (auto it = dv.begin(); it != dv.end(); ++it) {
                            if (!it->first.IsScalar()) continue;
                            auto w = integer(it->second, child(dp, it->first.Scalar()), 1, 100);
                            if (w) d.to[it->first.Scalar()] = static_cast<uint32_t>(*w);
                          }
                        });
                 l.distribute.push_back(std::move(d));
               });
             } else if (key == "failover") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 LocalityLbSetting::Failover f;
                 fields(item, ip, {"from", "to"},
                        [&](std::string_view k, const YAML::Node& fv, const std::string& fp) {
                          (k == "from" ? f.from : f.to) = strOr(fv, fp);
                        });
                 l.failover.push_back(std::move(f));
               });
             } else if (key == "failoverPriority") {
               l.failover_priority = stringList(v, p);
             } else {
               l.enabled = boolean(v, p);
             }
           });
    if (!l.distribute.empty() && !l.failover.empty()) {
      error(n, path, "can not simultaneously specify 'distribute' and 'failover'");
    }
    return l;
  }

  std::optional<int32_t> nonNegative(const YAML::Node& v, const std::string& p,
                                     std::string_view what) {
    auto x = i32(v, p);
    if (x && *x < 0) {
      error(v, p, fmt::format("{} must be non-negative", what));
      return std::nullopt;
    }
    return x;
  }

  ConnectionPoolSettings connectionPool(const YAML::Node& n, const std::string& path) {
    ConnectionPoolSettings cp;
    cp.pos = pos(n);
    fields(
        n, path, {"tcp", "http"},
        [&](std::string_view key, const YAML::Node& v, const std::string& p) {
          if (v.IsNull()) return;
          if (key == "tcp") {
            ConnectionPoolSettings::Tcp t;
            fields(v, p,
                   {"maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration",
                    "idleTimeout"},
                   [&](std::string_view k, const YAML::Node& tv, const std::string& tp) {
                     if (k == "maxConnections") {
                       t.max_connections = nonNegative(tv, tp, "max connections");
                     } else if (k == "connectTimeout") {
                       t.connect_timeout = positiveDuration(tv, tp);
                     } else if (k == "tcpKeepalive") {
                       TcpKeepalive ka;
                       fields(
                           tv, tp, {"probes", "time", "interval"},
                           [&](std::string_view kk, const YAML::Node& kv, const std::string& kp) {
                             if (kk == "probes") {
                               ka.probes = u32(kv, kp);
                             } else if (kk == "time") {
                               ka.time = positiveDuration(kv, kp);
                             } else {
                               ka.interval = positiveDuration(kv, kp);
                             }
                           });
                       t.tcp_keepalive = ka;
                     } else if (k == "maxConnectionDuration") {
                       t.max_connection_duration = positiveDuration(tv, tp);
                     } else {
                       t.idle_timeout = duration(tv, tp);
                     }
                   });
            cp.tcp = t;
          } else {
            ConnectionPoolSettings::Http h;
            fields(v, p,
                   {"http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection",
                    "maxRetries", "idleTimeout", "h2UpgradePolicy", "useClientProtocol",
                    "maxConcurrentStreams"},
                   [&](std::string_view k, const YAML::Node& hv, const std::string& hp) {
                     if (k == "http1MaxPendingRequests") {
                       h.http1_max_pending_requests =
                           nonNegative(hv, hp, "http1 max pending requests");
                     } else if (k == "http2MaxRequests") {
                       h.http2_max_requests = nonNegative(hv, hp, "http2 max requests");
                     } else if (k == "maxRequestsPerConnection") {
                       h.max_requests_per_connection =
                           nonNegative(hv, hp, "max requests per connection");
                     } else if (k == "maxRetries") {
                       h.max_retries = nonNegative(hv, hp, "max retries");
                     } else if (k == "idleTimeout") {
                       h.idle_timeout = duration(hv, hp);
                     } else if (k == "h2UpgradePolicy") {
                       auto s = strOr(hv, hp);
                       using P = ConnectionPoolSettings::Http::H2UpgradePolicy;
                       if (s == "DEFAULT" || s.empty()) {
                         h.h2_upgrade_policy = P::kDefault;
                       } else if (s == "DO_NOT_UPGRADE") {
                         h.h2_upgrade_policy = P::kDoNotUpgrade;
                       } else if (s == "UPGRADE") {
                         h.h2_upgrade_policy = P::kUpgrade;
                       } else {
                         error(hv, hp,
                               fmt::format("invalid h2UpgradePolicy \"{}\" (DEFAULT, "
                                           "DO_NOT_UPGRADE, UPGRADE)",
                                           s));
                       }
                     } else if (k == "useClientProtocol") {
                       h.use_client_protocol = boolean(hv, hp);
                     } else {
                       h.max_concurrent_streams = nonNegative(hv, hp, "max concurrent streams");
                     }
                   });
            if (h.use_client_protocol.value_or(false) &&
                h.h2_upgrade_policy == ConnectionPoolSettings::Http::H2UpgradePolicy::kUpgrade) {
              error(v, p, "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
            }
            cp.http = h;
          }
        });
    return cp;
  }

  // A duration that must be at least 1ms (Istio's ValidateDuration).
  std::optional<Duration> positiveDuration(const YAML::Node& v, const std::string& p) {
    auto d = duration(v, p);
    if (!d) return d;
    if (d->value < std::chrono::milliseconds(1)) {
      error(v, p, "duration must be greater than 1ms");
      return std::nullopt;
    }
    if (d->value % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0)) {
      error(v, p, "only durations to ms precision are supported");
      return std::nullopt;
    }
    return d;
  }

  OutlierDetection outlier(const YAML::Node& n, const std::string& path) {
    OutlierDetection o;
    o.pos = pos(n);
    fields(n, path,
           {"consecutiveErrors", "consecutive5xxErrors", "consecutiveGatewayErrors", "interval",
            "baseEjectionTime", "maxEjectionPercent", "minHealthPercent",
            "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "consecutiveErrors") {
               warn(v, p,
                    "outlier detection consecutive errors is deprecated, use "
                    "consecutiveGatewayErrors or consecutive5xxErrors instead");
               auto x = nonNegative(v, p, "consecutive errors");
               if (x && !o.consecutive_5xx_errors)
                 o.consecutive_5xx_errors = static_cast<uint32_t>(*x);
             } else if (key == "consecutive5xxErrors") {
               o.consecutive_5xx_errors = u32(v, p);
             } else if (key == "consecutiveGatewayErrors") {
               o.consecutive_gateway_errors = u32(v, p);
             } else if (key == "interval") {
               o.interval = positiveDuration(v, p);
             } else if (key == "baseEjectionTime") {
               o.base_ejection_time = positiveDuration(v, p);
             } else if (key == "maxEjectionPercent" || key == "minHealthPercent") {
               auto x = i32(v, p);
               if (!x) return;
               if (*x < 0 || *x > 100) {
                 error(v, p, fmt::format("percentage {} is not in range 0..100", *x));
                 return;
               }
               (key == "maxEjectionPercent" ? o.max_ejection_percent : o.min_health_percent) = *x;
             } else if (key == "splitExternalLocalOriginErrors") {
               boolean(v, p);
             } else {
               u32(v, p);
             }
           });
    return o;
  }

  ClientTLSSettings clientTls(const YAML::Node& n, const std::string& path) {
    ClientTLSSettings t;
    t.pos = pos(n);
    fields(n, path,
           {"mode", "clientCertificate", "privateKey", "caCertificates", "credentialName",
            "subjectAltNames", "sni", "insecureSkipVerify", "caCrl"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "mode") {
               t.mode = strOr(v, p);
               if (t.mode != "DISABLE" && t.mode != "SIMPLE" && t.mode != "MUTUAL" &&
                   t.mode != "ISTIO_MUTUAL") {
                 error(v, p,
                       fmt::format("invalid TLS mode \"{}\" (DISABLE, SIMPLE, MUTUAL, "
                                   "ISTIO_MUTUAL)",
                                   t.mode));
               }
             } else if (key == "clientCertificate") {
               t.client_certificate = strOr(v, p);
             } else if (key == "privateKey") {
               t.private_key = strOr(v, p);
             } else if (key == "caCertificates") {
               t.ca_certificates = strOr(v, p);
             } else if (key == "credentialName") {
               t.credential_name = strOr(v, p);
             } else if (key == "subjectAltNames") {
               t.subject_alt_names = stringList(v, p);
             } else if (key == "sni") {
               t.sni = strOr(v, p);
             } else if (key == "insecureSkipVerify") {
               t.insecure_skip_verify = boolean(v, p);
             } else {
               strOr(v, p);
             }
           });
    if (t.mode == "MUTUAL" && t.credential_name.empty()) {
      if (t.client_certificate.empty()) {
        error(n, path, "client certificate required for mutual tls");
      }
      if (t.private_key.empty()) error(n, path, "private key required for mutual tls");
    }
    return t;
  }

  TrafficPolicy trafficPolicy(const YAML::Node& n, const std::string& path) {
    TrafficPolicy tp;
    tp.pos = pos(n);
    fields(n, path,
           {"loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings",
            "tunnel", "proxyProtocol", "retryBudget"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (v.IsNull()) return;
             if (key == "loadBalancer") {
               tp.load_balancer = loadBalancer(v, p);
             } else if (key == "connectionPool") {
               tp.connection_pool = connectionPool(v, p);
             } else if (key == "outlierDetection") {
               tp.outlier_detection = outlier(v, p);
             } else if (key == "tls") {
               tp.tls = clientTls(v, p);
             } else if (key == "portLevelSettings") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 PortTrafficPolicy pl;
                 pl.pos = pos(item);
                 fields(item, ip,
                        {"port", "loadBalancer", "connectionPool", "outlierDetection", "tls"},
                        [&](std::string_view k, const YAML::Node& pv, const std::string& pp) {
                          if (pv.IsNull()) return;
                          if (k == "port") {
                            fields(pv, pp, {"number"},
                                   [&](std::string_view, const YAML::Node& nv,
                                       const std::string& np) { pl.port = port(nv, np); });
                          } else if (k == "loadBalancer") {
                            pl.load_balancer = loadBalancer(pv, pp);
                          } else if (k == "connectionPool") {
                            pl.connection_pool = connectionPool(pv, pp);
                          } else if (k == "outlierDetection") {
                            pl.outlier_detection = outlier(pv, pp);
                          } else {
                            pl.tls = clientTls(pv, pp);
                          }
                        });
                 if (!pl.port) error(item, ip, "portTrafficPolicy must have valid port");
                 tp.port_level_settings.push_back(std::move(pl));
               });
             }
             // tunnel, proxyProtocol, retryBudget: accepted (listed as unenforced), not modelled.
           });
    if (n.IsMap() && n.size() == 0) error(n, path, "traffic policy must have at least one field");
    return tp;
  }

  void decodeDestinationRule(const YAML::Node& spec) {
    DestinationRule dr;
    dr.meta = meta_;
    bool has_host = false;
    fields(spec, "spec", {"host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "host") {
               has_host = !v.IsNull();
               auto s = str(v, p);
               if (!s) return;
               dr.host = *s;
               if (auto problem = checkHost(*s)) error(v, p, *problem);
             } else if (key == "trafficPolicy") {
               if (!v.IsNull()) dr.traffic_policy = trafficPolicy(v, p);
             } else if (key == "subsets") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 Subset s;
                 s.pos = pos(item);
                 if (item.IsNull()) {
                   error(item, ip, "subset may not be null");
                   return;
                 }
                 fields(item, ip, {"name", "labels", "trafficPolicy"},
                        [&](std::string_view k, const YAML::Node& sv, const std::string& sp) {
                          if (k == "name") {
                            s.name = strOr(sv, sp);
                            if (!s.name.empty() && !isDns1123Label(s.name)) {
                              error(sv, sp, fmt::format("subset name is invalid: {}", s.name));
                            }
                          } else if (k == "labels") {
                            s.labels = stringMap(sv, sp);
                          } else if (!sv.IsNull()) {
                            s.traffic_policy = trafficPolicy(sv, sp);
                          }
                        });
                 if (s.name.empty()) error(item, ip + ".name", "subset name cannot be empty");
                 dr.subsets.push_back(std::move(s));
               });
             } else if (key == "exportTo") {
               dr.export_to = stringList(v, p);
             } else if (key == "workloadSelector") {
               fields(v, p, {"matchLabels"},
                      [&](std::string_view, const YAML::Node& wv, const std::string& wp) {
                        dr.workload_selector = stringMap(wv, wp);
                      });
             }
           });
    if (!has_host) error(spec, "spec.host", "host is required");
    dr.host_fqdn = resolveShortName(dr.host, dr.meta.ns);
    out_.destination_rules.push_back(std::move(dr));
  }

  // --- Gateway ----------------------------------------------------------------------------
  void decodeGateway(const YAML::Node& spec) {
    Gateway gw;
    gw.meta = meta_;
    fields(spec, "spec", {"selector", "servers"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "selector") {
               gw.selector = stringMap(v, p);
               return;
             }
             list(v, p, [&](const YAML::Node& item, const std::string& ip) {
               Server s;
               s.pos = pos(item);
               fields(
                   item, ip, {"port", "hosts", "tls", "bind", "name", "defaultEndpoint"},
                   [&](std::string_view k, const YAML::Node& sv, const std::string& sp) {
                     if (k == "port") {
                       if (sv.IsNull()) return;
                       GatewayPort gp;
                       fields(
                           sv, sp, {"number", "name", "protocol", "targetPort"},
                           [&](std::string_view pk, const YAML::Node& pv, const std::string& pp) {
                             if (pk == "number") {
                               auto x = integer(pv, pp, std::numeric_limits<int64_t>::min(),
                                                std::numeric_limits<int64_t>::max());
                               if (!x) return;
                               if (*x < 0 || *x > 65535) {
                                 error(pv, pp,
                                       fmt::format("port number {} must be in the range 1..65535",
                                                   *x));
                                 return;
                               }
                               gp.number = static_cast<uint32_t>(*x);
                             } else if (pk == "name") {
                               gp.name = strOr(pv, pp);
                             } else if (pk == "protocol") {
                               gp.protocol = toLower(strOr(pv, pp));
                               for (auto& c : gp.protocol) c = static_cast<char>(std::toupper(c));
                             } else {
                               error(pv, pp, "targetPort has no impact on Gateways");
                             }
                           });
                       s.port = gp;
                     } else if (k == "hosts") {
                       s.hosts = stringList(sv, sp);
                     } else if (k == "tls") {
                       if (!sv.IsNull()) s.tls = serverTls(sv, sp);
                     } else if (k == "bind") {
                       s.bind = strOr(sv, sp);
                     } else if (k == "name") {
                       s.name = strOr(sv, sp);
                     } else {
                       strOr(sv, sp);
                     }
                   });
               gw.servers.push_back(std::move(s));
             });
           });
    out_.gateways.push_back(std::move(gw));
  }

  ServerTLSSettings serverTls(const YAML::Node& n, const std::string& path) {
    ServerTLSSettings t;
    t.pos = pos(n);
    fields(n, path,
           {"httpsRedirect", "mode", "serverCertificate", "privateKey", "caCertificates", "caCrl",
            "credentialName", "credentialNames", "caCertCredentialName", "tlsCertificates",
            "subjectAltNames", "verifyCertificateSpki", "verifyCertificateHash",
            "minProtocolVersion", "maxProtocolVersion", "cipherSuites"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "httpsRedirect") {
               t.https_redirect = boolean(v, p).value_or(false);
             } else if (key == "mode") {
               t.mode = strOr(v, p);
               static const std::set<std::string> kModes = {"PASSTHROUGH",  "SIMPLE",
                                                            "MUTUAL",       "AUTO_PASSTHROUGH",
                                                            "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"};
               if (!kModes.count(t.mode)) {
                 error(v, p, fmt::format("invalid TLS mode \"{}\"", t.mode));
               }
             } else if (key == "serverCertificate") {
               t.server_certificate = strOr(v, p);
             } else if (key == "privateKey") {
               t.private_key = strOr(v, p);
             } else if (key == "caCertificates") {
               t.ca_certificates = strOr(v, p);
             } else if (key == "credentialName") {
               t.credential_name = strOr(v, p);
             } else if (key == "subjectAltNames") {
               t.subject_alt_names = stringList(v, p);
             } else if (key == "minProtocolVersion") {
               t.min_protocol_version = strOr(v, p);
             } else if (key == "maxProtocolVersion") {
               t.max_protocol_version = strOr(v, p);
             } else if (key == "cipherSuites") {
               t.cipher_suites = stringList(v, p);
             } else if (key == "credentialNames" || key == "verifyCertificateSpki" ||
                        key == "verifyCertificateHash") {
               stringList(v, p);
             } else if (key == "tlsCertificates") {
               list(v, p, [&](const YAML::Node&, const std::string&) {});
             } else {
               strOr(v, p);
             }
           });
    return t;
  }

  // --- ServiceEntry / WorkloadEntry -------------------------------------------------------
  WorkloadEndpoint workloadEndpoint(const YAML::Node& n, const std::string& path) {
    WorkloadEndpoint e;
    e.pos = pos(n);
    fields(n, path,
           {"address", "ports", "labels", "network", "locality", "weight", "serviceAccount"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "address") {
               e.address = strOr(v, p);
             } else if (key == "ports") {
               if (v.IsNull()) return;
               if (!v.IsMap()) {
                 error(v, p,
                       fmt::format("expected an object of port numbers, got {}", nodeTypeName(v)));
                 return;
               }
               for (auto it = v.begin(); it != v.end(); ++it) {
                 if (!it->first.IsScalar()) continue;
                 auto x = port(it->second, child(p, it->first.Scalar()));
                 if (x) e.ports[it->first.Scalar()] = *x;
               }
             } else if (key == "labels") {
               e.labels = stringMap(v, p);
             } else if (key == "network") {
               e.network = strOr(v, p);
             } else if (key == "locality") {
               e.locality = strOr(v, p);
             } else if (key == "weight") {
               e.weight = u32(v, p);
             } else {
               e.service_account = strOr(v, p);
             }
           });
    return e;
  }

  void decodeServiceEntry(const YAML::Node& spec) {
    ServiceEntry se;
    se.meta = meta_;
    fields(spec, "spec",
           {"hosts", "addresses", "ports", "location", "resolution", "endpoints",
            "workloadSelector", "exportTo", "subjectAltNames"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "hosts") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 auto s = str(item, ip);
                 if (!s) return;
                 if (*s == "*") {
                   error(item, ip, "invalid host *");
                 } else if (auto problem = checkHost(*s)) {
                   error(item, ip, *problem);
                 }
                 se.hosts.push_back(*s);
               });
             } else if (key == "addresses") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 auto s = str(item, ip);
                 if (!s) return;
                 if (!net::Cidr::parse(*s)) {
                   error(item, ip, fmt::format("invalid address {} (expected an IP or CIDR)", *s));
                   return;
                 }
                 se.addresses.push_back(*s);
               });
             } else if (key == "ports") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 ServicePort sp;
                 sp.pos = pos(item);
                 bool has_number = false;
                 fields(item, ip, {"number", "protocol", "name", "targetPort"},
                        [&](std::string_view k, const YAML::Node& pv, const std::string& pp) {
                          if (k == "number") {
                            auto x = port(pv, pp);
                            has_number = x.has_value() || !pv.IsNull();
                            sp.number = x.value_or(0);
                          } else if (k == "protocol") {
                            sp.protocol = strOr(pv, pp);
                            for (auto& c : sp.protocol) c = static_cast<char>(std::toupper(c));
                          } else if (k == "name") {
                            sp.name = strOr(pv, pp);
                          } else {
                            sp.target_port = port(pv, pp);
                          }
                        });
                 if (!has_number) error(item, ip + ".number", "port number is required");
                 se.ports.push_back(std::move(sp));
               });
             } else if (key == "location") {
               auto s = strOr(v, p);
               if (s == "MESH_INTERNAL") {
                 se.location = ServiceEntry::Location::kMeshInternal;
               } else if (s == "MESH_EXTERNAL" || s.empty()) {
                 se.location = ServiceEntry::Location::kMeshExternal;
               } else {
                 error(v, p,
                       fmt::format("invalid location \"{}\" (MESH_EXTERNAL, MESH_INTERNAL)", s));
               }
             } else if (key == "resolution") {
               auto s = strOr(v, p);
               if (s == "NONE" || s.empty()) {
                 se.resolution = ServiceEntry::Resolution::kNone;
               } else if (s == "STATIC") {
                 se.resolution = ServiceEntry::Resolution::kStatic;
               } else if (s == "DNS") {
                 se.resolution = ServiceEntry::Resolution::kDns;
               } else if (s == "DNS_ROUND_ROBIN") {
                 se.resolution = ServiceEntry::Resolution::kDnsRoundRobin;
               } else {
                 error(v, p,
                       fmt::format("invalid resolution \"{}\" (NONE, STATIC, DNS, "
                                   "DNS_ROUND_ROBIN)",
                                   s));
               }
             } else if (key == "endpoints") {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 se.endpoints.push_back(workloadEndpoint(item, ip));
               });
             } else if (key == "workloadSelector") {
               fields(v, p, {"labels"},
                      [&](std::string_view, const YAML::Node& wv, const std::string& wp) {
                        se.workload_selector = stringMap(wv, wp);
                      });
             } else if (key == "exportTo") {
               se.export_to = stringList(v, p);
             } else {
               se.subject_alt_names = stringList(v, p);
             }
           });
    out_.service_entries.push_back(std::move(se));
  }

  // --- raw kinds ---------------------------------------------------------------------------
  nlohmann::json toJson(const YAML::Node& n) {
    if (!spend()) return nullptr;
    switch (n.Type()) {
      case YAML::NodeType::Map: {
        nlohmann::json obj = nlohmann::json::object();
        for (auto it = n.begin(); it != n.end(); ++it) {
          if (!it->first.IsScalar()) continue;
          obj[it->first.Scalar()] = toJson(it->second);
        }
        return obj;
      }
      case YAML::NodeType::Sequence: {
        nlohmann::json arr = nlohmann::json::array();
        for (auto it = n.begin(); it != n.end(); ++it) arr.push_back(toJson(*it));
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

  void decodeEnvoyFilter(const YAML::Node& spec) {
    EnvoyFilter ef;
    ef.meta = meta_;
    fields(spec, "spec", {"workloadSelector", "targetRefs", "configPatches", "priority"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "workloadSelector") {
               fields(v, p, {"labels"},
                      [&](std::string_view, const YAML::Node& wv, const std::string& wp) {
                        ef.workload_selector = stringMap(wv, wp);
                      });
             } else if (key == "targetRefs") {
               list(v, p, [&](const YAML::Node&, const std::string&) {});
             } else if (key == "priority") {
               ef.priority = i32(v, p).value_or(0);
             } else {
               list(v, p, [&](const YAML::Node& item, const std::string& ip) {
                 EnvoyFilterPatch patch;
                 patch.pos = pos(item);
                 fields(item, ip, {"applyTo", "match", "patch"},
                        [&](std::string_view k, const YAML::Node& pv, const std::string& pp) {
                          if (k == "applyTo") {
                            patch.apply_to = strOr(pv, pp);
                          } else if (k == "match") {
                            patch.match = toJson(pv);
                          } else {
                            patch.patch = toJson(pv);
                          }
                        });
                 ef.config_patches.push_back(std::move(patch));
               });
             }
           });
    ef.spec = toJson(spec);
    out_.envoy_filters.push_back(std::move(ef));
  }

  void decodeSidecar(const YAML::Node& spec) {
    Sidecar sc;
    sc.meta = meta_;
    fields(
        spec, "spec",
        {"workloadSelector", "ingress", "egress", "outboundTrafficPolicy", "inboundConnectionPool"},
        [&](std::string_view key, const YAML::Node& v, const std::string& p) {
          if (key == "workloadSelector") {
            fields(v, p, {"labels"},
                   [&](std::string_view, const YAML::Node& wv, const std::string& wp) {
                     sc.workload_selector = stringMap(wv, wp);
                   });
          } else if (key == "egress") {
            list(v, p, [&](const YAML::Node& item, const std::string& ip) {
              Sidecar::Egress e;
              e.pos = pos(item);
              fields(item, ip, {"port", "bind", "captureMode", "hosts"},
                     [&](std::string_view k, const YAML::Node& ev, const std::string& ep) {
                       if (k == "hosts") {
                         e.hosts = stringList(ev, ep);
                       } else if (k == "port") {
                         fields(
                             ev, ep, {"number", "protocol", "name", "targetPort"},
                             [&](std::string_view pk, const YAML::Node& pv, const std::string& pp) {
                               if (pk == "number") {
                                 e.port = port(pv, pp);
                               } else {
                                 strOr(pv, pp);
                               }
                             });
                       } else {
                         strOr(ev, ep);
                       }
                     });
              if (e.hosts.empty()) {
                error(item, ip, "sidecar: egress listener must contain at least one host");
              }
              sc.egress.push_back(std::move(e));
            });
          } else if (key == "outboundTrafficPolicy") {
            fields(v, p, {"mode", "egressProxy"},
                   [&](std::string_view k, const YAML::Node& ov, const std::string& op) {
                     if (k == "mode") sc.outbound_traffic_policy_mode = strOr(ov, op);
                   });
          }
        });
    sc.spec = toJson(spec);
    out_.sidecars.push_back(std::move(sc));
  }

  void decodeWorkloadEntry(const YAML::Node& spec) {
    WorkloadEntry we;
    we.meta = meta_;
    we.spec = workloadEndpoint(spec, "spec");
    if (we.spec.address.empty()) error(spec, "spec.address", "address is required");
    out_.workload_entries.push_back(std::move(we));
  }

  // --- document ------------------------------------------------------------------------------
  void decodeMeta(const YAML::Node& n) {
    fields(n, "metadata",
           {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
            "creationTimestamp", "deletionTimestamp", "managedFields", "generateName", "finalizers",
            "ownerReferences", "selfLink", "deletionGracePeriodSeconds"},
           [&](std::string_view key, const YAML::Node& v, const std::string& p) {
             if (key == "name") {
               meta_.name = strOr(v, p);
               if (!meta_.name.empty() && !isDns1123Subdomain(meta_.name)) {
                 error(v, p,
                       fmt::format("invalid name \"{}\": must be a lower-case DNS-1123 "
                                   "subdomain",
                                   meta_.name));
               }
             } else if (key == "namespace") {
               auto ns = strOr(v, p);
               if (!ns.empty()) {
                 if (!isDns1123Label(ns) || toLower(ns) != ns) {
                   error(v, p,
                         fmt::format("invalid namespace \"{}\": must be a lower-case DNS-1123 "
                                     "label",
                                     ns));
                 }
                 meta_.ns = ns;
               }
             } else if (key == "labels") {
               meta_.labels = stringMap(v, p);
             } else if (key == "annotations") {
               meta_.annotations = stringMap(v, p);
             }
           });
  }

  ConfigSet& out_;
  std::string file_;
  Meta meta_;
  DiagnosticReporter reporter_{out_.diagnostics, meta_};
  size_t budget_ = kNodeBudget;
  size_t reported_ = 0;
};

void Decoder::decodeDocument(const YAML::Node& doc, int list_depth) {
  meta_ = Meta{};
  meta_.pos = pos(doc);
  if (!doc.IsDefined() || doc.IsNull()) return;  // empty document
  if (!doc.IsMap()) {
    error(doc, "",
          fmt::format("expected a Kubernetes resource (an object with apiVersion and "
                      "kind), got {}",
                      nodeTypeName(doc)));
    return;
  }
  std::string api_version;
  std::string kind;
  if (get(doc, "apiVersion").IsScalar()) api_version = get(doc, "apiVersion").Scalar();
  if (get(doc, "kind").IsScalar()) kind = get(doc, "kind").Scalar();
  if (kind.empty()) {
    error(doc, "kind", "kind is required");
    return;
  }
  if (api_version.empty()) {
    error(doc, "apiVersion", "apiVersion is required");
    return;
  }
  if (kind == "List" && api_version == "v1") {
    if (list_depth > 0) {
      error(doc, "items", "nested List is not supported");
      return;
    }
    const YAML::Node items = get(doc, "items");
    list(items, "items", [&](const YAML::Node& item, const std::string&) {
      // Items share this document's budgets, so a List cannot multiply them.
      Decoder inner(out_, file_);
      inner.budget_ = budget_;
      inner.reported_ = reported_;
      inner.decodeDocument(item, list_depth + 1);
      budget_ = inner.budget_;
      reported_ = inner.reported_;
    });
    return;
  }
  meta_.api_version = api_version;
  meta_.kind = kind;
  static const std::set<std::string> kVersions = {
      "networking.istio.io/v1alpha3", "networking.istio.io/v1beta1", "networking.istio.io/v1"};
  static const std::set<std::string> kKinds = {"VirtualService", "DestinationRule", "Gateway",
                                               "ServiceEntry",   "EnvoyFilter",     "Sidecar",
                                               "WorkloadEntry"};
  if (!kVersions.count(api_version) || !kKinds.count(kind)) {
    const YAML::Node md = get(doc, "metadata");
    if (get(md, "name").IsScalar()) meta_.name = get(md, "name").Scalar();
    if (get(md, "namespace").IsScalar()) meta_.ns = get(md, "namespace").Scalar();
    warn(doc, "",
         fmt::format("unsupported apiVersion/kind \"{}\" \"{}\": skipped (Sluice reads "
                     "networking.istio.io v1alpha3/v1beta1/v1 VirtualService, "
                     "DestinationRule, Gateway, ServiceEntry, EnvoyFilter, Sidecar, "
                     "WorkloadEntry)",
                     api_version, kind));
    return;
  }
  const YAML::Node metadata = get(doc, "metadata");
  if (!metadata.IsDefined() || metadata.IsNull()) {
    error(doc, "metadata", "metadata is required");
  } else {
    decodeMeta(metadata);
  }
  if (meta_.name.empty() && metadata.IsMap()) {
    error(metadata, "metadata.name", "metadata.name is required");
  }
  // Unknown top-level fields.
  YAML::Node spec;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string key = it->first.Scalar();
    if (key == "spec") {
      spec = it->second;
    } else if (key != "apiVersion" && key != "kind" && key != "metadata" && key != "status") {
      error(it->first, key, fmt::format("unknown field \"{}\"", key));
    }
  }
  if (!spec.IsDefined() || spec.IsNull()) {
    error(doc, "spec", "spec is required");
    spec = YAML::Node(YAML::NodeType::Map);
  }
  if (kind != "VirtualService" && kind != "DestinationRule" && kind != "Gateway" &&
      kind != "ServiceEntry") {
    checkUnenforced(spec, spec, "spec");
  }
  if (kind == "VirtualService") {
    decodeVirtualService(spec);
  } else if (kind == "DestinationRule") {
    decodeDestinationRule(spec);
  } else if (kind == "Gateway") {
    decodeGateway(spec);
  } else if (kind == "ServiceEntry") {
    decodeServiceEntry(spec);
  } else if (kind == "EnvoyFilter") {
    decodeEnvoyFilter(spec);
  } else if (kind == "Sidecar") {
    decodeSidecar(spec);
  } else if (kind == "WorkloadEntry") {
    decodeWorkloadEntry(spec);
  }
}

// Drops "parsed but not enforced" warnings nested under another one (a listed parent covers its
// children), keeping the first.
void dedupeUnenforced(std::vector<Diagnostic>& diags, size_t from) {
  std::vector<std::string> parents;
  std::vector<Diagnostic> kept(diags.begin(), diags.begin() + static_cast<long>(from));
  for (size_t i = from; i < diags.size(); ++i) {
    auto& d = diags[i];
    const bool unenforced =
        d.severity == Severity::kWarning && d.message.starts_with("parsed but not enforced");
    if (unenforced) {
      const std::string key = d.kind + "/" + d.ns + "/" + d.name + ":" + d.field_path;
      bool nested = false;
      for (auto& p : parents) {
        if (key.starts_with(p + ".") || key.starts_with(p + "[")) nested = true;
      }
      if (nested) continue;
      parents.push_back(key);
    }
    kept.push_back(std::move(d));
  }
  diags = std::move(kept);
}

void loadText(ConfigSet& set, std::string_view text, const std::string& file) {
  ++set.files_read;
  auto fileError = [&](int line, int column, std::string message) {
    DiagnosticReporter::forFile(set.diagnostics)
        .error(Position{file, line, column}, "", std::move(message));
  };
  if (text.size() > kMaxFileBytes) {
    fileError(1, 1,
              fmt::format("file is too large ({} bytes, limit {})", text.size(), kMaxFileBytes));
    return;
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  if (auto problem = prescanYaml(text, kMaxNestingDepth)) {
    fileError(problem->line, problem->column, problem->message);
    return;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    fileError(e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1,
              fmt::format("YAML syntax error: {}", e.msg));
    return;
  } catch (const std::exception& e) {
    fileError(1, 1, fmt::format("YAML syntax error: {}", e.what()));
    return;
  }
  const size_t first = set.diagnostics.size();
  for (const auto& doc : docs) {
    try {
      Decoder decoder(set, file);
      decoder.decodeDocument(doc);
    } catch (const std::exception& e) {
      // yaml-cpp throws on some malformed node accesses; report instead of crashing.
      fileError(1, 1, fmt::format("cannot decode document: {}", e.what()));
    }
  }
  dedupeUnenforced(set.diagnostics, first);
}

void finish(ConfigSet& set) {
  validateResources(set);
  recogniseEnvoyFilters(set);
  validateCrossResource(set);
  std::stable_sort(set.diagnostics.begin(), set.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     if (a.pos.file != b.pos.file) return a.pos.file < b.pos.file;
                     if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
                     return a.pos.column < b.pos.column;
                   });
}

bool hasConfigExtension(const fs::path& p) {
  auto ext = toLower(p.extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void loadFile(ConfigSet& set, const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) {
    set.io_errors.push_back(fmt::format("{}: cannot read: {}", path, ec.message()));
    return;
  }
  if (size > kMaxFileBytes) {
    ++set.files_read;
    DiagnosticReporter::forFile(set.diagnostics)
        .error(Position{path, 1, 1}, "",
               fmt::format("file is too large ({} bytes, limit {})", size, kMaxFileBytes));
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    set.io_errors.push_back(fmt::format("{}: cannot open for reading", path));
    return;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    set.io_errors.push_back(fmt::format("{}: read error", path));
    return;
  }
  loadText(set, buffer.str(), path);
}

}  // namespace

ConfigSet loadPaths(const std::vector<std::string>& paths) {
  ConfigSet set;
  for (const auto& path : paths) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      set.io_errors.push_back(fmt::format("{}: no such file or directory", path));
      continue;
    }
    if (fs::is_directory(status)) {
      std::vector<std::string> files;
      for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::directory_iterator();
           it.increment(ec)) {
        std::error_code file_ec;
        if (it->is_regular_file(file_ec) && hasConfigExtension(it->path())) {
          files.push_back(it->path().string());
        }
      }
      if (ec) {
        set.io_errors.push_back(fmt::format("{}: cannot list directory: {}", path, ec.message()));
        continue;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) loadFile(set, f);
      continue;
    }
    loadFile(set, path);
  }
  finish(set);
  return set;
}

ConfigSet loadString(std::string_view yaml, std::string_view file_name) {
  ConfigSet set;
  loadText(set, yaml, std::string(file_name));
  finish(set);
  return set;
}

}  // namespace sluice::config
