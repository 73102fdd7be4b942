#pragma once
// HTTP/2 (RFC 9113) framing, HPACK, flow control and stream state for one connection, as a
// bytes-in / bytes-out codec with callbacks: the multiplexed counterpart of the HTTP/1.1
// ServerCodec (http/codec.h). One stream is one request; the caller (proxy/h2_*) runs each
// stream through the same request path as an HTTP/1.1 request.
//
// WHAT IS NGHTTP2 AND WHAT IS HAND-WRITTEN: framing, HPACK, the stream state machine, flow
// control windows, SETTINGS/PING/GOAWAY handling and RFC 9113 §8 message validation
// (pseudo-headers, connection-specific fields, uppercase names, TE, content-length vs DATA) are
// Debian's libnghttp2 (well kept, fuzzed upstream): a proxy must not guess there, and a
// hand-written HPACK is a classic source of bugs. Hand-written here: the mapping between
// nghttp2's name/value lists and our RequestHead / ResponseHead / Headers, the per-stream
// header-list size cap (answered with 431, RFC 9113 §10.5.1), the deferred-body bookkeeping for
// responses and requests we send, and when to give flow-control credit back (only once the
// caller says it has forwarded the bytes, so a slow peer on the other side closes the window).
//
// DRIVING IT (one Session per connection, on that connection's thread; nothing is shared, no
// locks, no I/O, never throws):
//   auto s = Session::server(settings, callbacks);     // or Session::client(...)
//   on bytes read:   Result<void> r = s->receive(bytes);  // callbacks fire from inside
//                    error -> the connection is done: flush s->takeOutput() (a GOAWAY) and close
//   after every receive and every submit: write s->takeOutput() (may be empty) to the socket
//   s->done(): nothing more to read or write (GOAWAY exchanged and streams finished) -> close
// Server role: callbacks.onRequestHead per new stream; answer with submitResponse, then
// sendData(..., end) / submitTrailers; resetStream to abort. Client role: submitRequest returns
// the new stream id; responses come through onResponseHead.
// Upgrade from HTTP/1.1 (h2c, http/h2/upgrade.h): right after creating the session, upgrade()
// opens stream 1 for the request the HTTP/1.1 exchange carried (server: the client's side is
// already ended, answer it with submitResponse(1, ...); client: its response comes as stream 1).
// Bodies: onData gives bytes of a stream; call consume(stream, n) once they are forwarded (the
// peer's window reopens). sendData queues bytes (copied) that go out as the peer's window allows;
// queuedBytes(stream) tells how much is still waiting, so a caller can stop reading its source.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace sluice::http::h2 {

// The HTTP/2 error codes (RFC 9113 §7) callers use.
enum class ErrorCode : uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kStreamClosed = 0x5,
  kFrameSizeError = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kEnhanceYourCalm = 0xb,
};

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Settings {
  uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS we announce
  // Largest header list (RFC 9113 §6.5.2: names + values + 32 per field) we accept per
  // HEADERS block; a request over it is answered 431 (server) / reset (client).
  uint32_t max_header_list_size = 64 * 1024;
  uint32_t max_frame_size = 16384;                // SETTINGS_MAX_FRAME_SIZE (16384..16777215)
  uint32_t initial_window_size = 256 * 1024;      // per stream, for what the peer sends us
  uint32_t connection_window_size = 1024 * 1024;  // the whole connection's receive window
};

