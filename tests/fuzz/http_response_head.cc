// HTTP/1.1 response heads (http::ResponseHeadParser), as an upstream sends them: the first byte
// says whether the request was HEAD and where the input is split; the incremental parse must agree
// with the one-shot parse. Errors are always 502 (the upstream is at fault).

#include <string>

#include "fuzz_check.h"
#include "http/codec.h"

using namespace sluice::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool request_was_head = (data[0] & 1) != 0;
  const size_t split_seed = data[0] >> 1;
  std::string_view input = sluice::fuzz::asView(data + 1, size - 1);
  Limits limits;
  limits.max_request_line = 512;
  limits.max_head_bytes = 4096;
  limits.max_headers = 32;

  ResponseHead whole;
  HeadResult one_shot = parseResponseHead(input, whole, request_was_head, limits);
  if (one_shot.status == ParseStatus::kError) {
    SLUICE_FUZZ_CHECK(one_shot.error.status == 502);
    SLUICE_FUZZ_CHECK(!one_shot.error.reason.empty());
  }

  const size_t split = input.empty() ? 0 : split_seed % (input.size() + 1);
  ResponseHeadParser parser(limits);
  ResponseHead pieces;
  HeadResult r = parser.parse(input.substr(0, split), pieces, request_was_head);
  if (r.status == ParseStatus::kIncomplete) r = parser.parse(input, pieces, request_was_head);
  SLUICE_FUZZ_CHECK(r.status == one_shot.status);
  if (r.status != ParseStatus::kComplete) return 0;

  SLUICE_FUZZ_CHECK(r.consumed == one_shot.consumed && r.consumed <= input.size());
  SLUICE_FUZZ_CHECK(r.framing.kind == one_shot.framing.kind);
  SLUICE_FUZZ_CHECK(r.framing.length == one_shot.framing.length);
  SLUICE_FUZZ_CHECK(pieces.status == whole.status && pieces.reason == whole.reason);
  SLUICE_FUZZ_CHECK(pieces.headers.entries() == whole.headers.entries());
  SLUICE_FUZZ_CHECK(whole.status >= 100 && whole.status <= 999);
  if (request_was_head || whole.status == 204 || whole.status == 304 ||
      (whole.status >= 100 && whole.status < 200)) {
    SLUICE_FUZZ_CHECK(r.framing.kind == BodyKind::kNone);
  }
  if (r.framing.kind == BodyKind::kUntilClose) SLUICE_FUZZ_CHECK(!r.keep_alive);

  // The framing the parser reported is what responseFraming() derives from the parsed head.
  FramingResult framing = responseFraming(whole, request_was_head);
  SLUICE_FUZZ_CHECK(framing.status == ParseStatus::kComplete);
  SLUICE_FUZZ_CHECK(framing.framing.kind == r.framing.kind);

  // Forwarded downstream (hop-by-hop removed), the head parses again.
  ResponseHead forwarded = whole;
  removeHopByHop(forwarded.headers);
  std::string wire;
  serializeResponseHead(forwarded, wire);
  ResponseHead again;
  HeadResult reparsed = parseResponseHead(wire, again, request_was_head);
  SLUICE_FUZZ_CHECK(reparsed.status == ParseStatus::kComplete);
  SLUICE_FUZZ_CHECK(again.status == whole.status);
  SLUICE_FUZZ_CHECK(again.headers.entries() == forwarded.headers.entries());
  return 0;
}
