#pragma once
// Method 2 over a registry's gRPC API (Nacos 2.x/3.x clients): the transparent listener hands
// over an application's HTTP/2 (prior knowledge) connection to a port an interception rule's
// registry serves gRPC on (snapshot grpcInterceptionFor; Nacos: 8848 + 1000). Here it is
// terminated and re-originated, stream for stream, on ONE upstream HTTP/2 connection of its own to
// the original destination: the registry identifies its client by the transport (Nacos binds the
// connection id to it, and its unary calls must arrive on the connection that opened the
// bi-directional stream), so connections are never pooled or shared.
//
// Every DATA byte the application sends, every head and trailer, and every server message the
// rewriter leaves alone travel unchanged; a server message of a call the rewriter appliesTo is
// reassembled from its 5-byte gRPC prefix, given to the rewriter, and sent on with a prefix of the
// new length (compressed messages pass unchanged). Streams are long-lived (pushes), so messages are
// rewritten one at a time as they arrive, never per call.
//
// Flow control: a side's window credit is given back when the other side's queue for that stream
// is below kMaxQueuedBytes, so a slow reader slows its writer instead of filling memory.
// Never throws; runs on the connection's worker.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "http/interception.h"
#include "proxy/worker.h"

namespace sluice::proxy {

asio::awaitable<void> serveGrpcInterception(
    Worker& worker, asio::ip::tcp::socket downstream, std::string received,
    asio::ip::tcp::endpoint destination,
    std::shared_ptr<const http::GrpcInterceptionRewriter> rewriter);

}  // namespace sluice::proxy
