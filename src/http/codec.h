#pragma once
// Strict, incremental HTTP/1.1 codec (RFC 9110 / 9112): head parsers, body framing, chunked
// decoding, serializers, keep-alive and hop-by-hop helpers.
//
// HAND-WRITTEN ON PURPOSE: no third-party parser. The proxy's speed and its resistance to request
// smuggling both live here, so every framing decision is ours, visible and tested (heads fed split
// at every byte). Anything ambiguous is rejected, never guessed: both Content-Length and
// Transfer-Encoding, more than one Content-Length (a list, even of identical values, or a
// repeated field), bare LF/CR, obs-fold, space before ':', bad characters, unknown transfer
// codings.
//
// No exceptions, no I/O, no locks: all functions are pure over the bytes given. Parsers are
// single-threaded objects (one per connection); nothing here is shared.
//
// ---------------------------------------------------------------------------------------------
// HOW TO DRIVE IT (connection manager, downstream side):
//
//   RequestHeadParser parser(limits);           // one per connection, reused per request
//   std::string buf;                            // bytes read from the socket, not yet consumed
//   RequestHead head;
//   for (;;) {
//     HeadResult r = parser.parse(buf, head);   // buf always starts at the head's first byte
//     if (r.status == ParseStatus::kIncomplete) { read more into buf; continue; }
//     if (r.status == ParseStatus::kError) {    // answer r.error.status (400/414/431/501/505)
//       send response r.error.status with body r.error.reason; close; break;
//     }
//     buf.erase(0, r.consumed);                 // the rest is body and/or pipelined requests
//     // r.framing says how to read the body, r.keep_alive whether to read another request after
//     // this one, r.expect_continue whether to send "100 Continue" before reading the body.
//     switch (r.framing.kind) {
//       case BodyKind::kNone: break;
//       case BodyKind::kContentLength: LengthDecoder(r.framing.length) ...; break;
//       case BodyKind::kChunked: ChunkedDecoder ...; break;
//       case BodyKind::kUntilClose: break;      // never for requests
//     }
//   }
//
// The parser remembers how far it scanned for the end of the head, so calling parse() again after
// appending bytes costs only the new bytes until the head is complete; then the head is parsed
// in a single pass. The buffer may move/reallocate between calls, but the bytes already given
// must not change and must start at the same message start. After kComplete or kError the parser
// resets itself for the next message. Reusing one RequestHead/ResponseHead per connection lets the
// parser overwrite its strings in place (no allocation once capacities have grown). On kError the
// head's content is unspecified.
//
// Upstream side: ResponseHeadParser works the same way; pass request_was_head = true when the
// request was HEAD. A 1xx response (except 101) is interim: framing kNone, then parse the next
// head from the remaining bytes (the final response follows). A kUntilClose response ends when
// the upstream closes; it is never keep-alive.
//
// Bodies:
//   LengthDecoder: d.take(data) returns the prefix of data that belongs to the body; done() when
//   the declared length has been seen.
//   ChunkedDecoder: call decode(data) in a loop:
//     ChunkResult c = dec.decode(data);
//     forward c.data if not empty (a view into `data`);  data.remove_prefix(c.consumed);
//     kError -> 400 (request) / 502 (response); kComplete -> body and trailers done
//     (dec.trailers()), data now starts at the next message; kIncomplete with c.consumed == 0 ->
//     read more bytes. (The trailer section is left unconsumed in the caller's buffer until it is
//     complete.)
//   To forward a chunked body re-chunked: appendChunkHeader(n) + data + "\r\n"; end with
//   appendLastChunk(). Or, when the next hop also speaks chunked, forward the raw consumed bytes
//   (they were validated by the decoder).
//
// Forwarding a head: removeHopByHop(headers) (strips Transfer-Encoding too, so re-add
// "Transfer-Encoding: chunked" when forwarding chunked), then serializeRequestHead /
// serializeResponseHead append wire bytes to a string.
// ---------------------------------------------------------------------------------------------

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sluice::http {

struct Limits {
  size_t max_request_line = 8 * 1024;  // request line / status line, without CRLF -> 414
  size_t max_head_bytes = 64 * 1024;   // whole head incl. CRLFs -> 431; caps trailers too (400)
  size_t max_headers = 100;            // fields per head -> 431; per trailer section (400)
};

enum class ParseStatus : uint8_t { kIncomplete, kComplete, kError };

struct ParseError {
  // Status to answer a bad request with: 400, 414, 431, 501, 505. For response heads it is 502
  // (the upstream sent something malformed). ChunkedDecoder says 400 for bad framing, 413 for a
  // chunk size line (extensions) over 4 KiB, 431 for a trailer section over the head limits: map
  // any of them to 502 when decoding a response body.
  int status = 400;
  // Short human text naming the problem and where, e.g. "header 'X-A': invalid character 0x01 in
  // value". Safe to put in a text/plain error body.
  std::string reason;
};

enum class BodyKind : uint8_t {
  kNone,           // no body (length 0)
  kContentLength,  // exactly `length` bytes follow (length may be 0)
  kChunked,        // chunked transfer coding: use ChunkedDecoder
  kUntilClose,     // responses only: body ends when the peer closes
};

struct BodyFraming {
  BodyKind kind = BodyKind::kNone;
  uint64_t length = 0;  // kContentLength only
};

struct HeadResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;  // kComplete: bytes of the head incl. the blank line (and skipped CRLFs)
  ParseError error;     // kError only
  // The fields below are valid on kComplete only.
  BodyFraming framing;
  bool keep_alive = true;        // per version and Connection (close / keep-alive)
  bool expect_continue = false;  // requests: "Expect: 100-continue" on HTTP/1.1
};

