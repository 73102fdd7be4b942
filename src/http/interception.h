#pragma once
// Registry interception (the seed's method 2), registry-neutral: a sidecar that sees its
// application fetch an instance list from a registry rewrites the answer so every instance's
// address becomes the service's mesh host. The application then calls the service by name and
// the sidecar's routing (VirtualService, DestinationRule) decides which instance answers.
//
// Each registry plug-in (src/registry/<name>/) implements this for its own wire format; control
// puts the rewriters into the snapshot's interception rules (listener port -> rewriter), and the
// proxy's registry-interception filter calls them. The proxy never sees which registry it is.
//
// Contract:
// - Threads: one instance is shared by every worker thread at once; all methods are const and
//   must not touch mutable state (no locks on the request path).
// - Errors: rewriteResponseBody returns an error when the body is not what it rewrites (another
//   API's answer, a registry error page); the filter then forwards the original body unchanged and
//   logs the message. Nothing here throws.
// - The filter only calls rewriteResponseBody for a 200 answer with identity content-encoding
//   whose whole body fit in maxBodyBytes(); a larger body is a 502 (a truncated list would be
//   worse than none).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace sluice::http {

struct RewrittenBody {
  std::string body;
  std::string service;  // the service the list was for, for logs
  int addresses_rewritten = 0;
};

class InterceptionRewriter {
 public:
  virtual ~InterceptionRewriter() = default;

  // The registry's name ("nacos"), for logs, metrics and /config_dump.
  virtual std::string_view registry() const = 0;

  // True when `request` (sent to an intercepted port) asks for something this rewriter rewrites,
  // e.g. Nacos: GET|POST /nacos/v1/ns/instance/list. Other requests pass untouched.
  virtual bool appliesTo(const RequestHead& request) const = 0;

  // Adjusts the upstream request of an intercepted exchange in place: what the registry must not
  // do for a rewritten list to stay true (Nacos: udpPort=0, so no UDP push overwrites it) and an
  // uncompressed body (drop accept-encoding). `request.target` is origin-form here.
  virtual void prepareRequest(RequestHead& request) const = 0;

  // The largest response body buffered for rewriting.
  virtual size_t maxBodyBytes() const = 0;

  // The response body with every instance address replaced by its service's mesh host (the
  // service name); ports, health, weights and metadata kept.
  virtual Result<RewrittenBody> rewriteResponseBody(const RequestHead& request,
                                                    const ResponseHead& response,
                                                    std::string_view body) const = 0;
};

// Method 2 for a registry's gRPC API (Nacos 2.x/3.x clients): the sidecar terminates the
// application's HTTP/2 connection to the registry's gRPC port, re-originates it on one upstream
// connection of its own (the registry identifies a client by its transport), and hands every
// gRPC message the registry sends (unary answers and pushes on a bi-directional stream) to this
// rewriter, one message at a time, without its 5-byte length prefix. Messages the rewriter leaves
// alone, and everything the application sends, travel byte for byte.
//
// Contract: shared by every worker thread, const, stateless, never throws (as above).
class GrpcInterceptionRewriter {
 public:
  virtual ~GrpcInterceptionRewriter() = default;

  virtual std::string_view registry() const = 0;

  // The gRPC port that belongs to an interception rule's (HTTP) port; `http_port` nullopt (a rule
  // for every port) means the registry's default port. Nacos: HTTP port + 1000.
  virtual uint16_t grpcPort(std::optional<uint16_t> http_port) const = 0;

  // True for the calls whose server messages may carry instance addresses (by `:path`).
  virtual bool appliesTo(std::string_view path) const = 0;

  // One message from the registry on a call appliesTo accepted. nullopt: pass the original bytes
  // (not a message that carries addresses, or one this rewriter cannot read); otherwise the new
  // message and what was rewritten.
  virtual std::optional<RewrittenBody> rewriteServerMessage(std::string_view message) const = 0;
};

}  // namespace sluice::http
