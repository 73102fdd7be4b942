#pragma once
// DNS wire format (RFC 1035), just what the sidecar's DNS proxy needs: read a query's question,
// answer it with A/AAAA records for mesh hosts (stable virtual IPs), or say NXDOMAIN / NOTIMP /
// FORMERR; anything else is forwarded verbatim to the real resolver by the caller.
//
// Hand-written because the job is small (one question, a few record types) and must never trust
// the packet: every length and compression pointer is bounds-checked, pointer loops are cut off,
// names are capped at 255 bytes as the RFC says.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/address.h"

namespace sluice::net::dns {

enum class RecordType : uint16_t { kA = 1, kCname = 5, kPtr = 12, kAaaa = 28, kAny = 255 };
enum class ResponseCode : uint8_t {
  kNoError = 0,
  kFormatError = 1,
  kServerFailure = 2,
  kNameError = 3,  // NXDOMAIN
  kNotImplemented = 4,
  kRefused = 5,
};

struct Question {
  std::string name;  // lower case, no trailing dot ("service-provider.default.svc.cluster.local")
  uint16_t type = 0;
  uint16_t klass = 1;  // IN
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // as received (the opcode and RD bit are echoed)
  Question question;
  uint8_t opcode() const { return static_cast<uint8_t>((flags >> 11) & 0xF); }
  bool recursionDesired() const { return (flags & 0x0100) != 0; }
};

// Parses a query with exactly one question (what stub resolvers send). Errors name the problem
// ("truncated header", "label too long", "compression loop"...). The id is returned even on a
// question error when the header was readable, so a FORMERR can be sent back (see formatError).
Result<Query> parseQuery(std::string_view packet);
std::optional<uint16_t> peekId(std::string_view packet);

// An answer to `query`: `addresses` become A (v4) or AAAA (v6) records of the question's name
// with `ttl`; an empty list with kNoError is NODATA. The question is echoed.
std::string buildResponse(const Query& query, ResponseCode code,
                          const std::vector<IpAddress>& addresses, uint32_t ttl = 30);
// FORMERR with only the id (for packets whose question could not be read).
std::string formatError(uint16_t id);

}  // namespace sluice::net::dns
