#include "registry/eureka/codec.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "registry/eureka/xml.h"

namespace sluice::registry::eureka {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

tl::unexpected<Error> malformed(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry, std::move(message));
}

// ---- field values, whatever the format ----

Result<int64_t> parseInteger(std::string_view field, std::string_view text) {
  std::string_view t = trim(text);
  bool negative = !t.empty() && t[0] == '-';
  auto value = parseUint(negative ? t.substr(1) : t, uint64_t{INT64_MAX});
  if (!value) return malformed(fmt::format("instance field '{}': '{}' is not a number", field, t));
  return negative ? -static_cast<int64_t>(*value) : static_cast<int64_t>(*value);
}

Result<bool> parseBool(std::string_view field, std::string_view text) {
  std::string_view t = trim(text);
  if (equalsIgnoreCase(t, "true")) return true;
  if (equalsIgnoreCase(t, "false")) return false;
  return malformed(fmt::format("instance field '{}': '{}' is not true/false", field, t));
}

Result<uint16_t> parsePort(std::string_view field, std::string_view text) {
  auto port = parseUint(trim(text), 65535);
  if (!port) return malformed(fmt::format("instance field '{}': '{}' is not a port", field, text));
  return static_cast<uint16_t>(*port);
}

// One scalar instance field: its wire name and how its text lands in the model. Written once for
// both formats.
struct ScalarField {
  const char* name;
  std::function<Status(EurekaInstance&, std::string_view)> set;
  std::function<std::string(const EurekaInstance&)> get;
};

template <typename Member>
ScalarField stringField(const char* name, Member member) {
  return {name,
          [member](EurekaInstance& i, std::string_view v) {
            i.*member = std::string(trim(v));
            return ok();
          },
          [member](const EurekaInstance& i) { return i.*member; }};
}

template <typename Member>
ScalarField timestampField(const char* name, Member member) {
  return {name,
          [name, member](EurekaInstance& i, std::string_view v) -> Status {
            SLUICE_ASSIGN_OR_RETURN(i.*member, parseInteger(name, v));
            return ok();
          },
          [member](const EurekaInstance& i) { return std::to_string(i.*member); }};
}

ScalarField statusField(const char* name, InstanceStatus EurekaInstance::*member) {
  return {name,
          [name, member](EurekaInstance& i, std::string_view v) -> Status {
            auto status = parseInstanceStatus(trim(v));
            if (!status) {
              return malformed(
                  fmt::format("instance field '{}': unknown status '{}' (UP, DOWN, "
                              "STARTING, OUT_OF_SERVICE, UNKNOWN)",
                              name, trim(v)));
            }
            i.*member = *status;
            return ok();
          },
          [member](const EurekaInstance& i) { return std::string(toString(i.*member)); }};
}

const std::vector<ScalarField>& scalarFields() {
  static const std::vector<ScalarField> fields = [] {
    std::vector<ScalarField> f;
    f.push_back(stringField("instanceId", &EurekaInstance::instance_id));
    f.push_back(stringField("hostName", &EurekaInstance::host_name));
    f.push_back(stringField("app", &EurekaInstance::app));
    f.push_back(stringField("appGroupName", &EurekaInstance::app_group_name));
    f.push_back(stringField("ipAddr", &EurekaInstance::ip_addr));
    f.push_back(statusField("status", &EurekaInstance::status));
    f.push_back(statusField("overriddenStatus", &EurekaInstance::overridden_status));
    f.push_back({"countryId",
                 [](EurekaInstance& i, std::string_view v) -> Status {
                   SLUICE_ASSIGN_OR_RETURN(int64_t id, parseInteger("countryId", v));
                   i.country_id = static_cast<int>(id);
                   return ok();
                 },
                 [](const EurekaInstance& i) { return std::to_string(i.country_id); }});
    f.push_back(stringField("homePageUrl", &EurekaInstance::home_page_url));
    f.push_back(stringField("statusPageUrl", &EurekaInstance::status_page_url));
    f.push_back(stringField("healthCheckUrl", &EurekaInstance::health_check_url));
    f.push_back(stringField("secureHealthCheckUrl", &EurekaInstance::secure_health_check_url));
    f.push_back(stringField("vipAddress", &EurekaInstance::vip_address));
    f.push_back(stringField("secureVipAddress", &EurekaInstance::secure_vip_address));
    f.push_back({"isCoordinatingDiscoveryServer",
                 [](EurekaInstance& i, std::string_view v) -> Status {
                   SLUICE_ASSIGN_OR_RETURN(i.is_coordinating_discovery_server,
                                           parseBool("isCoordinatingDiscoveryServer", v));
                   return ok();
                 },
                 [](const EurekaInstance& i) {
                   return std::string(i.is_coordinating_discovery_server ? "true" : "false");
                 }});
    f.push_back(timestampField("lastUpdatedTimestamp", &EurekaInstance::last_updated_timestamp));
    f.push_back(timestampField("lastDirtyTimestamp", &EurekaInstance::last_dirty_timestamp));
    f.push_back({"actionType",
                 [](EurekaInstance& i, std::string_view v) -> Status {
                   if (trim(v).empty()) return ok();
                   auto action = parseActionType(trim(v));
                   if (!action) {
                     return malformed(fmt::format(
                         "instance field 'actionType': unknown action '{}' (ADDED, MODIFIED, "
                         "DELETED)",
                         trim(v)));
                   }
                   i.action_type = *action;
                   return ok();
                 },
                 [](const EurekaInstance& i) {
                   return i.action_type ? std::string(toString(*i.action_type)) : std::string();
                 }});
    return f;
  }();
  return fields;
}