// Parses request heads. Fills RequestHead on kComplete (its previous content is replaced): method,
// target as sent, version, headers in order with their case, and the derived fields:
//   origin-form "/p?q"            -> scheme "",     authority = Host,   path "/p?q"
//   absolute-form "http://h:1/p"  -> scheme "http", authority "h:1",    path "/p" ("/" if empty)
//   authority-form (CONNECT h:1)  -> scheme "",     authority "h:1",    path ""
//   asterisk-form (OPTIONS *)     -> scheme "",     authority = Host,   path "*"
// For absolute-form the target's authority wins over Host (RFC 9112 §3.2.2).
// Leading empty lines (CRLF) before the request line are skipped (RFC 9112 §2.2).
class RequestHeadParser {
 public:
  explicit RequestHeadParser(Limits limits = {}) : limits_(limits) {}

  // `data`: the bytes received so far for this message (may contain more than the head).
  HeadResult parse(std::string_view data, RequestHead& out);
  void reset() { scan_ = {}; }
  const Limits& limits() const { return limits_; }

  // Where the end-of-head scan stands; exposed for the head parsers only.
  struct ScanState {
    size_t scanned = 0;      // bytes checked for LF so far
    size_t start = 0;        // first byte of the head after skipped leading CRLFs
    size_t lines = 0;        // complete lines seen in the head (request/status line included)
    bool first_line = true;  // still inside the request/status line
  };

 private:
  Limits limits_;
  ScanState scan_;
};

// Parses response heads (status line, reason, headers). Errors carry status 502.
class ResponseHeadParser {
 public:
  explicit ResponseHeadParser(Limits limits = {}) : limits_(limits) {}

  // request_was_head: the request this answers was HEAD (no body whatever the headers say).
  HeadResult parse(std::string_view data, ResponseHead& out, bool request_was_head = false);
  void reset() { scan_ = {}; }

 private:
  Limits limits_;
  RequestHeadParser::ScanState scan_;
};

// One-shot conveniences (a fresh parser per call).
HeadResult parseRequestHead(std::string_view data, RequestHead& out, const Limits& limits = {});
HeadResult parseResponseHead(std::string_view data, ResponseHead& out,
                             bool request_was_head = false, const Limits& limits = {});

// Body framing per RFC 9112 §6.3, for heads that did not come from the parsers above (the
// parsers already report it). Invalid framing headers give kError with the status to answer.
struct FramingResult {
  ParseStatus status = ParseStatus::kComplete;  // kComplete or kError
  BodyFraming framing;
  ParseError error;
};
FramingResult requestFraming(const RequestHead& head);
FramingResult responseFraming(const ResponseHead& head, bool request_was_head = false);
// A response that never has a body whatever its fields say (RFC 9112 §6.3): to a HEAD, 1xx,
// 204, 304.
bool responseHasNoBody(int status, bool request_was_head = false);

// Counts a Content-Length body.
class LengthDecoder {
 public:
  explicit LengthDecoder(uint64_t length = 0) : remaining_(length) {}
  // Returns the prefix of `data` that belongs to the body (caller removes it from its buffer).
  std::string_view take(std::string_view data) {
    size_t n = data.size() < remaining_ ? data.size() : static_cast<size_t>(remaining_);
    remaining_ -= n;
    return data.substr(0, n);
  }
  bool done() const { return remaining_ == 0; }
  uint64_t remaining() const { return remaining_; }

 private:
  uint64_t remaining_;
};

