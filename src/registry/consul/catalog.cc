#include "registry/consul/catalog.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace sluice::registry::consul {

using nlohmann::json;

namespace {

tl::unexpected<Error> invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kDownstream, std::move(message));
}

// Go's encoding/json matches field names case-insensitively; Consul also accepts snake_case.
const json* field(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  std::string snake;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z' && !snake.empty()) snake += '_';
    snake += asciiLower(c);
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (equalsIgnoreCase(it.key(), name) || it.key() == snake) return &it.value();
  }
  return nullptr;
}

Result<std::string> stringField(const json& object, std::string_view name) {
  const json* v = field(object, name);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) {
    return invalid(
        fmt::format("Request decode failed: json: cannot unmarshal {} into field {} of "
                    "type string",
                    v->type_name(), name));
  }
  return v->get<std::string>();
}

Result<int64_t> durationField(const json& object, std::string_view name) {
  const json* v = field(object, name);
  if (v == nullptr || v->is_null()) return int64_t{0};
  if (v->is_number_integer()) return v->get<int64_t>() / 1'000'000;  // nanoseconds
  if (v->is_string()) {
    auto ms = parseGoDurationMs(v->get<std::string>());
    if (ms) return *ms;
    return invalid(fmt::format("Request decode failed: time: invalid duration \"{}\" in {}",
                               v->get<std::string>(), name));
  }
  return invalid(fmt::format("Request decode failed: {} must be a duration string", name));
}

Result<ConsulCheck> decodeCheck(const json& c, const std::string& service_id,
                                const std::string& service_name, size_t ordinal, size_t total) {
  if (!c.is_object()) return invalid("Request decode failed: a check must be a JSON object");
  ConsulCheck check;
  SLUICE_ASSIGN_OR_RETURN(check.id, stringField(c, "CheckID"));
  if (check.id.empty()) {
    SLUICE_ASSIGN_OR_RETURN(check.id, stringField(c, "ID"));
  }
  if (check.id.empty()) {
    check.id = "service:" + service_id;
    if (total > 1) check.id += ":" + std::to_string(ordinal + 1);
  }
  SLUICE_ASSIGN_OR_RETURN(check.name, stringField(c, "Name"));
  if (check.name.empty()) check.name = "Service '" + service_name + "' check";
  SLUICE_ASSIGN_OR_RETURN(check.notes, stringField(c, "Notes"));
  SLUICE_ASSIGN_OR_RETURN(std::string http, stringField(c, "HTTP"));
  SLUICE_ASSIGN_OR_RETURN(std::string tcp, stringField(c, "TCP"));
  SLUICE_ASSIGN_OR_RETURN(check.method, stringField(c, "Method"));
  SLUICE_ASSIGN_OR_RETURN(check.ttl_ms, durationField(c, "TTL"));
  SLUICE_ASSIGN_OR_RETURN(check.interval_ms, durationField(c, "Interval"));
  SLUICE_ASSIGN_OR_RETURN(check.timeout_ms, durationField(c, "Timeout"));
  SLUICE_ASSIGN_OR_RETURN(check.deregister_after_ms,
                          durationField(c, "DeregisterCriticalServiceAfter"));
  SLUICE_ASSIGN_OR_RETURN(std::string status, stringField(c, "Status"));
  if (!status.empty()) {
    if (status != "passing" && status != "warning" && status != "critical") {
      return invalid(
          fmt::format("Invalid check: Status '{}' is not passing, warning or critical", status));
    }
    check.status = status;
  }
  for (const char* unsupported : {"Args", "ScriptArgs", "GRPC", "DockerContainerID", "Shell",
                                  "H2PING", "AliasService", "AliasNode", "OSService"}) {
    const json* v = field(c, unsupported);
    if (v != nullptr && !v->is_null() && !(v->is_string() && v->get<std::string>().empty()) &&
        !(v->is_array() && v->empty())) {
      return invalid(
          fmt::format("Invalid check: {} checks are not supported by this agent "
                      "(use TTL, HTTP or TCP)",
                      unsupported));
    }
  }
  int kinds = (check.ttl_ms > 0) + !http.empty() + !tcp.empty();
  if (kinds > 1) return invalid("Invalid check: only one of TTL, HTTP or TCP may be set");
  if (!http.empty() || !tcp.empty()) {
    if (check.interval_ms <= 0) {
      return invalid("Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks");
    }
    check.kind = http.empty() ? CheckKind::kTcp : CheckKind::kHttp;
    check.target = http.empty() ? tcp : http;
    if (check.kind == CheckKind::kHttp && !startsWith(check.target, "http://")) {
      return invalid(
          fmt::format("Invalid check: HTTP check URL '{}' is not http:// (https is not "
                      "supported by this agent)",
                      check.target));
    }
  } else if (check.ttl_ms > 0) {
    check.kind = CheckKind::kTtl;
  } else {
    const json* ttl = field(c, "TTL");
    if (ttl != nullptr && !ttl->is_null()) {
      return invalid("Invalid check: TTL must be > 0 for TTL checks");
    }
    return invalid(
        "Invalid check: TTL must be > 0 for TTL checks (or give HTTP or TCP with an Interval)");
  }
  return check;
}

}  // namespace

