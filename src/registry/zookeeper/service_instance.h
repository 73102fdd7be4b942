#pragma once
// Decodes the data of one instance znode in Curator's service-discovery layout
// (<root>/<service>/<instance id>): the JSON of Curator's ServiceInstance as
// JsonInstanceSerializer writes it, e.g. what Spring Cloud Zookeeper registers:
//   {"name":"service-provider","id":"2f1b...","address":"10.0.0.11","port":8070,"sslPort":null,
//    "payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
//               "id":"service-provider","name":"service-provider",
//               "metadata":{"version":"v1","instance_status":"UP"}},
//    "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{...}}
//
// Mapping (what ZookeeperServiceInstance exposes to Spring's load balancer):
// - address -> Instance::ip (an IP or a host name, as registered);
// - port, or sslPort when port is absent or null;
// - payload.metadata (any payload class that has one) -> Instance::metadata, the endpoint's
//   labels; non-string scalar values are kept as their JSON text (8 -> "8", true -> "true");
// - "enabled": false (Curator's non-compatible mode) -> Instance::enabled = false;
// - metadata.instance_status other than UP (Spring's OUT_OF_SERVICE) -> healthy = false.
// Everything else (uriSpec, serviceType, registration time) is ignored.

#include <string_view>

#include "core/result.h"
#include "registry/registry.h"

namespace sluice::registry::zookeeper {

// Errors (not JSON, not an object, no usable address or port) say what is missing; the caller
// names the znode. Never throws.
Result<Instance> parseServiceInstance(std::string_view data);

}  // namespace sluice::registry::zookeeper
