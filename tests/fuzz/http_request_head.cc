// HTTP/1.1 request heads (http::RequestHeadParser), whole and fed in two pieces: the first byte
// picks where the input is split, and the incremental parse must agree with the one-shot parse
// (status, bytes consumed, every field), as the codec's contract promises. A complete head is
// also serialized and parsed again: what the proxy forwards must still be a valid head.

#include <string>

#include "fuzz_check.h"
#include "http/codec.h"

using namespace sluice::http;

namespace {

bool sameHead(const RequestHead& a, const RequestHead& b) {
  return a.method == b.method && a.target == b.target && a.version == b.version &&
         a.headers.entries() == b.headers.entries() && a.scheme == b.scheme &&
         a.authority == b.authority && a.path == b.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t split_seed = data[0];
  std::string_view input = sluice::fuzz::asView(data + 1, size - 1);
  Limits limits;
  limits.max_request_line = 512;
  limits.max_head_bytes = 4096;
  limits.max_headers = 32;

  RequestHead whole;
  HeadResult one_shot = parseRequestHead(input, whole, limits);
  SLUICE_FUZZ_CHECK(one_shot.status != ParseStatus::kComplete || one_shot.consumed <= input.size());
  if (one_shot.status == ParseStatus::kError) {
    SLUICE_FUZZ_CHECK(one_shot.error.status >= 400 && one_shot.error.status <= 505);
    SLUICE_FUZZ_CHECK(!one_shot.error.reason.empty());
  }

  // The same bytes in two reads.
  const size_t split = input.empty() ? 0 : split_seed % (input.size() + 1);
  RequestHeadParser parser(limits);
  RequestHead pieces;
  HeadResult r = parser.parse(input.substr(0, split), pieces);
  if (r.status == ParseStatus::kIncomplete) r = parser.parse(input, pieces);
  SLUICE_FUZZ_CHECK(r.status == one_shot.status);
  if (r.status == ParseStatus::kComplete) {
    SLUICE_FUZZ_CHECK(r.consumed == one_shot.consumed);
    SLUICE_FUZZ_CHECK(r.framing.kind == one_shot.framing.kind);
    SLUICE_FUZZ_CHECK(r.framing.length == one_shot.framing.length);
    SLUICE_FUZZ_CHECK(r.keep_alive == one_shot.keep_alive);
    SLUICE_FUZZ_CHECK(sameHead(pieces, whole));

    // Forwarded as the proxy does (hop-by-hop removed), the head parses again.
    RequestHead forwarded = whole;
    removeHopByHop(forwarded.headers);
    std::string wire;
    serializeRequestHead(forwarded, wire);
    RequestHead again;
    Limits roomy;
    HeadResult reparsed = parseRequestHead(wire, again, roomy);
    SLUICE_FUZZ_CHECK(reparsed.status == ParseStatus::kComplete);
    SLUICE_FUZZ_CHECK(again.method == whole.method && again.target == whole.target);
    SLUICE_FUZZ_CHECK(again.headers.entries() == forwarded.headers.entries());
  } else if (r.status == ParseStatus::kError) {
    SLUICE_FUZZ_CHECK(r.error.status == one_shot.error.status);
  }

  // The server codec sees the same bytes the same way.
  struct Callbacks : ServerCodecCallbacks {
    int heads = 0, errors = 0;
    void onRequestHead(RequestHead&, const HeadResult&) override { ++heads; }
    void onProtocolError(const HeadResult&) override { ++errors; }
  } callbacks;
  auto codec = makeHttp1ServerCodec(limits);
  RequestHead codec_head;
  codec->onIngress(input, codec_head, callbacks);
  SLUICE_FUZZ_CHECK(callbacks.heads == (one_shot.status == ParseStatus::kComplete ? 1 : 0));
  SLUICE_FUZZ_CHECK(callbacks.errors == (one_shot.status == ParseStatus::kError ? 1 : 0));
  return 0;
}
