#include "config/envoy_filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <set>
#include <span>

#include "config/diagnostic_reporter.h"

namespace sluice::config {

namespace {

using json = nlohmann::json;

const json* at(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(k);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string stringAt(const json& j, std::initializer_list<const char*> keys) {
  const json* v = at(j, keys);
  return (v != nullptr && v->is_string()) ? v->get<std::string>() : std::string();
}

class Recogniser {
 public:
  Recogniser(ConfigSet& set, EnvoyFilter& ef)
      : set_(set), ef_(ef), reporter_(set.diagnostics, ef.meta) {}

  void run() {
    const std::string filter_name = ef_.meta.ns + "/" + ef_.meta.name;
    size_t recognised = 0;
    std::vector<size_t> unrecognised;
    for (size_t i = 0; i < ef_.config_patches.size(); ++i) {
      const auto& p = ef_.config_patches[i];
      const std::string path = fmt::format("spec.configPatches[{}]", i);
      if (!basicRules(p, path)) continue;
      switch (recognise(p, path, filter_name)) {
        case Outcome::kRecognised:
          ++recognised;
          break;
        case Outcome::kNotRecognised:
          unrecognised.push_back(i);
          break;
        case Outcome::kInvalid:
          break;
      }
    }
    ef_.recognised = recognised > 0;
    if (ef_.config_patches.empty()) {
      error({}, "spec.configPatches", "Envoy filter: no configPatches");
    }
    if (!ef_.recognised) {
      if (!unrecognised.empty() || ef_.config_patches.empty()) {
        warn({}, "spec",
             "EnvoyFilter not applied: Sluice only recognises the reverse-DNS filter "
             "(com.aliyun.reverse_dns with pod_cidrs) and registry interception: a Lua filter "
             "rewriting the instance lists of Nacos (/nacos/v1/ns/instance/list), Eureka "
             "(/eureka/apps) or Consul (/v1/health/service/, /v1/catalog/service/), or "
             "sluice.registry_interception with typed_config.value.registry");
      }
      return;
    }
    for (size_t i : unrecognised) {
      warn(ef_.config_patches[i].pos, fmt::format("spec.configPatches[{}]", i),
           "patch not applied: not a reverse-DNS or registry-interception filter");
    }
  }

 private:
  enum class Outcome { kRecognised, kNotRecognised, kInvalid };

  void error(const Position& pos, std::string path, std::string message) {
    reporter_.error(pos, std::move(path), std::move(message));
  }
  void warn(const Position& pos, std::string path, std::string message) {
    reporter_.warn(pos, std::move(path), std::move(message));
  }

  bool basicRules(const EnvoyFilterPatch& p, const std::string& path) {
    static const std::set<std::string> kApplyTo = {"LISTENER",
                                                   "FILTER_CHAIN",
                                                   "NETWORK_FILTER",
                                                   "HTTP_FILTER",
                                                   "ROUTE_CONFIGURATION",
                                                   "VIRTUAL_HOST",
                                                   "HTTP_ROUTE",
                                                   "CLUSTER",
                                                   "EXTENSION_CONFIG",
                                                   "BOOTSTRAP",
                                                   "LISTENER_FILTER"};
    static const std::set<std::string> kOperations = {
        "MERGE",        "ADD",          "REMOVE",  "INSERT_BEFORE",
        "INSERT_AFTER", "INSERT_FIRST", "REPLACE", "MERGE_AND_REPLACE_LIST"};
    bool ok = true;
    if (p.apply_to.empty()) {
      error(p.pos, path + ".applyTo", "Envoy filter: missing applyTo");
      ok = false;
    } else if (!kApplyTo.count(p.apply_to)) {
      error(p.pos, path + ".applyTo",
            fmt::format("Envoy filter: invalid applyTo \"{}\"", p.apply_to));
      ok = false;
    }
    if (p.patch.is_null()) {
      error(p.pos, path + ".patch", "Envoy filter: missing patch");
      return false;
    }
    if (!p.patch.is_object()) {
      error(p.pos, path + ".patch", "Envoy filter: patch must be an object");
      return false;
    }
    const std::string op = stringAt(p.patch, {"operation"});
    if (op.empty()) {
      error(p.pos, path + ".patch.operation", "Envoy filter: missing patch operation");
      ok = false;
    } else if (!kOperations.count(op)) {
      error(p.pos, path + ".patch.operation",
            fmt::format("Envoy filter: invalid patch operation \"{}\"", op));
      ok = false;
    } else if (op != "REMOVE" && at(p.patch, {"value"}) == nullptr) {
      error(p.pos, path + ".patch.value",
            "Envoy filter: missing patch value for non-remove operation");
      ok = false;
    }
    if (!p.match.is_null() && !p.match.is_object()) {
      error(p.pos, path + ".match", "Envoy filter: match must be an object");
      ok = false;
    }
    return ok;
  }

  // match.listener.portNumber, if any. Sets `bad` when present but invalid.
  std::optional<uint16_t> listenerPort(const EnvoyFilterPatch& p, const std::string& path,
                                       bool& bad) {
    const json* v = at(p.match, {"listener", "portNumber"});
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (v->is_number_integer()) {
      auto n = v->get<int64_t>();
      if (n >= 1 && n <= 65535) return static_cast<uint16_t>(n);
    }
    error(p.pos, path + ".match.listener.portNumber",
          fmt::format("port number {} must be in the range 1..65535", v->dump()));
    bad = true;
    return std::nullopt;
  }

  // An HTTP filter inserted on the outbound side, or (`network`) a network filter there: how a
  // registry spoken over its own TCP protocol (ZooKeeper) is declared in Envoy's terms.
  bool outboundFilter(const EnvoyFilterPatch& p, bool network) {
    if (p.apply_to != (network ? "NETWORK_FILTER" : "HTTP_FILTER")) return false;
    const std::string context = stringAt(p.match, {"context"});
    if (!context.empty() && context != "SIDECAR_OUTBOUND" && context != "ANY") return false;
    const std::string op = stringAt(p.patch, {"operation"});
    return op == "INSERT_BEFORE" || op == "INSERT_AFTER" || op == "INSERT_FIRST" || op == "ADD";
  }

  // One recogniser per shape, tried in order on outbound HTTP filter patches (and network filter
  // patches, for shapes that say so) whose filter name (patch.value.name) it claims; the first
  // that does not answer kNotRecognised decides. A new shape is one line here and one member
  // function.
  struct Shape {
    std::array<std::string_view, 2> filter_names;  // unused slots empty
    Outcome (Recogniser::*recognise)(const EnvoyFilterPatch&, const std::string& path,
                                     const std::string& filter_name);
    bool network_filter = false;  // also recognised as an outbound NETWORK_FILTER patch
  };
  static std::span<const Shape> shapes() {
    static const Shape kShapes[] = {
        {{"com.aliyun.reverse_dns"}, &Recogniser::reverseDns},
        {{"envoy.lua", "envoy.filters.http.lua"}, &Recogniser::registryLua},
        {{"sluice.registry_interception"}, &Recogniser::nativeInterception, true},
    };
    return kShapes;
  }

  Outcome recognise(const EnvoyFilterPatch& p, const std::string& path,
                    const std::string& filter_name) {
    const bool network = outboundFilter(p, true);
    if (!network && !outboundFilter(p, false)) return Outcome::kNotRecognised;
    const std::string name = stringAt(p.patch, {"value", "name"});
    for (const Shape& shape : shapes()) {
      if (network && !shape.network_filter) continue;
      const bool claimed = std::any_of(shape.filter_names.begin(), shape.filter_names.end(),
                                       [&](std::string_view n) { return !n.empty() && n == name; });
      if (!claimed) continue;
      Outcome outcome = (this->*shape.recognise)(p, path, filter_name);
      if (outcome != Outcome::kNotRecognised) return outcome;
    }
    return Outcome::kNotRecognised;
  }

  Outcome reverseDns(const EnvoyFilterPatch& p, const std::string& path,
                     const std::string& filter_name) {
    const json* cidrs = at(p.patch, {"value", "typed_config", "value", "pod_cidrs"});
    if (cidrs == nullptr) return Outcome::kNotRecognised;
    const std::string cidr_path = path + ".patch.value.typed_config.value.pod_cidrs";
    if (!cidrs->is_array() || cidrs->empty()) {
      error(p.pos, cidr_path, "pod_cidrs must be a non-empty list of CIDR blocks");
      return Outcome::kInvalid;
    }
    ReverseDnsSetting setting;
    bool bad = false;
    for (size_t i = 0; i < cidrs->size(); ++i) {
      const json& c = (*cidrs)[i];
      auto parsed = c.is_string() ? net::Cidr::parse(c.get<std::string>())
                                  : Result<net::Cidr>(invalidArgument("not a string"));
      if (!parsed) {
        error(p.pos, fmt::format("{}[{}]", cidr_path, i),
              fmt::format("{} is not a valid CIDR block",
                          c.is_string() ? c.get<std::string>() : c.dump()));
        bad = true;
        continue;
      }
      setting.pod_cidrs.push_back(*parsed);
    }
    setting.port = listenerPort(p, path, bad);
    if (bad) return Outcome::kInvalid;
    setting.pos = p.pos;
    setting.filter_name = filter_name;
    set_.reverse_dns.push_back(std::move(setting));
    return Outcome::kRecognised;
  }

  // The Lua shape of method 2, per registry: the registry's instance-list path(s) the Lua
  // handles on the request side and the address fields it rewrites (string.gsub) on the response
  // side. Sluice does not run the Lua; the registry plug-in's rewriter does what it says, for
  // every instance-list path of that registry (envoy_filter.h). A new registry is one line here.
  struct LuaShape {
    std::string_view registry;
    std::array<std::string_view, 2> paths;  // any one of them; unused slots empty
    std::string_view rewrite_regex;         // the response-side gsub of the address field
    std::string_view fields;                // what that regex looks for, for messages
  };
  static std::span<const LuaShape> luaShapes() {
    static const LuaShape kShapes[] = {
        {"nacos", {"/nacos/v1/ns/instance/list"}, R"re(gsub\s*\([^\n]*ip\\?")re", "ip"},
        {"eureka", {"/eureka/apps"}, R"re(gsub\s*\([^\n]*(hostName|ipAddr))re", "hostName/ipAddr"},
        {"consul",
         {"/v1/health/service/", "/v1/catalog/service/"},
         R"re(gsub\s*\([^\n]*Address)re",
         "Address"},
    };
    return kShapes;
  }

  Outcome registryLua(const EnvoyFilterPatch& p, const std::string& path,
                      const std::string& filter_name) {
    std::string code_key = "inlineCode";
    std::string code = stringAt(p.patch, {"value", "typed_config", "inlineCode"});
    if (code.empty()) {
      code_key = "inline_code";
      code = stringAt(p.patch, {"value", "typed_config", "inline_code"});
    }
    const std::string code_path = path + ".patch.value.typed_config." + code_key;
    const LuaShape* found = nullptr;
    for (const LuaShape& shape : luaShapes()) {
      const bool handles =
          std::any_of(shape.paths.begin(), shape.paths.end(), [&](std::string_view want) {
            return !want.empty() && code.find(want) != std::string::npos;
          });
      if (!handles) continue;
      if (found != nullptr) {
        warn(p.pos, code_path,
             fmt::format("the Lua handles both {} and {} instance-list paths; only {} is "
                         "intercepted (write one EnvoyFilter patch per registry port)",
                         found->registry, shape.registry, found->registry));
        continue;
      }
      found = &shape;
    }
    if (found == nullptr) return Outcome::kNotRecognised;
    const re2::RE2 rewrites{std::string(found->rewrite_regex)};
    if (!re2::RE2::PartialMatch(code, rewrites)) {
      warn(p.pos, code_path,
           fmt::format("patch not applied: the Lua handles {} instance lists but its response side "
                       "rewrites no {} field (string.gsub); method 2 for {} needs both",
                       found->registry, found->fields, found->registry));
      return Outcome::kInvalid;
    }
    return addInterception(p, path, filter_name, std::string(found->registry), code_path);
  }

  // Sluice's own shape: `name: sluice.registry_interception` with
  // `typed_config.value.registry: NAME` (any registry plug-in with a rewriter; control checks the
  // name against the plug-in table).
  Outcome nativeInterception(const EnvoyFilterPatch& p, const std::string& path,
                             const std::string& filter_name) {
    const std::string field = path + ".patch.value.typed_config.value.registry";
    const json* registry = at(p.patch, {"value", "typed_config", "value", "registry"});
    if (registry == nullptr || !registry->is_string() || registry->get<std::string>().empty()) {
      error(p.pos, field,
            "sluice.registry_interception needs the registry's name (nacos, eureka, consul, "
            "zookeeper, ...)");
      return Outcome::kInvalid;
    }
    std::map<std::string, std::string> options;
    const std::string value_path = path + ".patch.value.typed_config.value";
    for (const auto& [key, option] : at(p.patch, {"value", "typed_config", "value"})->items()) {
      if (key == "registry") continue;
      if (!option.is_string()) {
        error(p.pos, value_path + "." + key, "an interception option is a string");
        return Outcome::kInvalid;
      }
      options[key] = option.get<std::string>();
    }
    Outcome outcome = addInterception(p, path, filter_name, registry->get<std::string>(), field);
    if (outcome == Outcome::kRecognised) {
      set_.registry_interception.back().options = std::move(options);
      set_.registry_interception.back().options_path = value_path;
    }
    return outcome;
  }

  Outcome addInterception(const EnvoyFilterPatch& p, const std::string& path,
                          const std::string& filter_name, std::string registry,
                          std::string field_path) {
    bool bad = false;
    RegistryInterceptionSetting setting;
    setting.port = listenerPort(p, path, bad);
    if (bad) return Outcome::kInvalid;
    setting.registry = std::move(registry);
    setting.pos = p.pos;
    setting.filter_name = filter_name;
    setting.field_path = std::move(field_path);
    set_.registry_interception.push_back(std::move(setting));
    return Outcome::kRecognised;
  }

  ConfigSet& set_;
  EnvoyFilter& ef_;
  DiagnosticReporter reporter_;
};

}  // namespace

void recogniseEnvoyFilters(ConfigSet& set) {
  for (auto& ef : set.envoy_filters) Recogniser(set, ef).run();
}

}  // namespace sluice::config
