#pragma once
// The HTTP/1.1 upgrade to cleartext HTTP/2 (RFC 7540 §3.2): a request with `Upgrade: h2c`,
// `HTTP2-Settings` and `Connection: Upgrade, HTTP2-Settings` is answered `101 Switching
// Protocols`, and the connection goes on as HTTP/2 with that request as stream 1. RFC 9113 §3.1
// deprecates it, but `curl --http2 http://...` and other clients still send it.
//
// What is decided here (pure functions, no I/O): whether a request asks for h2c, whether it
// can be honoured, and what the upgrade's HTTP2-Settings say. A request that cannot be honoured
// is served as HTTP/1.1 (RFC 7540 §3.2: a server may ignore the upgrade); in either case the
// h2c upgrade and HTTP2-Settings are hop-by-hop and never go upstream (removeH2cUpgrade).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sluice::http::h2 {

// The SETTINGS frame payload an HTTP2-Settings value carries (RFC 7540 §3.2.1: base64url of
// RFC 4648 §5; the padding, which the RFC says to omit, is tolerated), or nullopt when the value
// is not one: empty, not base64url, not a whole number of 6-byte settings, more than 32 settings
// (what nghttp2 takes in one SETTINGS frame), or a setting with a value RFC 9113 §6.5.2 forbids
// (a connection error if it came in a SETTINGS frame).
std::optional<std::string> decodeHttp2Settings(std::string_view value);

// The HTTP2-Settings value of a SETTINGS payload, as a client writes it (base64url without
// padding); decodeHttp2Settings' inverse for a valid payload.
std::string encodeHttp2Settings(std::string_view payload);

enum class H2cVerdict : uint8_t {
  kNone,     // the request does not ask for h2c
  kUpgrade,  // answer 101 and go on as HTTP/2, the request being stream 1
  kIgnore,   // asks for h2c but cannot have it: serve it as HTTP/1.1
};

struct H2cUpgrade {
  H2cVerdict verdict = H2cVerdict::kNone;
  std::string settings;  // kUpgrade: the decoded SETTINGS payload
  std::string_view why;  // kIgnore: the reason, for a debug log
};

// The decision for one parsed HTTP/1.1 request head. `has_body`: the request has a body (a
// Content-Length above 0, or chunked). Only a bodiless request is upgraded: stream 1 would
// otherwise need the body read whole before the switch, and the clients that still upgrade
// (curl) send bodiless requests only.
H2cUpgrade h2cUpgradeOf(const RequestHead& head, bool has_body);

// Takes the h2c upgrade out of a request that goes on as HTTP/1.1: HTTP2-Settings is removed
// (hop-by-hop by definition, listed in Connection or not), and the `h2c` token leaves Upgrade
// (the field goes when no other protocol is left, so a WebSocket upgrade beside it still works).
void removeH2cUpgrade(Headers& headers);

}  // namespace sluice::http::h2
