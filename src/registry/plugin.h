#pragma once
// A registry plug-in: everything the rest of Sluice needs from one registry (Nacos, Eureka,
// Consul, ZooKeeper, ...), behind one value. Each plug-in lives in src/registry/<name>/ and is
// listed once in the table (registry/plugins.cc); control and the CLI only ever go through the
// table, so adding a registry touches its folder, one table line and its tests (README.md here
// is the recipe).
//
//   watcher       required: `--registry <name>://...` -> a Watcher (instances + metadata)
//   server        optional: `sluice registry --protocol <name>` -> an embedded server
//   rewriter      optional: method 2 over HTTP, the instance-list rewrite a sidecar applies
//   stream_rewriter  optional: method 2 over the registry's own TCP protocol (ZooKeeper)
//   grpc_rewriter optional: method 2 on the registry's gRPC API (Nacos 2.x/3.x)
//
// Threads: a Plugin is immutable and built once (function-local static); the factories may be
// called from any thread. Errors are Results naming what was wrong; nothing throws.

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/interception.h"
#include "net/address.h"
#include "net/stream_interception.h"
#include "registry/registry.h"

namespace sluice::registry {

// ---- embedded server (`sluice registry`) ----

// One protocol's server, running on the io_context it was made with (single thread).
class EmbeddedServer {
 public:
  virtual ~EmbeddedServer() = default;
  // Binds `listen` (port 0 picks one) and starts serving. Errors: the port cannot be bound, stored
  // state cannot be loaded (named).
  virtual Result<net::HostPort> start(const net::HostPort& listen) = 0;
  // Stops accepting; in-flight requests finish on the io_context.
  virtual void stop() = 0;
};

// A protocol-specific flag of `sluice registry`. Names are global to the command, so a plug-in
// prefixes its own with its name ("--eureka-renewal-ms"); nacos, the default protocol, keeps its
// historical unprefixed names. The table test checks that no two plug-ins share a name.
struct ServerFlag {
  std::string name;  // "--data-dir"
  std::string help;
  std::string default_value;  // what get() answers when the flag is not given; "" = unset
  // Set: the value must be an integer in [min, max] (the CLI checks before make() runs).
  std::optional<std::pair<int64_t, int64_t>> int_range;
};

// The values of one protocol's flags as given on the command line (defaults filled in).
class ServerFlagValues {
 public:
  ServerFlagValues() = default;
  explicit ServerFlagValues(std::map<std::string, std::string> values)
      : values_(std::move(values)) {}
  // The value of `name` ("--data-dir"); "" when neither given nor defaulted.
  std::string get(const std::string& name) const;
  // The integer value of an int_range flag; kInvalidArgument naming the flag otherwise.
  Result<int64_t> getInt(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
};

struct ServerPlugin {
  std::string description;     // one line for --help: "Nacos naming server (HTTP Open API v1)"
  std::string default_listen;  // "127.0.0.1:8848"
  std::vector<ServerFlag> flags;
  // Builds the server from its flags (not started yet). Errors: a flag value that makes no sense.
  std::function<Result<std::unique_ptr<EmbeddedServer>>(asio::io_context& io,
                                                        const ServerFlagValues& flags)>
      make;
};

// ---- the plug-in ----

struct Plugin {
  // The URL scheme of --registry and the --protocol name of `sluice registry` ("nacos").
  std::string name;
  // The URL syntax with its defaults, for --help and error messages:
  // "nacos://HOST:PORT[?namespace=NS&group=GROUP] (port 8848, namespace public, group
  // DEFAULT_GROUP)".
  std::string url_syntax;
  // Builds a self-threaded watcher from a URL of this scheme (not started yet). Errors
  // (kInvalidArgument) name the URL and what is wrong with it. Required.
  std::function<Result<std::unique_ptr<Watcher>>(const std::string& url)> make_watcher;
  // The embedded server; nullopt when the registry has none (ZooKeeper: run the real one).
  std::optional<ServerPlugin> server;
  // Method 2: the instance-list rewriter; null when the registry has none. Shared by every
  // worker (see http/interception.h).
  std::shared_ptr<const http::InterceptionRewriter> rewriter;
  // Method 2 for a registry spoken over its own TCP protocol: the per-connection rewriter of the
  // sidecar's TCP relay; null when the registry has none (see net/stream_interception.h).
  std::shared_ptr<const net::StreamInterception> stream_rewriter;
  // Method 2 for the registry's gRPC API (Nacos 2.x/3.x clients); null when it has none.
  std::shared_ptr<const http::GrpcInterceptionRewriter> grpc_rewriter;
};

}  // namespace sluice::registry