struct LeaseField {
  const char* name;
  int64_t (*get)(const LeaseInfo&);
  void (*set)(LeaseInfo&, int64_t);
};

constexpr LeaseField kLeaseFields[] = {
    {"renewalIntervalInSecs", [](const LeaseInfo& l) { return int64_t{l.renewal_interval_secs}; },
     [](LeaseInfo& l, int64_t v) { l.renewal_interval_secs = static_cast<int>(v); }},
    {"durationInSecs", [](const LeaseInfo& l) { return int64_t{l.duration_secs}; },
     [](LeaseInfo& l, int64_t v) { l.duration_secs = static_cast<int>(v); }},
    {"registrationTimestamp", [](const LeaseInfo& l) { return l.registration_timestamp; },
     [](LeaseInfo& l, int64_t v) { l.registration_timestamp = v; }},
    {"lastRenewalTimestamp", [](const LeaseInfo& l) { return l.last_renewal_timestamp; },
     [](LeaseInfo& l, int64_t v) { l.last_renewal_timestamp = v; }},
    {"evictionTimestamp", [](const LeaseInfo& l) { return l.eviction_timestamp; },
     [](LeaseInfo& l, int64_t v) { l.eviction_timestamp = v; }},
    {"serviceUpTimestamp", [](const LeaseInfo& l) { return l.service_up_timestamp; },
     [](LeaseInfo& l, int64_t v) { l.service_up_timestamp = v; }},
};

// After decoding: the rules every instance must satisfy whatever the format.
Status finishInstance(EurekaInstance& inst) {
  // Eureka falls back to the host name as id (DataCenterInfo "MyOwn" instances, eureka-js-client).
  if (inst.instance_id.empty()) inst.instance_id = inst.host_name;
  if (inst.instance_id.empty()) return malformed("instance without instanceId or hostName");
  return ok();
}

// ---- JSON ----

// A scalar as text: strings as they are, numbers and booleans printed; nullopt for null/absent.
std::optional<std::string> jsonText(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return std::string(it->get<bool>() ? "true" : "false");
  if (it->is_number_integer() || it->is_number_unsigned())
    return std::to_string(it->get<int64_t>());
  if (it->is_number_float()) return fmt::format("{}", it->get<double>());
  return std::string(it->dump());
}

// A scalar outside the instance fields (application name, data center name, the versions and
// hash code), trimmed as XML's Element::childText trims it, so both formats read the same.
std::string jsonTrimmedText(const Json& object, const char* key) {
  return std::string(trim(jsonText(object, key).value_or("")));
}

