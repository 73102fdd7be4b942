#pragma once
// A Nacos naming client speaking the HTTP Open API v1 the way nacos-client 1.x does (parameters
// in the query string, the beat JSON in a form body, light beats once the server allows them).
// Used by the watcher (read side) and by the demo applications (register, beat, look up).
//
// Threading: every call is a coroutine on the caller's executor; the object holds no mutable
// state, so concurrent calls are fine.

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/address.h"
#include "registry/nacos/naming_model.h"
#include "registry/registry.h"

namespace sluice::registry::nacos {

struct ClientOptions {
  net::HostPort server;
  std::string namespace_id{kDefaultNamespace};
  std::chrono::milliseconds timeout{3000};
  // The Java client's agent string; a real server answers it with grouped names.
  std::string user_agent = "Nacos-Java-Client:v1.4.2";
};

struct BeatReply {
  int code = 0;  // 10200 ok, 20404 unknown instance (register again)
  int64_t client_beat_interval_ms = 5000;
  bool light_beat_enabled = false;  // the next beats may leave the body out
};

class NamingClient {
 public:
  explicit NamingClient(ClientOptions options) : options_(std::move(options)) {}

  const ClientOptions& options() const { return options_; }
  // "nacos 127.0.0.1:8848 namespace public", for messages.
  std::string describe() const;

  // Errors (all of them): kUnavailable/kTimeout when the server cannot be reached (retryable),
  // kInvalidArgument with source kRegistry when it answers 4xx (message has its body),
  // kUnavailable for 5xx.
  asio::awaitable<Status> registerInstance(const std::string& service, const std::string& group,
                                           const NamingInstance& inst);
  asio::awaitable<Status> deregisterInstance(const std::string& service, const std::string& group,
                                             const NamingInstance& inst);
  // `light`: send no beat body (only after the server said lightBeatEnabled).
  asio::awaitable<Result<BeatReply>> sendBeat(const std::string& service, const std::string& group,
                                              const NamingInstance& inst, bool light);
  // The instances of one service (all clusters when `clusters` is empty). Disabled instances are
  // not listed by the server; the caller filters on health and weight.
  asio::awaitable<Result<Service>> listInstances(const std::string& service,
                                                 const std::string& group,
                                                 const std::string& clusters = "",
                                                 bool healthy_only = false);
  // Every service name (ungrouped) of `group`, fetching page after page (at most max_pages).
  asio::awaitable<Result<std::vector<std::string>>> listServices(const std::string& group,
                                                                 int page_size = 100,
                                                                 int max_pages = 1000);

 private:
  asio::awaitable<Result<std::string>> call(const std::string& method, const std::string& api,
                                            std::map<std::string, std::string> params,
                                            std::string form_body = "");
  ClientOptions options_;
};

// Parses an instance-list answer (either server generation's shape) into a Service.
Result<Service> parseInstanceList(const std::string& body, const std::string& namespace_id,
                                  const std::string& group, const std::string& service);

}  // namespace sluice::registry::nacos
