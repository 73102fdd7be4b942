#pragma once
// The strict YAML -> model decoding core that every kind's decoder (decode_<kind>.cc) is built
// on. Internal to src/config; the entry points are in config/loader.h.
//
// How a kind is decoded: each Istio object type has ONE table of its keys, each key written once
// next to the code that decodes and validates its value:
//
//   constexpr Field<HTTPRetry> kRetryFields[] = {
//       {"attempts", [](Decoder& d, const At& v, HTTPRetry& r) { ... }},
//       {"backoff", [](Decoder& d, const At& v, HTTPRetry& r) { r.backoff = d.duration(v); }},
//   };
//   d.object(n, kRetryFields, retry);
//
// `Decoder::object` owns everything generic about an object: absent/null objects, "expected an
// object", non-string and duplicate keys, unknown keys, the "parsed but not enforced" warning
// (config/unenforced.h) and required keys (Field::required: absent or null). A handler only
// decodes its value; checks that span several keys follow the object() call.
//
// Contract: never throws on bad input (every problem is a Diagnostic with file:line:column and
// the field path); bounded work per document (a node budget, a diagnostics cap). One Decoder per
// document, single-threaded.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic_reporter.h"
#include "config/model.h"

namespace sluice::config::decode {

// A YAML node and its field path ("spec.http[0].route").
struct At {
  YAML::Node node;
  std::string path;
};

class Decoder;

// Where a missing required key is reported.
enum class RequiredAt {
  kObject,  // at the object, with the object's path ("spec.http[0].route[0]")
  kField,   // at the object, with the key's path ("spec.host")
};

// One known key of an object whose decoded form is T.
template <typename T>
struct Field {
  using Handler = void (*)(Decoder&, const At& value, T& out);
  std::string_view key;
  Handler decode;
  // Non-empty: the key is required; this is the error when it is absent or null.
  std::string_view required = {};
  RequiredAt required_at = RequiredAt::kObject;
};

// A key accepted and type-checked as a string, not modelled.
template <typename T>
void ignoreString(Decoder& d, const At& v, T&);
// A key accepted without any check (Kubernetes metadata Sluice has no use for).
template <typename T>
void ignoreAny(Decoder&, const At&, T&) {}

class Decoder {
 public:
  // Upper bound on YAML nodes visited per document; stops alias bombs and absurd documents.
  static constexpr size_t kNodeBudget = 500'000;
  // Upper bound on diagnostics per document, so a repeated mistake cannot exhaust memory.
  static constexpr size_t kMaxDiagnosticsPerDocument = 500;

  // `line_offset`: lines before the text yaml-cpp parsed (a document parsed on its own), added
  // to every reported line. `digest`: Meta::digest of the resources decoded (see model.h).
  Decoder(ConfigSet& out, std::string file, int line_offset = 0, uint64_t digest = 0)
      : out_(out), file_(std::move(file)), line_offset_(line_offset), digest_(digest) {}
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one Kubernetes document (a resource, or a v1 List of them) into out.
  void decodeDocument(const YAML::Node& doc, int list_depth = 0);

  ConfigSet& out() { return out_; }
  // The resource being decoded (kind, namespace, name as far as known).
  const Meta& meta() const { return meta_; }

  // --- diagnostics ---------------------------------------------------------------------------
  Position pos(const YAML::Node& n) const;
  void report(Severity severity, const YAML::Node& at, std::string path, std::string message,
              std::string code = "");
  void error(const YAML::Node& at, std::string path, std::string message) {
    report(Severity::kError, at, std::move(path), std::move(message));
  }
  void warn(const YAML::Node& at, std::string path, std::string message) {
    report(Severity::kWarning, at, std::move(path), std::move(message));
  }
  void error(const At& v, std::string message) { error(v.node, v.path, std::move(message)); }
  void warn(const At& v, std::string message) { warn(v.node, v.path, std::move(message)); }

  // --- structure -----------------------------------------------------------------------------
  // Decodes the object `n` into `out` with `table` (see the top of this file). Returns false
  // when `n` is absent, null or not an object (the latter is reported).
  template <typename T>
  bool object(const At& n, std::span<const Field<T>> table, T& out);
  template <typename T, size_t N>
  bool object(const At& n, const Field<T> (&table)[N], T& out) {
    return object(n, std::span<const Field<T>>(table), out);
  }

  // Calls fn(item) for every item of the list `n` ("path[i]"). Absent or null: nothing.
  template <typename Fn>
  void list(const At& n, Fn&& fn);

  // Visits every node of the document at most once; false when the budget is exhausted.
  bool spend();

