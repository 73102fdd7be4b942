#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "http/codec.h"
#include "testutil/piece_sampler.h"

namespace sluice::http {
namespace {

struct Decoded {
  ParseStatus status = ParseStatus::kIncomplete;
  std::string body;
  size_t consumed = 0;  // total bytes consumed from the input
  int error_status = 0;
  std::string reason;
};

// Drives the decoder the way the connection manager does: the caller's buffer receives the input
// in pieces (cut at the given points) and keeps whatever the decoder did not consume.
Decoded decodeInPieces(ChunkedDecoder& dec, std::string_view input, std::vector<size_t> cuts) {
  Decoded out;
  cuts.push_back(input.size());
  std::string buf;
  size_t fed = 0;
  for (size_t cut : cuts) {
    buf.append(input.substr(fed, cut - fed));
    fed = cut;
    for (int guard = 0; guard < 10000; ++guard) {
      ChunkResult r = dec.decode(buf);
      out.body.append(r.data);
      buf.erase(0, r.consumed);
      out.consumed += r.consumed;
      if (r.status == ParseStatus::kError) {
        out.status = r.status;
        out.error_status = r.error.status;
        out.reason = r.error.reason;
        return out;
      }
      if (r.status == ParseStatus::kComplete) {
        out.status = r.status;
        return out;
      }
      if (r.consumed == 0) break;
    }
  }
  return out;
}

Decoded decodeAll(std::string_view input) {
  ChunkedDecoder dec;
  return decodeInPieces(dec, input, {});
}

constexpr std::string_view kBody =
    "5\r\nhello\r\n"
    "7;name=value;flag\r\n, world\r\n"
    "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "0\r\n"
    "X-Checksum: abc\r\n"
    "\r\n"
    "NEXT";

TEST(ChunkedDecoder, DecodesChunksExtensionsAndTrailers) {
  ChunkedDecoder dec;
  Decoded d = decodeInPieces(dec, kBody, {});
  ASSERT_EQ(d.status, ParseStatus::kComplete) << d.reason;
  EXPECT_EQ(d.body, "hello, worldabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(d.consumed, kBody.size() - 4);  // "NEXT" belongs to the next message
  EXPECT_EQ(*dec.trailers().get("x-checksum"), "abc");
  EXPECT_TRUE(dec.done());
}

TEST(ChunkedDecoder, SameResultWhateverTheSplitPoint) {
  for (size_t cut = 0; cut <= kBody.size(); ++cut) {
    ChunkedDecoder dec;
    Decoded d = decodeInPieces(dec, kBody, {cut});
    ASSERT_EQ(d.status, ParseStatus::kComplete) << "cut " << cut << ": " << d.reason;
    EXPECT_EQ(d.body, "hello, worldabcdefghijklmnopqrstuvwxyz") << cut;
    EXPECT_EQ(d.consumed, kBody.size() - 4) << cut;
    EXPECT_EQ(*dec.trailers().get("X-Checksum"), "abc") << cut;
  }
  // And one byte at a time.
  std::vector<size_t> every;
  for (size_t k = 1; k < kBody.size(); ++k) every.push_back(k);
  ChunkedDecoder dec;
  Decoded d = decodeInPieces(dec, kBody, every);
  ASSERT_EQ(d.status, ParseStatus::kComplete) << d.reason;
  EXPECT_EQ(d.body, "hello, worldabcdefghijklmnopqrstuvwxyz");
}

TEST(ChunkedDecoder, EmptyBodyWithoutTrailers) {
  Decoded d = decodeAll("0\r\n\r\n");
  ASSERT_EQ(d.status, ParseStatus::kComplete) << d.reason;
  EXPECT_EQ(d.body, "");
  EXPECT_EQ(d.consumed, 5u);
}

TEST(ChunkedDecoder, IncompleteUntilTheLastChunkAndBlankLine) {
  EXPECT_EQ(decodeAll("5\r\nhello\r\n").status, ParseStatus::kIncomplete);
  EXPECT_EQ(decodeAll("5\r\nhello\r\n0\r\n").status, ParseStatus::kIncomplete);
  EXPECT_EQ(decodeAll("5\r\nhello\r\n0\r\nX: 1\r\n").status, ParseStatus::kIncomplete);
  EXPECT_EQ(decodeAll("5\r\nhello\r\n0\r\nX: 1\r\n\r\n").status, ParseStatus::kComplete);
}

TEST(ChunkedDecoder, RejectsOverflowingSizes) {
  Decoded d = decodeAll("10000000000000000\r\n");  // 2^64
  EXPECT_EQ(d.status, ParseStatus::kError);
  EXPECT_EQ(d.error_status, 400);
  EXPECT_EQ(decodeAll("FFFFFFFFFFFFFFFFF\r\n").status, ParseStatus::kError);
  EXPECT_EQ(decodeAll("00000000000000000000001\r\nx\r\n0\r\n\r\n").status, ParseStatus::kError);
  // The largest 16-digit size is accepted as a size (the body just never completes here).
  EXPECT_EQ(decodeAll("FFFFFFFFFFFFFFFF\r\nabc").status, ParseStatus::kIncomplete);
}

TEST(ChunkedDecoder, RejectsBadSizesAndCrlfs) {
  struct Bad {
    const char* name;
    std::string input;
  };
  for (const Bad& b : std::vector<Bad>{
           {"no_digits", "\r\n"},
           {"sign", "-5\r\nhello\r\n0\r\n\r\n"},
           {"0x_prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
           {"bare_lf_after_size", "5\nhello\r\n0\r\n\r\n"},
           {"cr_without_lf", "5\rXhello\r\n0\r\n\r\n"},
           {"data_not_followed_by_crlf", "5\r\nhelloX\r\n0\r\n\r\n"},
           {"data_followed_by_bare_lf", "5\r\nhello\n0\r\n\r\n"},
           {"data_too_long", "3\r\nhello\r\n0\r\n\r\n"},
           {"ctl_in_extension", "5;a=\x01\r\nhello\r\n0\r\n\r\n"},
           {"bare_lf_in_extension", "5;a\nhello\r\n0\r\n\r\n"},
           {"garbage_after_size", "5x\r\nhello\r\n0\r\n\r\n"},
           {"space_without_extension", "5 \r\nhello\r\n0\r\n\r\n"},
           {"space_then_garbage", "5 x\r\nhello\r\n0\r\n\r\n"},
           {"bare_lf_in_trailers", "0\r\nX: 1\n\r\n"},
           {"bad_trailer_name", "0\r\nX Y: 1\r\n\r\n"},
           {"trailer_obs_fold", "0\r\nX: 1\r\n 2\r\n\r\n"},
           {"trailer_content_length", "0\r\nContent-Length: 5\r\n\r\n"},
           {"trailer_transfer_encoding", "0\r\nTransfer-Encoding: chunked\r\n\r\n"},
       }) {
    Decoded d = decodeAll(b.input);
    EXPECT_EQ(d.status, ParseStatus::kError) << b.name;
    EXPECT_EQ(d.error_status, 400) << b.name;
    EXPECT_FALSE(d.reason.empty()) << b.name;
  }
  // Their passing neighbours.
  EXPECT_EQ(decodeAll("5 ;a=b\r\nhello\r\n0\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_EQ(decodeAll("5;a=\"q t\"\r\nhello\r\n0\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_EQ(decodeAll("00005\r\nhello\r\n0\r\n\r\n").status, ParseStatus::kComplete);
}

// The vectors, each with the status the proxy answers with (the body had started
// streaming upstream when these bytes arrive, so only the decoder can say what was wrong).
TEST(ChunkedDecoder, EachFramingVectorHasItsStatusAndAReason) {
  struct Vector {
    const char* name;
    std::string input;
    int status;
  };
  for (const Vector& v : std::vector<Vector>{
           {"0x_prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400},
           {"negative", "-1\r\nx\r\n0\r\n\r\n", 400},
           {"overflow_64_bits", "1ffffffffffffffff\r\n", 400},
           {"garbage_after_size", "5x\r\nhello\r\n0\r\n\r\n", 400},
           {"lf_in_extension", "5;a=b\nc\r\nhello\r\n0\r\n\r\n", 400},
           {"extension_70k", "5;a=" + std::string(70 * 1024, 'x') + "\r\nhello\r\n0\r\n\r\n", 413},
       }) {
    Decoded whole = decodeAll(v.input);
    EXPECT_EQ(whole.status, ParseStatus::kError) << v.name;
    EXPECT_EQ(whole.error_status, v.status) << v.name;
    EXPECT_FALSE(whole.reason.empty()) << v.name;
    // The same verdict when the bytes come one at a time.
    std::vector<size_t> cuts;
    for (size_t i = 1; i < std::min<size_t>(v.input.size(), 5000); ++i) cuts.push_back(i);
    ChunkedDecoder dec;
    Decoded split = decodeInPieces(dec, v.input, cuts);
    EXPECT_EQ(split.error_status, v.status) << v.name;
    EXPECT_EQ(split.reason, whole.reason) << v.name;
  }
  // The extension cap's neighbour: 4 KiB of extension is still fine.
  EXPECT_EQ(decodeAll("5;a=" + std::string(4000, 'x') + "\r\nhello\r\n0\r\n\r\n").status,
            ParseStatus::kComplete);
}

TEST(ChunkedDecoder, OversizedTrailersAre431) {
  Limits limits;
  limits.max_headers = 2;
  limits.max_head_bytes = 64;
  ChunkedDecoder many(limits);
  EXPECT_EQ(decodeInPieces(many, "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", {}).error_status, 431);
  ChunkedDecoder large(limits);
  EXPECT_EQ(decodeInPieces(large, "0\r\nA: " + std::string(100, 'x'), {}).error_status, 431);
}

TEST(ChunkedDecoder, LimitsTrailerSection) {
  Limits limits;
  limits.max_headers = 2;
  limits.max_head_bytes = 64;
  ChunkedDecoder dec(limits);
  EXPECT_EQ(decodeInPieces(dec, "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", {}).status,
            ParseStatus::kError);
  ChunkedDecoder dec2(limits);
  EXPECT_EQ(decodeInPieces(dec2, "0\r\nA: " + std::string(100, 'x'), {}).status,
            ParseStatus::kError);
  ChunkedDecoder dec3(limits);
  EXPECT_EQ(decodeInPieces(dec3, "0\r\nA: 1\r\nB: 2\r\n\r\n", {}).status, ParseStatus::kComplete);
}

TEST(ChunkedDecoder, ResetAllowsReuse) {
  ChunkedDecoder dec;
  ASSERT_EQ(decodeInPieces(dec, "1\r\na\r\n0\r\nT: 1\r\n\r\n", {}).status, ParseStatus::kComplete);
  dec.reset();
  Decoded d = decodeInPieces(dec, "2\r\nbc\r\n0\r\n\r\n", {});
  ASSERT_EQ(d.status, ParseStatus::kComplete);
  EXPECT_EQ(d.body, "bc");
  EXPECT_TRUE(dec.trailers().empty());
}

TEST(ChunkEncoder, EncodesChunksThatTheDecoderReadsBack) {
  std::string out;
  appendChunk("hello", out);
  appendChunk("", out);  // writes nothing: a zero chunk would end the body
  appendChunk(std::string(300, 'z'), out);
  Headers trailers;
  trailers.add("X-T", "1");
  appendLastChunk(out, &trailers);
  EXPECT_TRUE(out.starts_with("5\r\nhello\r\n12c\r\n"));
  ChunkedDecoder dec;
  Decoded d = decodeInPieces(dec, out, {});
  ASSERT_EQ(d.status, ParseStatus::kComplete) << d.reason;
  EXPECT_EQ(d.body, "hello" + std::string(300, 'z'));
  EXPECT_EQ(*dec.trailers().get("X-T"), "1");
  std::string header;
  appendChunkHeader(0xABCDEF, header);
  EXPECT_EQ(header, "abcdef\r\n");
}

TEST(LengthDecoder, CountsTheDeclaredLength) {
  LengthDecoder d(5);
  EXPECT_EQ(d.take("abc"), "abc");
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.remaining(), 2u);
  EXPECT_EQ(d.take("defGET /"), "de");
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.take("more"), "");
}

}  // namespace
}  // namespace sluice::http

namespace sluice::http {
namespace {

// Differential check on random chunked soups: byte-by-byte feeding must agree with one-shot.
TEST(ChunkedDecoder, RandomInputsAgreeBetweenOneShotAndByteByByte) {
  testutil::PieceSampler sample({"0",
                                 "1",
                                 "5",
                                 "a",
                                 "F",
                                 "FFFFFFFFFFFFFFFFF",
                                 "\r\n",
                                 "\r\n",
                                 "\r\n",
                                 "\r",
                                 "\n",
                                 ";x=y",
                                 " ",
                                 "\t",
                                 "hello",
                                 "X: 1",
                                 "X : 1",
                                 "\x01",
                                 "Content-Length: 1",
                                 "zz"},
                                777);
  Limits limits;
  limits.max_head_bytes = 40;
  limits.max_headers = 3;
  for (int round = 0; round < 3000; ++round) {
    std::string raw = sample.next(25);
    ChunkedDecoder whole_dec(limits);
    Decoded whole = decodeInPieces(whole_dec, raw, {});
    std::vector<size_t> every;
    for (size_t k = 1; k < raw.size(); ++k) every.push_back(k);
    ChunkedDecoder split_dec(limits);
    Decoded split = decodeInPieces(split_dec, raw, every);
    ASSERT_EQ(split.status, whole.status) << ::testing::PrintToString(raw);
    if (whole.status != ParseStatus::kError) {
      EXPECT_EQ(split.body, whole.body) << ::testing::PrintToString(raw);
      EXPECT_EQ(split.consumed, whole.consumed) << ::testing::PrintToString(raw);
    }
  }
}

TEST(ResponseHeadParser, RandomInputsAgreeBetweenOneShotAndByteByByte) {
  testutil::PieceSampler sample(
      {"HTTP/1.1 200 OK", "HTTP/1.0 204", "HTTP/1.1 100 Continue", "\r\n", "\r\n", "\r", "\n",
       "Content-Length: 3", "Transfer-Encoding: chunked", "X: a\tb", "\x01", " ",
       "Connection: close"},
      99);
  Limits limits;
  limits.max_request_line = 30;
  limits.max_head_bytes = 120;
  limits.max_headers = 4;
  for (int round = 0; round < 3000; ++round) {
    std::string raw = sample.next(16);
    ResponseHead whole;
    HeadResult expected = parseResponseHead(raw, whole, false, limits);
    ResponseHeadParser parser(limits);
    ResponseHead head;
    HeadResult r;
    for (size_t k = 1; k <= raw.size(); ++k) {
      r = parser.parse(std::string_view(raw).substr(0, k), head);
      if (r.status != ParseStatus::kIncomplete) break;
    }
    if (raw.empty()) r = parser.parse(raw, head);
    ASSERT_EQ(r.status, expected.status) << ::testing::PrintToString(raw);
    if (r.status == ParseStatus::kComplete) {
      EXPECT_EQ(r.consumed, expected.consumed);
      EXPECT_EQ(head.status, whole.status);
      EXPECT_EQ(head.headers.entries(), whole.headers.entries());
      EXPECT_EQ(r.framing.kind, expected.framing.kind);
    }
  }
}

}  // namespace
}  // namespace sluice::http
