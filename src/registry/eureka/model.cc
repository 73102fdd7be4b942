#include "registry/eureka/model.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/strings.h"

namespace sluice::registry::eureka {

namespace {

constexpr std::array<std::pair<InstanceStatus, const char*>, 5> kStatusNames = {{
    {InstanceStatus::kUp, "UP"},
    {InstanceStatus::kDown, "DOWN"},
    {InstanceStatus::kStarting, "STARTING"},
    {InstanceStatus::kOutOfService, "OUT_OF_SERVICE"},
    {InstanceStatus::kUnknown, "UNKNOWN"},
}};

constexpr std::array<std::pair<ActionType, const char*>, 3> kActionNames = {{
    {ActionType::kAdded, "ADDED"},
    {ActionType::kModified, "MODIFIED"},
    {ActionType::kDeleted, "DELETED"},
}};

}  // namespace

const char* toString(InstanceStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "UNKNOWN";
}

std::optional<InstanceStatus> parseInstanceStatus(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (equalsIgnoreCase(text, name)) return value;
  }
  return std::nullopt;
}

const char* toString(ActionType action) {
  for (const auto& [value, name] : kActionNames) {
    if (value == action) return name;
  }
  return "MODIFIED";
}

std::optional<ActionType> parseActionType(std::string_view text) {
  for (const auto& [value, name] : kActionNames) {
    if (equalsIgnoreCase(text, name)) return value;
  }
  return std::nullopt;
}

std::string appsHashCode(const std::vector<EurekaApplication>& applications) {
  std::map<std::string, int> counts;  // ordered by name, like the server's TreeMap
  for (const auto& app : applications) {
    for (const auto& inst : app.instances) ++counts[toString(inst.status)];
  }
  std::string hash;
  for (const auto& [status, count] : counts) {
    hash += status;
    hash += '_';
    hash += std::to_string(count);
    hash += '_';
  }
  return hash;
}

void applyDelta(std::vector<EurekaApplication>& applications, const EurekaApplications& delta) {
  for (const auto& changed_app : delta.applications) {
    for (const auto& inst : changed_app.instances) {
      std::string app_name = toLower(inst.app.empty() ? changed_app.name : inst.app);
      auto app =
          std::find_if(applications.begin(), applications.end(),
                       [&](const EurekaApplication& a) { return toLower(a.name) == app_name; });
      ActionType action = inst.action_type.value_or(ActionType::kModified);
      if (action == ActionType::kDeleted) {
        if (app == applications.end()) continue;
        std::erase_if(app->instances,
                      [&](const EurekaInstance& i) { return i.instance_id == inst.instance_id; });
        if (app->instances.empty()) applications.erase(app);
        continue;
      }
      if (app == applications.end()) {
        applications.push_back(
            EurekaApplication{inst.app.empty() ? changed_app.name : inst.app, {}});
        app = applications.end() - 1;
      }
      auto existing =
          std::find_if(app->instances.begin(), app->instances.end(),
                       [&](const EurekaInstance& i) { return i.instance_id == inst.instance_id; });
      if (existing == app->instances.end()) {
        app->instances.push_back(inst);
      } else {
        *existing = inst;
      }
    }
  }
}

void sortApplications(std::vector<EurekaApplication>& applications) {
  std::sort(applications.begin(), applications.end(),
            [](const EurekaApplication& a, const EurekaApplication& b) { return a.name < b.name; });
  for (auto& app : applications) {
    std::sort(app.instances.begin(), app.instances.end(),
              [](const EurekaInstance& a, const EurekaInstance& b) {
                return a.instance_id < b.instance_id;
              });
  }
}

}  // namespace sluice::registry::eureka