  // --- scalars and simple shapes -------------------------------------------------------------
  std::optional<std::string> str(const At& v);
  std::string strOr(const At& v) { return str(v).value_or(""); }
  std::optional<int64_t> integer(const At& v, int64_t min, int64_t max);
  std::optional<uint32_t> u32(const At& v);
  std::optional<int32_t> i32(const At& v);
  std::optional<int32_t> nonNegative(const At& v, std::string_view what);
  std::optional<uint32_t> port(const At& v);
  std::optional<bool> boolean(const At& v);
  std::optional<double> number(const At& v);
  std::optional<Duration> duration(const At& v);
  // A duration of at least 1ms with millisecond precision (Istio's ValidateDuration).
  std::optional<Duration> positiveDuration(const At& v);
  // {number: N} selecting a port (destinations, port-level settings).
  std::optional<uint32_t> portSelector(const At& v);
  // {value: <0..100>}; `{}` is 0.
  std::optional<Percent> percent(const At& v);
  StringMap stringMap(const At& v);
  std::vector<std::string> stringList(const At& v);
  // The node as JSON (EnvoyFilter patches, Sidecar spec), spending the budget.
  nlohmann::json json(const YAML::Node& n);

  // The child of `path` named `key`.
  static std::string child(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  // "an object", "a list", "\"text\"", "null".
  static std::string nodeTypeName(const YAML::Node& n);

  // Warns when `path` (or `path=value`) is listed in config/unenforced.h.
  void checkUnenforced(const YAML::Node& key_node, const YAML::Node& value,
                       const std::string& path);

 private:
  void decodeMeta(const YAML::Node& n);

  ConfigSet& out_;
  std::string file_;
  int line_offset_ = 0;
  uint64_t digest_ = 0;
  Meta meta_;
  DiagnosticReporter reporter_{out_.diagnostics, meta_};
  size_t budget_ = kNodeBudget;
  size_t reported_ = 0;
};

// map[key] without yaml-cpp's invalid-node exceptions: a missing key gives a Null node.
YAML::Node get(const YAML::Node& map, std::string_view key);

// Kind decoders (one file each): decode `spec` of the current document into d.out().
void decodeVirtualService(Decoder& d, const YAML::Node& spec);
void decodeDestinationRule(Decoder& d, const YAML::Node& spec);
void decodeGateway(Decoder& d, const YAML::Node& spec);
void decodeServiceEntry(Decoder& d, const YAML::Node& spec);
void decodeWorkloadEntry(Decoder& d, const YAML::Node& spec);
void decodeEnvoyFilter(Decoder& d, const YAML::Node& spec);
void decodeSidecar(Decoder& d, const YAML::Node& spec);

// Shared by ServiceEntry.endpoints and WorkloadEntry.spec.
WorkloadEndpoint workloadEndpoint(Decoder& d, const At& n);

// --- templates -------------------------------------------------------------------------------

template <typename T>
void ignoreString(Decoder& d, const At& v, T&) {
  d.str(v);
}

template <typename T>
bool Decoder::object(const At& n, std::span<const Field<T>> table, T& out) {
  // Required keys are reported after the walk, also when the object is absent or malformed.
  std::vector<bool> present(table.size(), false);
  auto reportMissing = [&] {
    for (size_t i = 0; i < table.size(); ++i) {
      if (table[i].required.empty() || present[i]) continue;
      error(n.node,
            table[i].required_at == RequiredAt::kField ? child(n.path, table[i].key) : n.path,
            std::string(table[i].required));
    }
  };
  const bool walked = [&] {
    if (!n.node.IsDefined() || n.node.IsNull()) return false;
    if (!spend()) return false;
    if (!n.node.IsMap()) {
      error(n, fmt::format("expected an object, got {}", nodeTypeName(n.node)));
      return false;
    }
    std::set<std::string> seen;
    for (auto it = n.node.begin(); it != n.node.end(); ++it) {
      if (!spend()) return false;
      const YAML::Node key_node = it->first;
      if (!key_node.IsScalar()) {
        error(key_node, n.path, "field names must be strings");
        continue;
      }
      const std::string& key = key_node.Scalar();
      At value{it->second, child(n.path, key)};
      if (!seen.insert(key).second) {
        error(key_node, value.path, "duplicate field");
        continue;
      }
      size_t index = 0;
      while (index < table.size() && table[index].key != key) ++index;
      if (index == table.size()) {
        error(key_node, value.path, fmt::format("unknown field \"{}\"", key));
        continue;
      }
      present[index] = !value.node.IsNull();
      checkUnenforced(key_node, value.node, value.path);
      table[index].decode(*this, value, out);
    }
    return true;
  }();
  reportMissing();
  return walked;
}

template <typename Fn>
void Decoder::list(const At& n, Fn&& fn) {
  if (!n.node.IsDefined() || n.node.IsNull()) return;
  if (!spend()) return;
  if (!n.node.IsSequence()) {
    error(n, fmt::format("expected a list, got {}", nodeTypeName(n.node)));
    return;
  }
  size_t i = 0;
  for (auto it = n.node.begin(); it != n.node.end(); ++it, ++i) {
    if (!spend()) return;
    fn(At{*it, fmt::format("{}[{}]", n.path, i)});
  }
}

}  // namespace sluice::config::decode