struct ChunkResult {
  // kIncomplete: call again with the remaining bytes; if consumed == 0, more bytes are needed.
  // kComplete: last chunk and trailers consumed. kError: `error` says why (400 / 413 / 431).
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;
  std::string_view data;  // decoded body bytes from this call (a view into the input), may be empty
  ParseError error;
};

// Incremental chunked decoder: chunk-size in hex (overflow-checked), chunk extensions skipped
// (validated for characters), strict CRLFs, trailers parsed and validated like headers (limits
// from Limits::max_head_bytes / max_headers). Each decode() call returns at most one data piece.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(Limits limits = {}) : limits_(limits) {}
  ChunkResult decode(std::string_view data);
  bool done() const { return state_ == State::kDone; }
  const Headers& trailers() const { return trailers_; }
  void reset();

 private:
  enum class State : uint8_t { kSize, kExt, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kDone };
  Limits limits_;
  State state_ = State::kSize;
  uint64_t chunk_remaining_ = 0;
  size_t size_digits_ = 0;
  size_t line_bytes_ = 0;       // bytes of the current size line (caps extensions)
  bool ext_started_ = false;    // a ';' was seen on the current size line
  size_t trailer_scanned_ = 0;  // trailer bytes already checked (kept unconsumed until complete)
  size_t trailer_lines_ = 0;
  Headers trailers_;
};

// Serializers: append wire bytes to `out`. Heads are written as given (target as-is, headers in
// order); callers set framing headers themselves.
void serializeRequestHead(const RequestHead& head, std::string& out);
void serializeResponseHead(const ResponseHead& head, std::string& out);
// Chunk encoder. appendChunk writes a whole chunk; appendChunkHeader only "<hex>\r\n" (then
// write n data bytes and "\r\n"). Empty data writes nothing (a zero chunk would end the body).
void appendChunk(std::string_view data, std::string& out);
void appendChunkHeader(size_t n, std::string& out);
void appendLastChunk(std::string& out, const Headers* trailers = nullptr);

// Keep-alive per RFC 9112 §9.3: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
// "Connection: keep-alive".
bool keepAlive(Version version, const Headers& headers);
// True when the Connection header lists `token` (case-insensitive), e.g. "close", "upgrade".
bool connectionHas(const Headers& headers, std::string_view token);

// Removes hop-by-hop fields (RFC 9110 §7.6.1): names listed in Connection, then Connection,
// Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer. Proxy-Authorization and
// Proxy-Authenticate are kept. Connection-listed Host and Content-Length are NOT removed (a client
// must not be able to strip framing or routing fields through Connection).
void removeHopByHop(Headers& headers);

// "Expect: 100-continue" (case-insensitive) on an HTTP/1.1 request.
bool expectsContinue(const RequestHead& head);

// Character classes (RFC 9110 §5.6.2 token, §5.5 field-value), exposed for other modules.
bool isTokenChar(unsigned char c);
bool isValidToken(std::string_view s);
bool isFieldValueChar(unsigned char c);  // HTAB, SP, VCHAR, obs-text

// ---------------------------------------------------------------------------------------------
// The server side of a downstream connection's protocol, as the connection manager drives it:
// bytes in, callbacks out (Proxygen's HTTPCodec shape), so another protocol (HTTP/2: one stream
// per request) can replace HTTP/1.1 without the connection manager changing how it is fed.
//
// Today's scope: request heads and protocol errors come through the callbacks; the body of an
// HTTP/1.1 request follows on the same bytes and is read by the caller per HeadResult::framing
// (proxy/body_pump.h), and responses are written with serializeResponseHead. One codec per
// connection, on that connection's thread; never throws.
class ServerCodecCallbacks {
 public:
  virtual ~ServerCodecCallbacks() = default;
  // A whole request head is in `head`; `result.consumed` bytes of the input belong to it (the
  // caller drops them), `result.framing` says how its body follows.
  virtual void onRequestHead(RequestHead& head, const HeadResult& result) = 0;
  // The input is not valid HTTP; `result.error` has the status to answer and why. The
  // connection cannot continue.
  virtual void onProtocolError(const HeadResult& result) = 0;
};

class ServerCodec {
 public:
  virtual ~ServerCodec() = default;
  // `data`: every byte received and not yet consumed, starting where the last request (or the
  // connection) began. Calls back at most once per call: onRequestHead or onProtocolError; no
  // call means more bytes are needed. Feeding the same bytes again plus new ones is allowed and
  // costs only the new bytes.
  virtual void onIngress(std::string_view data, RequestHead& head,
                         ServerCodecCallbacks& callbacks) = 0;
};

// The HTTP/1.1 server codec (RequestHeadParser underneath).
std::unique_ptr<ServerCodec> makeHttp1ServerCodec(const Limits& limits);

}  // namespace sluice::http
