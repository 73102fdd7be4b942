#pragma once
// EnvoyFilter recognisers. Sluice does not apply arbitrary Envoy patches; it recognises the two
// shapes the seed scenario uses and turns them into settings:
// - reverse DNS (method 1): an HTTP_FILTER patch whose value is named `com.aliyun.reverse_dns`
//   with `typed_config.value.pod_cidrs` (a non-empty list of CIDRs), optionally scoped to
//   `match.listener.portNumber` -> ReverseDnsSetting;
// - Nacos subscribe (method 2): an HTTP_FILTER patch adding a Lua filter (`envoy.lua` or
//   `envoy.filters.http.lua`) whose inlineCode handles `/nacos/v1/ns/instance/list` and rewrites
//   the `ip` fields of the response -> NacosRewriteSetting with the listener portNumber.
// Anything else (other filter names, Lua that does not touch instance/list, missing pod_cidrs)
// is not recognised: the filter gets a warning "not applied". A bad CIDR or port inside a
// recognised shape is an error naming the field path. The shapes are one table in
// envoy_filter.cc (Recogniser::shapes): filter names -> recogniser.

#include "config/model.h"

namespace sluice::config {

// Runs the recognisers and the basic EnvoyFilter rules on every EnvoyFilter in `set`, filling
// set.reverse_dns, set.nacos_rewrite and EnvoyFilter::recognised; appends diagnostics.
void recogniseEnvoyFilters(ConfigSet& set);

}  // namespace sluice::config
