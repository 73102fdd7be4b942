#pragma once
// EnvoyFilter recognisers. Sluice does not apply arbitrary Envoy patches; it recognises the two
// shapes the seed scenario uses and turns them into settings:
// - reverse DNS (method 1): an HTTP_FILTER patch whose value is named `com.aliyun.reverse_dns`
//   with `typed_config.value.pod_cidrs` (a non-empty list of CIDRs), optionally scoped to
//   `match.listener.portNumber` -> ReverseDnsSetting;
// - registry interception (method 2) -> RegistryInterceptionSetting{registry, listener
//   portNumber}, in one of two spellings:
//   * the seed's Lua shape: an HTTP_FILTER patch adding a Lua filter (`envoy.lua` or
//     `envoy.filters.http.lua`) whose inlineCode handles the registry's instance-list path and
//     rewrites its address field with string.gsub: Nacos `/nacos/v1/ns/instance/list` + `ip`;
//     Eureka `/eureka/apps` + `hostName`/`ipAddr`; Consul `/v1/health/service/` or
//     `/v1/catalog/service/` + `Address`. The Lua is not run: the registry plug-in's rewriter
//     does what it says, for every instance-list path of that registry (Eureka: full and delta
//     apps; Consul: health and catalog). A Lua naming the path but rewriting nothing is a warning
//     naming inlineCode.
//   * Sluice's own: a patch value named `sluice.registry_interception` with
//     `typed_config.value.registry: NAME` (missing: an error naming the field; a name without a
//     rewriting plug-in: control warns, naming the field), as an HTTP_FILTER or, for a registry
//     spoken over its own TCP protocol (ZooKeeper), a NETWORK_FILTER patch (either is accepted
//     for any registry: the plug-in decides whether requests or connections are intercepted).
// Anything else (other filter names, Lua that touches no instance list, missing pod_cidrs)
// is not recognised: the filter gets a warning "not applied". A bad CIDR or port inside a
// recognised shape is an error naming the field path. The shapes are tables in envoy_filter.cc
// (Recogniser::shapes: filter names -> recogniser; Recogniser::luaShapes: registry -> paths).

#include "config/model.h"

namespace sluice::config {

// Runs the recognisers and the basic EnvoyFilter rules on every EnvoyFilter in `set`, filling
// set.reverse_dns, set.registry_interception and EnvoyFilter::recognised; appends diagnostics.
void recogniseEnvoyFilters(ConfigSet& set);

}  // namespace sluice::config
