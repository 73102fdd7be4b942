// DNS queries as the sidecar's DNS proxy receives them from applications (net::dns): any packet
// is parsed without reading out of bounds or looping; a parsed query gets an answer (with A and
// AAAA records, NXDOMAIN, FORMERR) that parses back as a packet with the same id and question.

#include "net/dns_message.h"

#include <string>
#include <vector>

#include "fuzz_check.h"
#include "net/address.h"

using namespace sluice::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view packet = sluice::fuzz::asView(data, size);
  std::optional<uint16_t> id = dns::peekId(packet);
  auto query = dns::parseQuery(packet);
  if (!query) {
    SLUICE_FUZZ_CHECK(!query.error().message.empty());
    if (id) SLUICE_FUZZ_CHECK(dns::peekId(dns::formatError(*id)) == id);
    return 0;
  }
  SLUICE_FUZZ_CHECK(id.has_value() && *id == query->id);
  SLUICE_FUZZ_CHECK(query->question.name.size() <= 255);

  std::vector<IpAddress> addresses;
  if (auto v4 = IpAddress::parse("10.96.0.7")) addresses.push_back(*v4);
  if (auto v6 = IpAddress::parse("fd00::7")) addresses.push_back(*v6);
  for (auto code : {dns::ResponseCode::kNoError, dns::ResponseCode::kNameError}) {
    std::string answer = dns::buildResponse(
        *query, code, code == dns::ResponseCode::kNoError ? addresses : std::vector<IpAddress>{});
    SLUICE_FUZZ_CHECK(answer.size() >= 12);
    SLUICE_FUZZ_CHECK(dns::peekId(answer) == query->id);
    // The answer's question section is the query's: read as a query (QR bit cleared), it names
    // the same question.
    answer[2] = static_cast<char>(answer[2] & 0x7F);
    auto echoed = dns::parseQuery(answer);
    SLUICE_FUZZ_CHECK(echoed.has_value());
    SLUICE_FUZZ_CHECK(echoed->question.name == query->question.name);
    SLUICE_FUZZ_CHECK(echoed->question.type == query->question.type);
    SLUICE_FUZZ_CHECK(echoed->question.klass == query->question.klass);
  }
  return 0;
}
