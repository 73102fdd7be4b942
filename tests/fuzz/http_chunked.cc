// Chunked bodies (http::ChunkedDecoder): the input is decoded in one call sequence over all bytes
// and again fed in pieces whose sizes come from the first byte; both must end in the same state
// with the same decoded body and trailers. A complete body is re-encoded with appendChunk /
// appendLastChunk and must decode to the same bytes.

#include <string>

#include "fuzz_check.h"
#include "http/codec.h"

using namespace sluice::http;

namespace {

struct Decoded {
  ParseStatus status = ParseStatus::kIncomplete;
  std::string body;
  Headers trailers;
  size_t consumed = 0;  // bytes of the input taken by the body (kComplete)
};

// Feeds `input` to a fresh decoder `piece` bytes at a time (0: everything at once).
Decoded decodeAll(std::string_view input, size_t piece, const Limits& limits) {
  ChunkedDecoder decoder(limits);
  Decoded out;
  std::string buffer;  // received, not yet consumed
  size_t offered = 0;
  size_t taken = 0;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    std::string_view view(buffer);
    ChunkResult c = decoder.decode(view);
    SLUICE_FUZZ_CHECK(c.consumed <= view.size());
    SLUICE_FUZZ_CHECK(c.data.size() <= c.consumed);
    out.body.append(c.data);
    buffer.erase(0, c.consumed);
    taken += c.consumed;
    if (c.status == ParseStatus::kError) {
      // 400; 413 for oversized chunk metadata, 431 for oversized trailers.
      SLUICE_FUZZ_CHECK(c.error.status == 400 || c.error.status == 413 || c.error.status == 431);
      SLUICE_FUZZ_CHECK(!c.error.reason.empty());
      out.status = c.status;
      return out;
    }
    if (c.status == ParseStatus::kComplete) {
      SLUICE_FUZZ_CHECK(decoder.done());
      out.status = c.status;
      out.trailers = decoder.trailers();
      out.consumed = taken;
      return out;
    }
    if (c.consumed == 0) {
      if (offered == input.size()) return out;  // needs bytes that never come
      size_t n = piece == 0 ? input.size() - offered : std::min(piece, input.size() - offered);
      buffer.append(input.substr(offered, n));
      offered += n;
    }
  }
  SLUICE_FUZZ_CHECK(!"decoder made no progress");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 16;
  std::string_view input = sluice::fuzz::asView(data + 1, size - 1);
  Limits limits;
  limits.max_head_bytes = 2048;
  limits.max_headers = 16;

  Decoded whole = decodeAll(input, 0, limits);
  Decoded pieces = decodeAll(input, piece, limits);
  SLUICE_FUZZ_CHECK(whole.status == pieces.status);
  if (whole.status != ParseStatus::kComplete) return 0;
  SLUICE_FUZZ_CHECK(whole.body == pieces.body);
  SLUICE_FUZZ_CHECK(whole.consumed == pieces.consumed);
  SLUICE_FUZZ_CHECK(whole.trailers.entries() == pieces.trailers.entries());

  std::string encoded;
  appendChunk(whole.body, encoded);
  appendLastChunk(encoded, &whole.trailers);
  Decoded again = decodeAll(encoded, 0, Limits{});
  SLUICE_FUZZ_CHECK(again.status == ParseStatus::kComplete);
  SLUICE_FUZZ_CHECK(again.body == whole.body);
  SLUICE_FUZZ_CHECK(again.consumed == encoded.size());
  SLUICE_FUZZ_CHECK(again.trailers.entries() == whole.trailers.entries());
  return 0;
}