std::optional<int64_t> parseGoDurationMs(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (auto ns = parseUint(text)) return static_cast<int64_t>(*ns / 1'000'000);
  if (text == "0") return 0;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i) return std::nullopt;
    double value = 0;
    try {
      value = std::stod(std::string(text.substr(start, i - start)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    size_t unit_start = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double factor = 0;
    if (unit == "ns")
      factor = 1e-6;
    else if (unit == "us" || unit == "µs")
      factor = 1e-3;
    else if (unit == "ms")
      factor = 1;
    else if (unit == "s")
      factor = 1e3;
    else if (unit == "m")
      factor = 60e3;
    else if (unit == "h")
      factor = 3600e3;
    else
      return std::nullopt;
    total_ms += value * factor;
  }
  // Go's durations are int64 nanoseconds: a longer one is invalid there too (and converting an
  // out-of-range double to int64 is undefined behaviour).
  constexpr double kMaxGoDurationMs = 9223372036854.775807;
  if (!(total_ms <= kMaxGoDurationMs)) return std::nullopt;
  return static_cast<int64_t>(total_ms);
}

ConsulCatalog::ConsulCatalog(std::function<int64_t()> now_ms) : now_ms_(std::move(now_ms)) {
  if (!now_ms_) {
    now_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

uint64_t ConsulCatalog::serviceIndex(const std::string& name) const {
  auto it = name_index_.find(name);
  return it == name_index_.end() ? catalog_index_ : it->second;
}

void ConsulCatalog::bump(const std::string& name, bool catalog_changed) {
  ++index_;
  name_index_[name] = index_;
  if (catalog_changed) catalog_index_ = index_;
}

Status ConsulCatalog::registerService(std::string_view json_body) {
  json body;
  try {
    body = json::parse(json_body);
  } catch (const json::exception& e) {
    return invalid(fmt::format("Request decode failed: {}", e.what()));
  }
  if (!body.is_object()) return invalid("Request decode failed: body must be a JSON object");
  ConsulService s;
  SLUICE_ASSIGN_OR_RETURN(s.name, stringField(body, "Name"));
  if (s.name.empty()) {
    SLUICE_ASSIGN_OR_RETURN(s.name, stringField(body, "Service"));
  }
  if (s.name.empty()) return invalid("Missing service name");
  SLUICE_ASSIGN_OR_RETURN(s.id, stringField(body, "ID"));
  if (s.id.empty()) s.id = s.name;
  SLUICE_ASSIGN_OR_RETURN(s.address, stringField(body, "Address"));
  if (const json* port = field(body, "Port"); port != nullptr && !port->is_null()) {
    if (!port->is_number_integer() || port->get<int64_t>() < 0 || port->get<int64_t>() > 65535) {
      return invalid(
          fmt::format("Request decode failed: Port {} is not a port number", port->dump()));
    }
    s.port = static_cast<uint16_t>(port->get<int64_t>());
  }
  if (const json* tags = field(body, "Tags"); tags != nullptr && !tags->is_null()) {
    if (!tags->is_array())
      return invalid("Request decode failed: Tags must be an array of strings");
    for (const auto& t : *tags) {
      if (!t.is_string()) return invalid("Request decode failed: Tags must be an array of strings");
      s.tags.push_back(t.get<std::string>());
    }
  }
  if (const json* meta = field(body, "Meta"); meta != nullptr && !meta->is_null()) {
    if (!meta->is_object()) return invalid("Request decode failed: Meta must be an object");
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (!it.value().is_string()) {
        return invalid(
            fmt::format("Invalid Service Meta: value of key '{}' is not a string", it.key()));
      }
      if (it.key().empty()) return invalid("Invalid Service Meta: Key cannot be blank");
      s.meta[it.key()] = it.value().get<std::string>();
    }
  }
  if (const json* eto = field(body, "EnableTagOverride"); eto != nullptr && eto->is_boolean()) {
    s.enable_tag_override = eto->get<bool>();
  }
  std::vector<const json*> check_specs;
  if (const json* c = field(body, "Check"); c != nullptr && !c->is_null()) check_specs.push_back(c);
  if (const json* cs = field(body, "Checks"); cs != nullptr && !cs->is_null()) {
    if (!cs->is_array()) return invalid("Request decode failed: Checks must be an array");
    for (const auto& c : *cs) check_specs.push_back(&c);
  }
  int64_t now = now_ms_();
  for (size_t i = 0; i < check_specs.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(ConsulCheck check,
                            decodeCheck(*check_specs[i], s.id, s.name, i, check_specs.size()));
    if (check.kind == CheckKind::kTtl) check.ttl_deadline_ms = now + check.ttl_ms;
    if (check.status == "critical") check.critical_since_ms = now;
    s.checks.push_back(std::move(check));
  }
  // Valid: apply. A re-registration keeps the create index and any maintenance mode.
  bool catalog_changed = true;
  if (auto old = services_.find(s.id); old != services_.end()) {
    s.create_index = old->second.create_index;
    s.maintenance = old->second.maintenance;
    s.maintenance_reason = old->second.maintenance_reason;
    catalog_changed = old->second.name != s.name || old->second.tags != s.tags;
    if (old->second.name != s.name) bump(old->second.name, true);
  }
  bump(s.name, catalog_changed);
  if (s.create_index == 0) s.create_index = index_;
  s.modify_index = index_;
  for (auto& check : s.checks) check.create_index = check.modify_index = index_;
  services_[s.id] = std::move(s);
  return ok();
}

bool ConsulCatalog::deregisterService(const std::string& id) {
  auto it = services_.find(id);
  if (it == services_.end()) return false;
  std::string name = it->second.name;
  services_.erase(it);
  bump(name, true);
  return true;
}

bool ConsulCatalog::setMaintenance(const std::string& id, bool enable, const std::string& reason) {
  auto it = services_.find(id);
  if (it == services_.end()) return false;
  if (it->second.maintenance == enable) return true;
  it->second.maintenance = enable;
  it->second.maintenance_reason = reason;
  bump(it->second.name, false);
  return true;
}

void ConsulCatalog::setStatus(ConsulCheck& check, const std::string& status,
                              const std::string& output, const std::string& service_name) {
  if (check.status == status && check.output == output) return;
  if (status == "critical" && check.status != "critical") check.critical_since_ms = now_ms_();
  if (status != "critical") check.critical_since_ms = 0;
  check.status = status;
  check.output = output;
  bump(service_name, false);
  check.modify_index = index_;
}

bool ConsulCatalog::updateCheck(const std::string& check_id, const std::string& status,
                                const std::string& output) {
  for (auto& [id, s] : services_) {
    for (auto& check : s.checks) {
      if (check.id != check_id) continue;
      if (check.kind == CheckKind::kTtl) check.ttl_deadline_ms = now_ms_() + check.ttl_ms;
      setStatus(check, status, output, s.name);
      return true;
    }
  }
  return false;
}

void ConsulCatalog::probeResult(const std::string& check_id, bool passing,
                                const std::string& output) {
  for (auto& [id, s] : services_) {
    for (auto& check : s.checks) {
      if (check.id == check_id) setStatus(check, passing ? "passing" : "critical", output, s.name);
    }
  }
}

bool ConsulCatalog::tick() {
  int64_t now = now_ms_();
  uint64_t before = index_;
  std::vector<std::string> reap;
  for (auto& [id, s] : services_) {
    for (auto& check : s.checks) {
      if (check.kind == CheckKind::kTtl && check.status != "critical" &&
          now >= check.ttl_deadline_ms) {
        setStatus(check, "critical", "TTL expired", s.name);
      }
      if (check.deregister_after_ms > 0 && check.status == "critical" &&
          check.critical_since_ms > 0 &&
          now - check.critical_since_ms >= check.deregister_after_ms) {
        reap.push_back(id);
      }
    }
  }
  for (const auto& id : reap) deregisterService(id);
  return index_ != before;
}

std::string ConsulCatalog::snapshot() const {
  json services = json::array();
  for (const auto& [id, s] : services_) {
    json checks = json::array();
    for (const auto& c : s.checks) {
      checks.push_back({{"id", c.id},
                        {"name", c.name},
                        {"notes", c.notes},
                        {"kind", static_cast<int>(c.kind)},
                        {"target", c.target},
                        {"method", c.method},
                        {"ttl_ms", c.ttl_ms},
                        {"interval_ms", c.interval_ms},
                        {"timeout_ms", c.timeout_ms},
                        {"deregister_after_ms", c.deregister_after_ms},
                        {"status", c.status},
                        {"output", c.output},
                        {"create_index", c.create_index},
                        {"modify_index", c.modify_index}});
    }
    services.push_back({{"id", s.id},
                        {"name", s.name},
                        {"tags", s.tags},
                        {"address", s.address},
                        {"port", s.port},
                        {"meta", s.meta},
                        {"enable_tag_override", s.enable_tag_override},
                        {"maintenance", s.maintenance},
                        {"maintenance_reason", s.maintenance_reason},
                        {"checks", checks},
                        {"create_index", s.create_index},
                        {"modify_index", s.modify_index}});
  }
  json names = json::object();
  for (const auto& [name, index] : name_index_) names[name] = index;
  return json{{"version", 1},
              {"index", index_},
              {"catalog_index", catalog_index_},
              {"name_index", names},
              {"services", services}}
      .dump();
}

Status ConsulCatalog::load(std::string_view text) {
  try {
    json j = json::parse(text);
    std::map<std::string, ConsulService> services;
    int64_t now = now_ms_();
    for (const auto& js : j.at("services")) {
      ConsulService s;
      s.id = js.at("id").get<std::string>();
      s.name = js.at("name").get<std::string>();
      s.tags = js.at("tags").get<std::vector<std::string>>();
      s.address = js.at("address").get<std::string>();
      s.port = js.at("port").get<uint16_t>();
      s.meta = js.at("meta").get<std::map<std::string, std::string>>();
      s.enable_tag_override = js.at("enable_tag_override").get<bool>();
      s.maintenance = js.at("maintenance").get<bool>();
      s.maintenance_reason = js.at("maintenance_reason").get<std::string>();
      s.create_index = js.at("create_index").get<uint64_t>();
      s.modify_index = js.at("modify_index").get<uint64_t>();
      for (const auto& jc : js.at("checks")) {
        ConsulCheck c;
        c.id = jc.at("id").get<std::string>();
        c.name = jc.at("name").get<std::string>();
        c.notes = jc.at("notes").get<std::string>();
        c.kind = static_cast<CheckKind>(jc.at("kind").get<int>());
        c.target = jc.at("target").get<std::string>();
        c.method = jc.at("method").get<std::string>();
        c.ttl_ms = jc.at("ttl_ms").get<int64_t>();
        c.interval_ms = jc.at("interval_ms").get<int64_t>();
        c.timeout_ms = jc.at("timeout_ms").get<int64_t>();
        c.deregister_after_ms = jc.at("deregister_after_ms").get<int64_t>();
        c.status = jc.at("status").get<std::string>();
        c.output = jc.at("output").get<std::string>();
        c.create_index = jc.at("create_index").get<uint64_t>();
        c.modify_index = jc.at("modify_index").get<uint64_t>();
        // Clocks do not survive a restart: TTLs and the critical timer start again from now.
        c.ttl_deadline_ms = now + c.ttl_ms;
        c.critical_since_ms = c.status == "critical" ? now : 0;
        s.checks.push_back(std::move(c));
      }
      services[s.id] = std::move(s);
    }
    name_index_ = j.at("name_index").get<std::map<std::string, uint64_t>>();
    index_ = std::max<uint64_t>(1, j.at("index").get<uint64_t>());
    catalog_index_ = std::max<uint64_t>(1, j.at("catalog_index").get<uint64_t>());
    services_ = std::move(services);
  } catch (const json::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                     fmt::format("Consul catalog snapshot is malformed: {}", e.what()));
  }
  return ok();
}

}  // namespace sluice::registry::consul
