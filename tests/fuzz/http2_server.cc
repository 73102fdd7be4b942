// The HTTP/2 glue (http::h2::Session, server role) as a downstream client drives it: any bytes
// after the preface, fed in pieces whose size comes from the first input byte. Every request head
// is answered (head, body, trailers or a reset, chosen by the stream id), every body byte is
// consumed as forwarded; callbacks see only streams that were opened, and a connection error is a
// value with a message, never a crash.

#include <set>
#include <string>

#include "fuzz_check.h"
#include "h2_feed.h"
#include "http/h2/session.h"

using namespace sluice::http;

namespace {

struct Callbacks : sluice::fuzz::TrackedStreams {
  void onRequestHead(int32_t stream, RequestHead& head, bool end_stream) override {
    SLUICE_FUZZ_CHECK(stream > 0 && (stream & 1) == 1);
    SLUICE_FUZZ_CHECK(open.insert(stream).second);
    SLUICE_FUZZ_CHECK(!head.method.empty());
    ResponseHead response;
    response.status = head.method == "HEAD" ? 204 : 200;
    response.headers.add("x-fuzz", head.path);
    switch (stream % 4) {
      case 1:
        (void)session->submitResponse(stream, response, end_stream);
        if (!end_stream) session->sendData(stream, "ok", true);
        break;
      case 3: {
        (void)session->submitResponse(stream, response, false);
        session->sendData(stream, std::string(70000, 'x'), false);
        Headers trailers;
        trailers.add("grpc-status", "0");
        session->submitTrailers(stream, trailers);
        break;
      }
    }
    if (stream % 8 == 7) session->resetStream(stream, h2::ErrorCode::kCancel);
  }
  void onTrailers(int32_t stream, Headers&) override { SLUICE_FUZZ_CHECK(open.count(stream)); }
  void onEnd(int32_t stream) override { SLUICE_FUZZ_CHECK(open.count(stream) == 1); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view input = sluice::fuzz::asView(data + 1, size - 1);

  Callbacks callbacks;
  h2::Settings settings;
  settings.max_header_list_size = 4096;
  auto session = h2::Session::server(settings, callbacks);
  callbacks.session = session.get();
  sluice::fuzz::feedServerSession(*session, input, piece);
  session->goAway();
  std::string out;
  session->takeOutput(out);
  return 0;
}
