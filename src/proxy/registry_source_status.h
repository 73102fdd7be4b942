#pragma once
// The health of one registry source, as the admin endpoint shows it (/config_dump "registries",
// /clusters). Control copies it from registry::SourceStatus, so the data plane never includes
// registry/. A plain value; copied under the server's lock.

#include <cstdint>
#include <string>

namespace sluice::proxy {

struct RegistrySourceStatus {
  std::string source;  // the --registry URL, e.g. "nacos://127.0.0.1:8848"
  bool reachable = false;
  std::string last_error;
  int64_t last_success_unix_ms = 0;
};

}  // namespace sluice::proxy