Status decodePortJson(const Json& object, const char* key, uint16_t& port, bool& enabled) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return ok();
  if (it->is_object()) {
    auto value = jsonText(*it, "$");
    if (!value) return malformed(fmt::format("instance field '{}': no '$' value", key));
    SLUICE_ASSIGN_OR_RETURN(port, parsePort(key, *value));
    if (auto on = jsonText(*it, "@enabled")) {
      SLUICE_ASSIGN_OR_RETURN(enabled, parseBool(key, *on));
    }
    return ok();
  }
  auto value = jsonText(object, key);
  SLUICE_ASSIGN_OR_RETURN(port, parsePort(key, value.value_or("")));
  return ok();
}

Result<EurekaInstance> decodeInstanceJson(const Json& object) {
  if (!object.is_object()) return malformed("instance is not a JSON object");
  EurekaInstance inst;
  for (const auto& field : scalarFields()) {
    auto text = jsonText(object, field.name);
    // Older servers and clients spell it in lower case.
    if (!text && std::string_view(field.name) == "overriddenStatus") {
      text = jsonText(object, "overriddenstatus");
    }
    if (text) SLUICE_RETURN_IF_ERROR(field.set(inst, *text));
  }
  SLUICE_RETURN_IF_ERROR(decodePortJson(object, "port", inst.port, inst.port_enabled));
  SLUICE_RETURN_IF_ERROR(
      decodePortJson(object, "securePort", inst.secure_port, inst.secure_port_enabled));
  if (auto dc = object.find("dataCenterInfo"); dc != object.end() && dc->is_object()) {
    inst.data_center_class = jsonText(*dc, "@class").value_or("");
    inst.data_center_name = jsonTrimmedText(*dc, "name");
  } else {
    inst.data_center_class.clear();
    inst.data_center_name.clear();
  }
  if (auto lease = object.find("leaseInfo"); lease != object.end() && lease->is_object()) {
    for (const auto& field : kLeaseFields) {
      if (auto text = jsonText(*lease, field.name)) {
        SLUICE_ASSIGN_OR_RETURN(int64_t v, parseInteger(field.name, *text));
        field.set(inst.lease, v);
      }
    }
  }
  if (auto meta = object.find("metadata"); meta != object.end() && !meta->is_null()) {
    if (!meta->is_object()) return malformed("instance field 'metadata' is not an object");
    for (const auto& [key, value] : meta->items()) {
      if (key == "@class") continue;
      auto text = jsonText(*meta, key.c_str());
      if (text) inst.metadata[key] = *text;
    }
  }
  SLUICE_RETURN_IF_ERROR(finishInstance(inst));
  return inst;
}

// Elements written singly as an object or as an array (older XML-to-JSON servers do both).
std::vector<const Json*> arrayOrObject(const Json& object, const char* key) {
  std::vector<const Json*> out;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return out;
  if (it->is_array()) {
    for (const auto& e : *it) out.push_back(&e);
  } else {
    out.push_back(&*it);
  }
  return out;
}

Result<EurekaApplication> decodeApplicationJson(const Json& object) {
  if (!object.is_object()) return malformed("application is not a JSON object");
  EurekaApplication app;
  app.name = jsonTrimmedText(object, "name");
  if (app.name.empty()) return malformed("application without a name");
  for (const Json* inst : arrayOrObject(object, "instance")) {
    auto decoded = decodeInstanceJson(*inst);
    if (!decoded) {
      return malformed(fmt::format("application {}: {}", app.name, decoded.error().message));
    }
    if (decoded->app.empty()) decoded->app = app.name;
    app.instances.push_back(std::move(*decoded));
  }
  return app;
}

Result<EurekaApplications> decodeApplicationsJson(std::string_view body) {
  Json doc = Json::parse(body);
  auto root = doc.is_object() ? doc.find("applications") : doc.end();
  if (!doc.is_object() || root == doc.end() || !root->is_object()) {
    return malformed("registry answer has no \"applications\" object");
  }
  EurekaApplications apps;
  apps.versions_delta = jsonTrimmedText(*root, "versions__delta");
  apps.apps_hashcode = jsonTrimmedText(*root, "apps__hashcode");
  for (const Json* app : arrayOrObject(*root, "application")) {
    SLUICE_ASSIGN_OR_RETURN(EurekaApplication decoded, decodeApplicationJson(*app));
    apps.applications.push_back(std::move(decoded));
  }
  return apps;
}

