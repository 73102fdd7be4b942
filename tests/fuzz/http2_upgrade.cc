// The HTTP/1.1 `Upgrade: h2c` (http/h2/upgrade.h) as a client drives it: an HTTP2-Settings value
// (the input up to the first '\n', after a first byte that sets the piece size), then HTTP/2
// frames after the preface on the upgraded connection. Checked: a value decodeHttp2Settings
// accepts is whole settings, re-encodes to a value that decodes the same, and nghttp2 takes it for
// an upgrade on both sides (the proxy answers 101 only then); the upgrade decision agrees with the
// decoder; a request without the upgrade asks for none; on the upgraded session stream 1 can be
// answered, the client never opens it again, and errors are values.

#include <set>
#include <string>

#include "fuzz_check.h"
#include "h2_feed.h"
#include "http/h2/session.h"
#include "http/h2/upgrade.h"

using namespace sluice::http;

namespace {

struct Callbacks : sluice::fuzz::TrackedStreams {
  void onRequestHead(int32_t stream, RequestHead&, bool end_stream) override {
    SLUICE_FUZZ_CHECK(stream > 1 && (stream & 1) == 1);  // stream 1 is the upgraded request
    SLUICE_FUZZ_CHECK(open.insert(stream).second);
    ResponseHead response;
    (void)session->submitResponse(stream, response, end_stream);
    if (!end_stream) session->sendData(stream, "ok", true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view input = sluice::fuzz::asView(data + 1, size - 1);
  size_t nl = input.find('\n');
  std::string_view value = input.substr(0, nl);
  std::string_view frames =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  auto payload = h2::decodeHttp2Settings(value);
  RequestHead head;
  head.method = "GET";
  head.target = head.path = "/";
  head.authority = "h";
  head.headers.add("Host", "h");
  head.headers.add("Connection", "Upgrade, HTTP2-Settings");
  head.headers.add("Upgrade", "h2c");
  head.headers.add("HTTP2-Settings", value);
  h2::H2cUpgrade decision = h2::h2cUpgradeOf(head, false);
  SLUICE_FUZZ_CHECK(decision.verdict ==
                    (payload ? h2::H2cVerdict::kUpgrade : h2::H2cVerdict::kIgnore));
  SLUICE_FUZZ_CHECK(h2::h2cUpgradeOf(head, true).verdict == h2::H2cVerdict::kIgnore);
  RequestHead forwarded = head;
  h2::removeH2cUpgrade(forwarded.headers);
  SLUICE_FUZZ_CHECK(!forwarded.headers.has("http2-settings"));
  SLUICE_FUZZ_CHECK(h2::h2cUpgradeOf(forwarded, false).verdict == h2::H2cVerdict::kNone);
  if (!payload) return 0;

  SLUICE_FUZZ_CHECK(payload->size() % 6 == 0 && !payload->empty());
  SLUICE_FUZZ_CHECK(decision.settings == *payload);
  SLUICE_FUZZ_CHECK(h2::decodeHttp2Settings(h2::encodeHttp2Settings(*payload)) == payload);

  h2::SessionCallbacks client_callbacks;
  auto client = h2::Session::client({}, client_callbacks);
  SLUICE_FUZZ_CHECK(client->upgrade(*payload, false).has_value());

  Callbacks callbacks;
  auto session = h2::Session::server({}, callbacks);
  callbacks.session = session.get();
  SLUICE_FUZZ_CHECK(session->upgrade(*payload, false).has_value());
  ResponseHead response;
  SLUICE_FUZZ_CHECK(session->submitResponse(1, response, false).has_value());
  session->sendData(1, "upgraded", true);
  sluice::fuzz::feedServerSession(*session, frames, piece);
  return 0;
}
