#include "config/validate.h"

#include "config/validate/rules.h"

namespace sluice::config {

void validateResources(ConfigSet& set) {
  for (const auto& vs : set.virtual_services) validation::validateVirtualService(set, vs);
  for (const auto& dr : set.destination_rules) validation::validateDestinationRule(set, dr);
  for (const auto& gw : set.gateways) validation::validateGateway(set, gw);
  for (const auto& se : set.service_entries) validation::validateServiceEntry(set, se);
  for (const auto& we : set.workload_entries) validation::validateWorkloadEntry(set, we);
}

}  // namespace sluice::config