OrderedJson portJson(uint16_t port, bool enabled) {
  return OrderedJson{{"$", port}, {"@enabled", enabled ? "true" : "false"}};
}

OrderedJson instanceJson(const EurekaInstance& inst) {
  OrderedJson out = OrderedJson::object();
  // Netflix's field order; the scalar table holds them in that order, the structured fields go
  // where the Netflix serializer writes them.
  auto scalar = [&](const char* name) {
    for (const auto& field : scalarFields()) {
      if (std::string_view(field.name) == name) return field.get(inst);
    }
    return std::string();
  };
  for (const char* name :
       {"instanceId", "hostName", "app", "ipAddr", "status", "overriddenStatus"}) {
    out[name] = scalar(name);
  }
  if (!inst.app_group_name.empty()) out["appGroupName"] = inst.app_group_name;
  out["port"] = portJson(inst.port, inst.port_enabled);
  out["securePort"] = portJson(inst.secure_port, inst.secure_port_enabled);
  out["countryId"] = inst.country_id;
  out["dataCenterInfo"] =
      OrderedJson{{"@class", inst.data_center_class.empty() ? std::string(kDefaultDataCenterClass)
                                                            : inst.data_center_class},
                  {"name", inst.data_center_name}};
  OrderedJson lease = OrderedJson::object();
  for (const auto& field : kLeaseFields) lease[field.name] = field.get(inst.lease);
  out["leaseInfo"] = std::move(lease);
  OrderedJson meta = OrderedJson::object();
  if (inst.metadata.empty()) meta["@class"] = kEmptyMapClass;
  for (const auto& [key, value] : inst.metadata) meta[key] = value;
  out["metadata"] = std::move(meta);
  for (const char* name : {"homePageUrl", "statusPageUrl", "healthCheckUrl", "secureHealthCheckUrl",
                           "vipAddress", "secureVipAddress", "isCoordinatingDiscoveryServer",
                           "lastUpdatedTimestamp", "lastDirtyTimestamp", "actionType"}) {
    std::string value = scalar(name);
    if (value.empty() && (std::string_view(name) == "actionType" ||
                          std::string_view(name) == "secureHealthCheckUrl")) {
      continue;
    }
    out[name] = std::move(value);
  }
  return out;
}

OrderedJson applicationJson(const EurekaApplication& app) {
  OrderedJson instances = OrderedJson::array();
  for (const auto& inst : app.instances) instances.push_back(instanceJson(inst));
  return OrderedJson{{"name", app.name}, {"instance", std::move(instances)}};
}

// ---- XML ----

Status decodePortXml(const xml::Element& parent, const char* name, uint16_t& port, bool& enabled) {
  const xml::Element* el = parent.child(name);
  if (el == nullptr) return ok();
  SLUICE_ASSIGN_OR_RETURN(port, parsePort(name, el->text));
  if (const std::string* on = el->attribute("enabled")) {
    SLUICE_ASSIGN_OR_RETURN(enabled, parseBool(name, *on));
  }
  return ok();
}

Result<EurekaInstance> decodeInstanceXml(const xml::Element& el) {
  if (el.name != "instance") {
    return malformed(fmt::format("expected an <instance> element, got <{}>", el.name));
  }
  EurekaInstance inst;
  for (const auto& field : scalarFields()) {
    const xml::Element* c = el.child(field.name);
    if (c == nullptr && std::string_view(field.name) == "overriddenStatus") {
      c = el.child("overriddenstatus");
    }
    if (c != nullptr) SLUICE_RETURN_IF_ERROR(field.set(inst, c->text));
  }
  SLUICE_RETURN_IF_ERROR(decodePortXml(el, "port", inst.port, inst.port_enabled));
  SLUICE_RETURN_IF_ERROR(
      decodePortXml(el, "securePort", inst.secure_port, inst.secure_port_enabled));
  if (const xml::Element* dc = el.child("dataCenterInfo")) {
    const std::string* cls = dc->attribute("class");
    inst.data_center_class = cls ? *cls : std::string();
    inst.data_center_name = dc->childText("name");
  } else {
    inst.data_center_class.clear();
    inst.data_center_name.clear();
  }
  if (const xml::Element* lease = el.child("leaseInfo")) {
    for (const auto& field : kLeaseFields) {
      if (const xml::Element* c = lease->child(field.name)) {
        SLUICE_ASSIGN_OR_RETURN(int64_t v, parseInteger(field.name, c->text));
        field.set(inst.lease, v);
      }
    }
  }
  // Metadata values are kept as they are, as in JSON (a subset label must match exactly; a real
  // server writes each entry as a leaf, so no layout whitespace is inside one).
  if (const xml::Element* meta = el.child("metadata")) {
    for (const auto& entry : meta->children) inst.metadata[entry.name] = entry.text;
  }
  SLUICE_RETURN_IF_ERROR(finishInstance(inst));
  return inst;
}

