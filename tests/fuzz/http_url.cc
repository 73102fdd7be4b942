// URLs and authorities: http::parseUrl (registry and upstream URLs), net::parseHostPort (the
// authority of a Host header or a flag), net::IpAddress / Cidr, and the query helpers the Nacos
// API reads parameters with. Properties: a parsed URL prints to a URL that parses to the same
// parts; percentEncode / percentDecode and buildQuery / parseQuery round-trip; a parsed address
// prints to one that parses to the same bytes.

#include <string>

#include "fuzz_check.h"
#include "http/url.h"
#include "net/address.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::asView(data, size);

  if (auto url = http::parseUrl(input)) {
    auto again = http::parseUrl(url->toString());
    SLUICE_FUZZ_CHECK(again.has_value());
    SLUICE_FUZZ_CHECK(again->scheme == url->scheme && again->host == url->host);
    SLUICE_FUZZ_CHECK(again->port == url->port && again->target == url->target);
    SLUICE_FUZZ_CHECK(!url->target.empty());
    (void)url->path();
    (void)url->query();
  } else {
    SLUICE_FUZZ_CHECK(!url.error().message.empty());
  }

  for (int default_port : {-1, 80}) {
    if (auto hp = net::parseHostPort(input, default_port)) {
      auto again = net::parseHostPort(hp->toString());
      SLUICE_FUZZ_CHECK(again.has_value());
      SLUICE_FUZZ_CHECK(again->host == hp->host && again->port == hp->port);
    }
  }

  if (auto ip = net::IpAddress::parse(input)) {
    auto again = net::IpAddress::parse(ip->toString());
    SLUICE_FUZZ_CHECK(again.has_value() && *again == *ip);
  }
  if (auto cidr = net::Cidr::parse(input)) {
    SLUICE_FUZZ_CHECK(cidr->prefix_len >= 0 && cidr->prefix_len <= (cidr->base.v6 ? 128 : 32));
    SLUICE_FUZZ_CHECK(cidr->contains(cidr->base));
    (void)cidr->toString();
  }

  SLUICE_FUZZ_CHECK(http::percentDecode(http::percentEncode(input)) == input);
  http::QueryParams params = http::parseQuery(input);
  SLUICE_FUZZ_CHECK(http::parseQuery(http::buildQuery(params)) == params);
  return 0;
}