class SessionCallbacks {
 public:
  virtual ~SessionCallbacks() = default;
  // Server role: a request head on a new stream. `head.version` is kHttp11 (what the rest of the
  // proxy speaks), scheme/authority/path come from the pseudo-headers, `target` = path, and
  // `head.headers` has the regular fields (lowercase names; a Host field is kept if sent).
  virtual void onRequestHead(int32_t /*stream*/, RequestHead& /*head*/, bool /*end_stream*/) {}
  // Client role: the final response head (1xx interim heads are dropped).
  virtual void onResponseHead(int32_t /*stream*/, ResponseHead& /*head*/, bool /*end_stream*/) {}
  virtual void onData(int32_t /*stream*/, std::string_view /*data*/) {}
  // A trailer section (it ends the stream; onEnd follows).
  virtual void onTrailers(int32_t /*stream*/, Headers& /*trailers*/) {}
  // The peer ended its side of the stream (END_STREAM).
  virtual void onEnd(int32_t /*stream*/) {}
  // The stream is closed (both sides ended, or reset by either side with `code`). Last callback
  // of a stream.
  virtual void onClose(int32_t /*stream*/, ErrorCode /*code*/) {}
  // The peer sent GOAWAY: streams above `last_stream` were not processed (client role: retry
  // them elsewhere); no new streams may be opened.
  virtual void onGoAway(int32_t /*last_stream*/, ErrorCode /*code*/) {}
  // Our side's queued body of `stream` shrank (it went out): a caller waiting to queue more can.
  virtual void onSendProgress(int32_t /*stream*/) {}
};

class Session {
 public:
  static std::unique_ptr<Session> server(const Settings& settings, SessionCallbacks& callbacks);
  static std::unique_ptr<Session> client(const Settings& settings, SessionCallbacks& callbacks);
  virtual ~Session() = default;

  // Feeds received bytes (any split). An error means a connection error: the session has queued
  // a GOAWAY with the HTTP/2 error code (flush takeOutput()) and is done; the message says what.
  virtual Result<void> receive(std::string_view bytes) = 0;
  // Appends what should be written to the socket now to `out`.
  virtual void takeOutput(std::string& out) = 0;
  // No more to read or write: close the connection.
  virtual bool done() const = 0;

  // After an HTTP/1.1 Upgrade to h2c (RFC 7540 §3.2), before any receive(): the peer's
  // HTTP2-Settings (`settings_payload`, the decoded SETTINGS payload the client sent) apply, and
  // stream 1 is the upgraded request, half-closed on the client's side. `head_request`: it was a
  // HEAD (its response has no body). An error: the payload is not valid SETTINGS, or the session
  // has begun; nothing changed.
  virtual Result<void> upgrade(std::string_view settings_payload, bool head_request) = 0;

  // Server role. `head.headers` are sent as regular fields (hop-by-hop fields dropped, names
  // lowercased); end_stream: no body follows.
  virtual Result<void> submitResponse(int32_t stream, const ResponseHead& head,
                                      bool end_stream) = 0;
  // Client role: opens a stream (the id, or an error when the connection cannot take one).
  // Pseudo-headers from head.method, scheme ("http" when empty), authority, path.
  virtual Result<int32_t> submitRequest(const RequestHead& head, bool end_stream) = 0;
  // Both roles: body bytes (copied), `end`: the last ones (END_STREAM unless trailers follow).
  virtual void sendData(int32_t stream, std::string_view data, bool end) = 0;
  // Ends the stream with a trailer section (after the queued data).
  virtual void submitTrailers(int32_t stream, const Headers& trailers) = 0;
  virtual void resetStream(int32_t stream, ErrorCode code) = 0;
  virtual size_t queuedBytes(int32_t stream) const = 0;
  // Flow control: `n` bytes of `stream` received through onData were forwarded.
  virtual void consume(int32_t stream, size_t n) = 0;
  // Graceful shutdown: GOAWAY(NO_ERROR) naming the last stream processed; streams in flight
  // finish, new ones are refused; done() once they have.
  virtual void goAway() = 0;
  // Streams open right now (both roles).
  virtual size_t openStreams() const = 0;
  // Client role: whether another stream may be opened (peer's MAX_CONCURRENT_STREAMS, GOAWAY).
  virtual bool canOpenStream() const = 0;
};

// HTTP/2's name for an error code ("PROTOCOL_ERROR"...).
std::string_view errorCodeName(ErrorCode code);

}  // namespace sluice::http::h2