Result<EurekaApplications> decodeApplicationsXml(std::string_view body) {
  SLUICE_ASSIGN_OR_RETURN(xml::Element root, xml::parse(body));
  if (root.name != "applications") {
    return malformed(fmt::format("registry answer's root is <{}>, not <applications>", root.name));
  }
  EurekaApplications apps;
  apps.versions_delta = root.childText("versions__delta");
  apps.apps_hashcode = root.childText("apps__hashcode");
  for (const auto& app_el : root.children) {
    if (app_el.name != "application") continue;
    EurekaApplication app;
    app.name = app_el.childText("name");
    if (app.name.empty()) return malformed("application without a name");
    for (const auto& inst_el : app_el.children) {
      if (inst_el.name != "instance") continue;
      auto decoded = decodeInstanceXml(inst_el);
      if (!decoded) {
        return malformed(fmt::format("application {}: {}", app.name, decoded.error().message));
      }
      if (decoded->app.empty()) decoded->app = app.name;
      app.instances.push_back(std::move(*decoded));
    }
    apps.applications.push_back(std::move(app));
  }
  return apps;
}

// Metadata keys become XML element names; one that is not a valid name cannot be written.
bool validXmlName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9') || name[0] == '-' || name[0] == '.') {
    return false;
  }
  for (char c : name) {
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.' || static_cast<unsigned char>(c) >= 0x80;
    if (!good) return false;
  }
  return true;
}

void textElement(std::string& out, std::string_view name, std::string_view value) {
  out += fmt::format("<{0}>{1}</{0}>", name, xml::escape(value));
}

void instanceXml(std::string& out, const EurekaInstance& inst) {
  auto scalar = [&](const char* name) {
    for (const auto& field : scalarFields()) {
      if (std::string_view(field.name) == name) {
        textElement(out, name, field.get(inst));
        return;
      }
    }
  };
  out += "<instance>";
  for (const char* name :
       {"instanceId", "hostName", "app", "ipAddr", "status", "overriddenStatus"}) {
    scalar(name);
  }
  if (!inst.app_group_name.empty()) textElement(out, "appGroupName", inst.app_group_name);
  out += fmt::format("<port enabled=\"{}\">{}</port>", inst.port_enabled ? "true" : "false",
                     inst.port);
  out += fmt::format("<securePort enabled=\"{}\">{}</securePort>",
                     inst.secure_port_enabled ? "true" : "false", inst.secure_port);
  textElement(out, "countryId", std::to_string(inst.country_id));
  out += fmt::format("<dataCenterInfo class=\"{}\">",
                     xml::escape(inst.data_center_class.empty() ? kDefaultDataCenterClass
                                                                : inst.data_center_class));
  textElement(out, "name", inst.data_center_name);
  out += "</dataCenterInfo><leaseInfo>";
  for (const auto& field : kLeaseFields) {
    textElement(out, field.name, std::to_string(field.get(inst.lease)));
  }
  out += "</leaseInfo>";
  // A key that is no XML name cannot be written (JSON allows it); XML readers do without it. With
  // none left, the metadata is written as the empty map it then is (as it reads back).
  bool any_writable = std::any_of(inst.metadata.begin(), inst.metadata.end(),
                                  [](const auto& entry) { return validXmlName(entry.first); });
  if (!any_writable) {
    out += fmt::format("<metadata class=\"{}\"/>", kEmptyMapClass);
  } else {
    out += "<metadata>";
    for (const auto& [key, value] : inst.metadata) {
      if (validXmlName(key)) textElement(out, key, value);
    }
    out += "</metadata>";
  }
  for (const char* name :
       {"homePageUrl", "statusPageUrl", "healthCheckUrl", "vipAddress", "secureVipAddress",
        "isCoordinatingDiscoveryServer", "lastUpdatedTimestamp", "lastDirtyTimestamp"}) {
    scalar(name);
  }
  if (!inst.secure_health_check_url.empty()) {
    textElement(out, "secureHealthCheckUrl", inst.secure_health_check_url);
  }
  if (inst.action_type) textElement(out, "actionType", toString(*inst.action_type));
  out += "</instance>";
}

