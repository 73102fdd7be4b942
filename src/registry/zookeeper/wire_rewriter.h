#pragma once
// Method 2 for ZooKeeper: one client connection's byte streams, with the `address` of every
// Curator instance record the client reads (getData on <root>/<service>/<id>) replaced by the
// service name, so the application dials the service by name and the sidecar's routing decides.
// Everything else — the handshake, sessions, watches and their notifications, pings, writes,
// other reads — is forwarded byte for byte.
//
// Wire facts (/work/shared/research/registries.md §5.2): every frame is a 4-byte big-endian
// length and a jute record. The first frame each way is the handshake (ConnectRequest /
// ConnectResponse, no header). Then requests are RequestHeader{int xid; int type} + body and
// answers ReplyHeader{int xid; long zxid; int err} + body, answered in request order; a
// getData (type 4) request is {ustring path; bool watch}, its answer {buffer data; Stat stat}
// (Stat: 68 bytes, dataLength at offset 52). The rewrite re-encodes the data buffer and fixes the
// buffer length, Stat.dataLength and the frame length.
//
// Anything it cannot follow — a frame length out of range, a request header cut short, a request
// type ZooKeeper does not define, a getData answer that does not add up — switches the connection
// to plain relaying from that byte on (never a broken session): passthrough() turns true and stays
// true. A record that is not a Curator instance (not JSON, no string `address`) is forwarded
// unchanged.
//
// Applied by the sidecar's transparent TCP relay (net/stream_interception.h) on the ports of the
// interception rules that name `zookeeper`; streamInterception() is what control puts there.
// Frames nothing is rewritten in are forwarded without a copy when they arrive whole.
//
// Not thread-safe: one per connection, driven by the connection's relay.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/stream_interception.h"

namespace sluice::registry::zookeeper {

class WireRewriter final : public net::StreamRewriter {
 public:
  struct Options {
    std::string root = "/services";  // as ZooKeeperSource::root
    // Larger frames are not followed (ZooKeeper's own jute.maxbuffer default is 1 MiB).
    uint32_t max_frame_bytes = 16u << 20;
  };
  explicit WireRewriter(Options options);

  // Client -> server bytes, in order, as they arrive. Requests are never changed; they are read
  // to know which answers to rewrite.
  void fromClient(std::string_view bytes) override;
  // Server -> client bytes; returns what to forward now: whole frames (rewritten where they are
  // instance records), a partial frame held back until complete; in passthrough, `bytes` as is.
  // The result is `bytes` itself (or a prefix of it) when nothing was rewritten or held before.
  std::string_view fromServer(std::string_view bytes, std::string& scratch) override;
  // The same, as a copy (tests).
  std::string fromServer(std::string_view bytes);
  std::string flushServer() override;

  bool passthrough() const override { return passthrough_; }
  int rewritten() const override { return rewritten_; }  // instance records rewritten so far

  // The service name of an instance znode path under `root` ("" when `path` is not one).
  static std::string serviceOfInstancePath(std::string_view root, std::string_view path);
  // One instance record with `address` := `service`; nullopt-like empty string when `data` is not
  // a Curator instance record (then the caller forwards the original).
  static std::string rewriteRecord(std::string_view data, const std::string& service);

 private:
  void giveUp();
  // The rewritten frame (4-byte length included), or nullopt to forward `frame` unchanged.
  std::optional<std::string> rewriteAnswer(std::string_view frame);

  Options options_;
  bool passthrough_ = false;
  int rewritten_ = 0;

  std::string client_buf_;  // an incomplete client frame
  bool client_handshake_done_ = false;
  std::string server_buf_;  // an incomplete server frame (held back)
  bool server_handshake_done_ = false;
  std::map<int32_t, std::string> pending_;  // getData xid -> service name, until answered
};

// The zookeeper plug-in's method 2 (registry/plugin.h `stream_rewriter`): a WireRewriter with
// the default root per intercepted connection.
std::shared_ptr<const net::StreamInterception> streamInterception();

}  // namespace sluice::registry::zookeeper
