#pragma once
// One Nacos gRPC client connection, the way nacos-client 2.x/3.x opens it: unary
// ServerCheckRequest, the bi-stream with ConnectionSetupRequest (abilityTable, so a 2.3+ server
// answers SetupAckRequest), then unary requests on the same HTTP/2 connection. Server requests on
// the stream (NotifySubscriberRequest pushes, ClientDetectionRequest, ConnectResetRequest,
// SetupAckRequest) are answered here; pushes are handed to the caller first.
// Used by the watcher (subscribe push) and by the embedded server's tests.
//
// Transport: one TCP connection (marked like every outbound socket of the sidecar,
// net/socket_mark.h) with HTTP/2 by nghttp2 (http/h2/session.h) and gRPC on top, written here
// rather than linked from grpc++ (which, with protobuf, was ~4.5 MiB of every idle sidecar,
// issue #15): 5-byte length-prefixed messages (no compression offered or accepted, 64 MiB limit),
// te: trailers, grpc-status / percent-encoded grpc-message from trailers or a trailers-only head,
// grpc-timeout sent and the deadline enforced here (the stream is reset with CANCEL when it
// passes: kTimeout), GOAWAY (refused streams fail kUnavailable naming it; no new call starts).
// Keep-alive pings from the server are answered by nghttp2.
//
// Threading: request() may be called from any thread (blocking, bounded by the timeout). The
// connection has an I/O thread (socket and session) and a reader thread; the push and close
// callbacks run on the reader thread, so they may block or call request(); the close callback
// runs once, when the stream ends for any reason other than close(). close() and the destructor
// join both threads: never call them from a callback.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/address.h"
#include "registry/nacos/grpc_codec.h"

namespace sluice::registry::nacos {

struct GrpcClientOptions {
  net::HostPort server;  // the gRPC address (HTTP port + 1000 on a real server)
  std::chrono::milliseconds timeout{3000};
  std::string client_version = "Nacos-Sluice-Watcher:v1";
  std::map<std::string, std::string> labels = {{"source", "sdk"}, {"module", "naming"}};
  // Send an abilityTable and wait (up to timeout) for the server's SetupAckRequest when its
  // ServerCheckResponse says supportAbilityNegotiation; false mimics a 2.2 client.
  bool negotiate_abilities = true;
};

class GrpcNamingConnection {
 public:
  // A server request from the stream; the answer (NotifySubscriberResponse, ...) is sent for it.
  using PushHandler = std::function<void(const GrpcMessage& request)>;
  using CloseHandler = std::function<void(const std::string& why)>;

  // Connects and sets up. Errors: kUnavailable/kTimeout when nothing answers ServerCheck (the
  // port serves no Nacos gRPC), kUnavailable when the server refuses the setup.
  static Result<std::unique_ptr<GrpcNamingConnection>> connect(GrpcClientOptions options,
                                                               PushHandler on_push,
                                                               CloseHandler on_close);
  ~GrpcNamingConnection();

  // One unary request; requestId, module and headers are filled in when missing. An
  // ErrorResponse or a failed resultCode becomes an error with its text (source kRegistry).
  Result<GrpcMessage> request(GrpcMessage message);
  // Sends a raw message on the stream (tests: garbage, unknown types).
  bool sendOnStream(const GrpcMessage& message);
  const std::string& connectionId() const;
  // Cancels the stream and closes the HTTP/2 connection (the server drops our instances).
  void close();

 private:
  struct Impl;
  explicit GrpcNamingConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One unary call on a fresh connection, e.g. to probe whether a port serves Nacos gRPC.
Result<GrpcMessage> grpcUnaryOnce(const net::HostPort& server, const GrpcMessage& message,
                                  std::chrono::milliseconds timeout);

}  // namespace sluice::registry::nacos