void applicationXml(std::string& out, const EurekaApplication& app) {
  out += "<application>";
  textElement(out, "name", app.name);
  for (const auto& inst : app.instances) instanceXml(out, inst);
  out += "</application>";
}

template <typename Fn>
auto catchJson(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const nlohmann::json::exception& e) {
    return malformed(fmt::format("malformed JSON: {}", e.what()));
  }
}

}  // namespace

Format formatForAccept(std::string_view accept) {
  return toLower(accept).find("application/json") != std::string::npos ? Format::kJson
                                                                       : Format::kXml;
}

const char* contentType(Format format) {
  return format == Format::kJson ? "application/json" : "application/xml";
}

std::optional<Format> sniffFormat(std::string_view body) {
  size_t i = 0;
  if (body.starts_with("\xEF\xBB\xBF")) i = 3;
  while (i < body.size() &&
         (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
    ++i;
  }
  if (i == body.size()) return std::nullopt;
  if (body[i] == '{' || body[i] == '[') return Format::kJson;
  if (body[i] == '<') return Format::kXml;
  return std::nullopt;
}

Result<EurekaApplications> decodeApplications(std::string_view body) {
  auto format = sniffFormat(body);
  if (!format) return malformed("registry answer is neither JSON nor XML");
  if (*format == Format::kXml) return decodeApplicationsXml(body);
  return catchJson([&] { return decodeApplicationsJson(body); });
}

Result<EurekaInstance> decodeInstance(std::string_view body) {
  auto format = sniffFormat(body);
  if (!format) return malformed("instance is neither JSON nor XML");
  if (*format == Format::kXml) {
    SLUICE_ASSIGN_OR_RETURN(xml::Element root, xml::parse(body));
    return decodeInstanceXml(root);
  }
  return catchJson([&]() -> Result<EurekaInstance> {
    Json doc = Json::parse(body);
    if (!doc.is_object()) return malformed("instance is not a JSON object");
    auto wrapped = doc.find("instance");
    return decodeInstanceJson(wrapped != doc.end() && wrapped->is_object() ? *wrapped : doc);
  });
}

std::string encodeApplications(const EurekaApplications& apps, Format format) {
  if (format == Format::kJson) {
    OrderedJson list = OrderedJson::array();
    for (const auto& app : apps.applications) list.push_back(applicationJson(app));
    OrderedJson root{{"versions__delta", apps.versions_delta},
                     {"apps__hashcode", apps.apps_hashcode},
                     {"application", std::move(list)}};
    // XML registrations may carry bytes that are not UTF-8: replaced in JSON, never thrown about.
    return OrderedJson{{"applications", std::move(root)}}.dump(
        -1, ' ', false, OrderedJson::error_handler_t::replace);
  }
  std::string out = "<applications>";
  textElement(out, "versions__delta", apps.versions_delta);
  textElement(out, "apps__hashcode", apps.apps_hashcode);
  for (const auto& app : apps.applications) applicationXml(out, app);
  out += "</applications>";
  return out;
}

std::string encodeApplication(const EurekaApplication& app, Format format) {
  if (format == Format::kJson)
    return OrderedJson{{"application", applicationJson(app)}}.dump(
        -1, ' ', false, OrderedJson::error_handler_t::replace);
  std::string out;
  applicationXml(out, app);
  return out;
}

std::string encodeInstance(const EurekaInstance& instance, Format format) {
  if (format == Format::kJson)
    return OrderedJson{{"instance", instanceJson(instance)}}.dump(
        -1, ' ', false, OrderedJson::error_handler_t::replace);
  std::string out;
  instanceXml(out, instance);
  return out;
}

}  // namespace sluice::registry::eureka
