#pragma once
// Registry interception (method 2) for registries spoken over their own TCP protocol, not HTTP
// (ZooKeeper): the registry-neutral shape of http/interception.h for byte streams. A sidecar
// that relays its application's connection to an intercepted registry port hands both directions
// of that connection to a StreamRewriter, which rewrites the instance addresses in the server's
// answers to the service name and leaves every other byte as it is.
//
// Each registry plug-in with a TCP protocol implements this (src/registry/<name>/); control puts
// the StreamInterception into the snapshot's interception rule for the port, and the proxy's
// transparent TCP relay calls it. The proxy never sees which registry it is.
//
// Contract:
// - Threads: a StreamInterception is shared by every worker; start() is const and thread-safe.
//   A StreamRewriter belongs to one connection and is driven by that connection's relay on its
//   worker's thread only (both directions on the same thread: no locks).
// - Order: fromClient sees each client byte before it is forwarded to the server, so an answer
//   can always be matched with the request it answers.
// - Never a broken connection: a rewriter that meets anything it cannot follow (an unknown or
//   malformed frame) turns passthrough() true for good; from then on fromServer returns its
//   input (after whatever it still held back, unchanged). Nothing here throws.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::net {

class StreamRewriter {
 public:
  virtual ~StreamRewriter() = default;

  // Client -> server bytes, in order, before they are forwarded (always unchanged).
  virtual void fromClient(std::string_view bytes) = 0;

  // Server -> client bytes, in order; returns what to forward now: `bytes` itself when nothing
  // is changed or held back, else a view of `scratch` (an incomplete frame may be held back until
  // the rest arrives).
  virtual std::string_view fromServer(std::string_view bytes, std::string& scratch) = 0;

  // The server finished sending: whatever is still held back, to forward as it is.
  virtual std::string flushServer() = 0;

  // True once the rewriter stopped following the protocol (it never turns false again).
  virtual bool passthrough() const = 0;

  // Instance records rewritten so far.
  virtual int rewritten() const = 0;
};

class StreamInterception {
 public:
  virtual ~StreamInterception() = default;

  // The registry's name ("zookeeper"), for logs, metrics and /config_dump.
  virtual std::string_view registry() const = 0;

  // The state for one new connection to the intercepted port.
  virtual std::unique_ptr<StreamRewriter> start() const = 0;

  // Options of the interception filter (the EnvoyFilter's typed_config.value keys besides
  // `registry`: ZooKeeper's `root`, say), as this interception applies them.
  using Options = std::map<std::string, std::string>;
  virtual Options options() const { return {}; }

  // The same interception with `options`. Errors (kInvalidArgument) name an option it does not
  // know or a value it refuses; the default knows none.
  virtual Result<std::shared_ptr<const StreamInterception>> withOptions(
      const Options& options) const {
    std::string names;
    for (const auto& [name, value] : options) names += (names.empty() ? "'" : ", '") + name + "'";
    return invalidArgument("the {} interception takes no options ({} given)", registry(), names);
  }
};

}  // namespace sluice::net
