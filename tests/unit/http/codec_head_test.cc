#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/strings.h"
#include "http/codec.h"
#include "testutil/piece_sampler.h"

namespace sluice::http {
namespace {

// Feeds `raw` to one parser growing one byte at a time (the incremental path) and returns the
// first non-incomplete result, or the incomplete result at the end.
HeadResult feedByteByByte(std::string_view raw, RequestHead& head, Limits limits = {}) {
  RequestHeadParser parser(limits);
  HeadResult r;
  for (size_t k = 1; k <= raw.size(); ++k) {
    r = parser.parse(raw.substr(0, k), head);
    if (r.status != ParseStatus::kIncomplete) return r;
  }
  return r;
}

// Feeds `raw` split in two at `cut` (first part, then everything).
HeadResult feedSplit(std::string_view raw, size_t cut, RequestHead& head, Limits limits = {}) {
  RequestHeadParser parser(limits);
  HeadResult r = parser.parse(raw.substr(0, cut), head);
  if (r.status != ParseStatus::kIncomplete) return r;
  return parser.parse(raw, head);
}

void expectSameHead(const RequestHead& a, const RequestHead& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.scheme, b.scheme);
  EXPECT_EQ(a.authority, b.authority);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.headers.entries(), b.headers.entries());
}

constexpr std::string_view kGet =
    "GET /echo/world?x=1 HTTP/1.1\r\n"
    "Host: provider:8080\r\n"
    "User-Agent: test\r\n"
    "Accept: */*\r\n"
    "\r\n";

TEST(RequestHeadParser, ParsesOriginFormWithHost) {
  RequestHead head;
  HeadResult r = parseRequestHead(kGet, head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(r.consumed, kGet.size());
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/echo/world?x=1");
  EXPECT_EQ(head.version, Version::kHttp11);
  EXPECT_EQ(head.scheme, "");
  EXPECT_EQ(head.authority, "provider:8080");
  EXPECT_EQ(head.path, "/echo/world?x=1");
  ASSERT_EQ(head.headers.size(), 3u);
  EXPECT_EQ(head.headers.entries()[1].first, "User-Agent");
  EXPECT_EQ(*head.headers.get("accept"), "*/*");
  EXPECT_EQ(r.framing.kind, BodyKind::kNone);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.expect_continue);
}

TEST(RequestHeadParser, AbsoluteFormSplitsAuthorityAndPathAndWinsOverHost) {
  RequestHead head;
  HeadResult r =
      parseRequestHead("GET http://Provider:8080/echo/a?b=c HTTP/1.1\r\nHost: other\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.scheme, "http");
  EXPECT_EQ(head.authority, "Provider:8080");
  EXPECT_EQ(head.path, "/echo/a?b=c");
  EXPECT_EQ(head.target, "http://Provider:8080/echo/a?b=c");

  r = parseRequestHead("GET http://h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(head.path, "/");
  r = parseRequestHead("GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(head.authority, "h");
  EXPECT_EQ(head.path, "/?q=1");
}

TEST(RequestHeadParser, AbsoluteFormRejectsUserinfoAndEmptyAuthority) {
  RequestHead head;
  EXPECT_EQ(parseRequestHead("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", head).status,
            ParseStatus::kError);
  EXPECT_EQ(parseRequestHead("GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n", head).status,
            ParseStatus::kError);
  EXPECT_EQ(parseRequestHead("GET nonsense HTTP/1.1\r\nHost: h\r\n\r\n", head).status,
            ParseStatus::kError);
}

TEST(RequestHeadParser, ConnectAndAsteriskForms) {
  RequestHead head;
  HeadResult r = parseRequestHead("CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.authority, "db:5432");
  EXPECT_EQ(head.path, "");
  r = parseRequestHead("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.path, "*");
  EXPECT_EQ(head.authority, "h");
  EXPECT_EQ(parseRequestHead("GET * HTTP/1.1\r\nHost: h\r\n\r\n", head).status,
            ParseStatus::kError);
}

TEST(RequestHeadParser, Http10WithoutHostIsFineAndNotKeepAlive) {
  RequestHead head;
  HeadResult r = parseRequestHead("GET / HTTP/1.0\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.version, Version::kHttp10);
  EXPECT_FALSE(r.keep_alive);
  r = parseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_TRUE(r.keep_alive);
  r = parseRequestHead("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_FALSE(r.keep_alive);
}

TEST(RequestHeadParser, TrimsValueWhitespaceAndKeepsEmptyValues) {
  RequestHead head;
  HeadResult r =
      parseRequestHead("GET / HTTP/1.1\r\nHost:h\r\nX-A: \t a b \t\r\nX-Empty:\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(*head.headers.get("x-a"), "a b");
  EXPECT_EQ(*head.headers.get("x-empty"), "");
  EXPECT_EQ(head.authority, "h");
}

TEST(RequestHeadParser, SkipsLeadingEmptyLines) {
  RequestHead head;
  std::string raw = "\r\n\r\n" + std::string(kGet);
  HeadResult r = parseRequestHead(raw, head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(r.consumed, raw.size());
  EXPECT_EQ(head.method, "GET");
}

TEST(RequestHeadParser, ReportsFramingAndExpectContinue) {
  RequestHead head;
  HeadResult r = parseRequestHead(
      "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\nExpect: 100-Continue\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(r.framing.kind, BodyKind::kContentLength);
  EXPECT_EQ(r.framing.length, 42u);
  EXPECT_TRUE(r.expect_continue);
  EXPECT_TRUE(expectsContinue(head));

  r = parseRequestHead("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(r.framing.kind, BodyKind::kChunked);

  r = parseRequestHead("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.framing.kind, BodyKind::kContentLength);
  EXPECT_EQ(r.framing.length, 0u);
}

// Every rejection, each next to a close passing case.
struct Case {
  const char* name;
  std::string raw;
  int status;  // 0 = must parse
};

std::vector<Case> rejectionCases() {
  const std::string ok = "GET / HTTP/1.1\r\nHost: h\r\n";
  return {
      {"cl_and_te",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       400},
      {"te_only", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
      {"differing_cl", ok + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
      {"differing_cl_list", ok + "Content-Length: 3, 4\r\n\r\n", 400},
      // RFC 9110 §8.6 allows folding identical values; we reject (never forwarded as a list).
      {"identical_cl", ok + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n", 400},
      {"identical_cl_list", ok + "Content-Length: 3, 3\r\n\r\n", 400},
      {"identical_cl_list_no_space", ok + "Content-Length: 5,5\r\n\r\n", 400},
      {"cl_list_empty_item", ok + "Content-Length: 5,\r\n\r\n", 400},
      {"cl_padded", ok + "Content-Length:  5 \r\n\r\n", 0},
      {"cl_sign", ok + "Content-Length: +3\r\n\r\n", 400},
      {"cl_hex", ok + "Content-Length: 0x3\r\n\r\n", 400},
      {"cl_negative", ok + "Content-Length: -1\r\n\r\n", 400},
      {"cl_empty", ok + "Content-Length: \r\n\r\n", 400},
      {"cl_space_inside", ok + "Content-Length: 1 2\r\n\r\n", 400},
      {"cl_huge", ok + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      {"cl_digits", ok + "Content-Length: 12\r\n\r\n", 0},
      {"te_gzip", ok + "Transfer-Encoding: gzip\r\n\r\n", 501},
      {"te_gzip_chunked", ok + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"te_chunked_not_last", ok + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"te_chunked_twice", ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"te_chunked_upper", ok + "Transfer-Encoding: CHUNKED\r\n\r\n", 0},
      {"te_empty", ok + "Transfer-Encoding: \r\n\r\n", 400},
      {"te_garbage", ok + "Transfer-Encoding: chunked;x\r\n\r\n", 400},
      {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"name_bad_char", ok + "X(A): 1\r\n\r\n", 400},
      {"name_nul", ok + std::string("X\0A: 1\r\n\r\n", 10), 400},
      {"name_token", ok + "X-A_b.c~!: 1\r\n\r\n", 0},
      {"value_ctl", ok + "X-A: a\x01z\r\n\r\n", 400},
      {"value_nul", ok + std::string("X-A: a\0z\r\n\r\n", 12), 400},
      {"value_del", ok + "X-A: a\x7fz\r\n\r\n", 400},
      {"value_htab_obs_text", ok + "X-A: a\tz\xe4\r\n\r\n", 0},
      {"space_before_colon", ok + "X-A : 1\r\n\r\n", 400},
      {"tab_before_colon", ok + "X-A\t: 1\r\n\r\n", 400},
      {"empty_name", ok + ": 1\r\n\r\n", 400},
      {"missing_colon", ok + "X-A 1\r\n\r\n", 400},
      {"obs_fold", ok + "X-A: 1\r\n 2\r\n\r\n", 400},
      {"obs_fold_tab", ok + "X-A: 1\r\n\t2\r\n\r\n", 400},
      {"bare_lf_header", ok + "X-A: 1\nX-B: 2\r\n\r\n", 400},
      {"bare_lf_end", ok + "X-A: 1\r\n\n", 400},
      {"bare_lf_request_line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"bare_cr_value", ok + "X-A: 1\r2\r\n\r\n", 400},
      {"bare_cr_request_line", "GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n", 400},
      {"missing_host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
      {"two_hosts", ok + "Host: h\r\n\r\n", 400},
      {"bad_host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"bad_host_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
      {"host_ipv6", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0},
      {"method_bad", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"method_empty", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"double_sp_after_method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"double_sp_after_target", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"tab_separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"target_ctl", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"target_obs_text", "GET /\xe4 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"missing_version", "GET /\r\nHost: h\r\n\r\n", 400},
      {"version_lower", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"version_trailing_sp", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"version_2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"version_12", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
      {"version_10", "GET / HTTP/1.0\r\n\r\n", 0},
      {"custom_method", "PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n", 0},
  };
}

TEST(RequestHeadParser, RejectsAmbiguousOrMalformedHeadsAndAcceptsTheirNeighbours) {
  for (const Case& c : rejectionCases()) {
    RequestHead head;
    HeadResult r = parseRequestHead(c.raw, head);
    if (c.status == 0) {
      EXPECT_EQ(r.status, ParseStatus::kComplete) << c.name << ": " << r.error.reason;
      EXPECT_EQ(r.consumed, c.raw.size()) << c.name;
    } else {
      ASSERT_EQ(r.status, ParseStatus::kError) << c.name;
      EXPECT_EQ(r.error.status, c.status) << c.name << ": " << r.error.reason;
      EXPECT_FALSE(r.error.reason.empty()) << c.name;
    }
  }
}

// The value scanner works eight bytes at a time: a bad byte must be caught at every offset.
TEST(RequestHeadParser, ValueCharactersCheckedAtEveryOffset) {
  for (size_t k = 0; k < 24; ++k) {
    for (char bad : {'\x01', '\x7f', '\0', '\x1f', '\n'}) {
      std::string raw = "GET / HTTP/1.1\r\nHost: h\r\nX-V: " + std::string(k, 'a') + bad +
                        std::string(9, 'b') + "\r\n\r\n";
      RequestHead head;
      HeadResult r = parseRequestHead(raw, head);
      EXPECT_EQ(r.status, ParseStatus::kError) << k << " " << int(bad);
      EXPECT_EQ(r.error.status, 400);
    }
    for (std::string good : {"\t", "\xff", "\x80", " ", "~"}) {
      std::string value = std::string(k, 'a') + good + std::string(9, 'b');
      std::string raw = "GET / HTTP/1.1\r\nHost: h\r\nX-V: " + value + "\r\n\r\n";
      RequestHead head;
      HeadResult r = parseRequestHead(raw, head);
      ASSERT_EQ(r.status, ParseStatus::kComplete) << k << ": " << r.error.reason;
      // Leading whitespace is not part of the value (k == 0).
      EXPECT_EQ(*head.headers.get("X-V"), k == 0 ? std::string(trim(value)) : value);
    }
  }
}

TEST(RequestHeadParser, ErrorsNameTheProblem) {
  RequestHead head;
  HeadResult r = parseRequestHead("GET / HTTP/1.1\r\nHost: h\r\nX-Bad: a\x01\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_NE(r.error.reason.find("X-Bad"), std::string::npos) << r.error.reason;
  EXPECT_NE(r.error.reason.find("0x01"), std::string::npos) << r.error.reason;
  r = parseRequestHead(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      head);
  EXPECT_NE(r.error.reason.find("Content-Length and Transfer-Encoding"), std::string::npos);
}

TEST(RequestHeadParser, SameResultWhateverTheSplitPoint) {
  std::vector<Case> cases = rejectionCases();
  cases.push_back({"get", std::string(kGet), 0});
  cases.push_back({"leading_crlf", "\r\n" + std::string(kGet), 0});
  for (const Case& c : cases) {
    RequestHead whole;
    HeadResult expected = parseRequestHead(c.raw, whole);
    for (size_t cut = 0; cut <= c.raw.size(); ++cut) {
      RequestHead head;
      HeadResult r = feedSplit(c.raw, cut, head);
      ASSERT_EQ(r.status, expected.status) << c.name << " cut " << cut;
      if (r.status == ParseStatus::kComplete) {
        EXPECT_EQ(r.consumed, expected.consumed) << c.name << " cut " << cut;
        expectSameHead(head, whole);
      } else {
        EXPECT_EQ(r.error.status, expected.error.status) << c.name << " cut " << cut;
      }
    }
    RequestHead head;
    HeadResult r = feedByteByByte(c.raw, head);
    ASSERT_EQ(r.status, expected.status) << c.name << " byte by byte";
    if (r.status == ParseStatus::kComplete) {
      EXPECT_EQ(r.consumed, expected.consumed);
      expectSameHead(head, whole);
    } else {
      EXPECT_EQ(r.error.status, expected.error.status) << c.name;
    }
  }
}

// Differential check on random token soups: incremental feeding must agree with one-shot parsing
// whatever the input (deterministic seed, bounded count).
TEST(RequestHeadParser, RandomInputsAgreeBetweenOneShotAndByteByByte) {
  testutil::PieceSampler sample({"GET",
                                 "POST",
                                 " ",
                                 "  ",
                                 "/",
                                 "/a?b",
                                 "http://h:1/x",
                                 "HTTP/1.1",
                                 "HTTP/1.0",
                                 "HTTP/2.0",
                                 "\r\n",
                                 "\r\n",
                                 "\r\n",
                                 "\r",
                                 "\n",
                                 "Host",
                                 ": ",
                                 ":",
                                 "h",
                                 "Content-Length",
                                 "5",
                                 "1, 1",
                                 "Transfer-Encoding",
                                 "chunked",
                                 "gzip",
                                 "\t",
                                 "\x01",
                                 "\x7f",
                                 "\xe4",
                                 "X-A",
                                 "Connection",
                                 "close",
                                 "Expect",
                                 "100-continue"},
                                12345);
  Limits limits;
  limits.max_request_line = 40;
  limits.max_head_bytes = 200;
  limits.max_headers = 6;
  for (int round = 0; round < 3000; ++round) {
    std::string raw = std::string(round % 2 == 0 ? "GET / HTTP/1.1\r\n" : "") + sample.next(30);
    if (round % 3 == 0) raw += "\r\n\r\n";
    RequestHead whole;
    HeadResult expected = parseRequestHead(raw, whole, limits);
    RequestHead head;
    HeadResult r = feedByteByByte(raw, head, limits);
    ASSERT_EQ(r.status, expected.status) << testing::PrintToString(raw);
    if (r.status == ParseStatus::kComplete) {
      EXPECT_EQ(r.consumed, expected.consumed);
      expectSameHead(head, whole);
    } else if (r.status == ParseStatus::kError) {
      EXPECT_EQ(r.error.status, expected.error.status) << testing::PrintToString(raw);
    }
  }
}

TEST(RequestHeadParser, IncompleteUntilBlankLine) {
  RequestHead head;
  RequestHeadParser parser;
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: h\r\n", head).status, ParseStatus::kIncomplete);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: h\r\n\r", head).status, ParseStatus::kIncomplete);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", head).status, ParseStatus::kComplete);
  EXPECT_EQ(parser.parse("", head).status, ParseStatus::kIncomplete);
}

TEST(RequestHeadParser, PipelinedHeadsParseOneAfterAnother) {
  std::string buf = std::string(kGet) +
                    "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi" +
                    "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  RequestHeadParser parser;
  RequestHead head;
  std::vector<std::string> targets;
  for (int i = 0; i < 3; ++i) {
    HeadResult r = parser.parse(buf, head);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << i << ": " << r.error.reason;
    targets.push_back(head.target);
    buf.erase(0, r.consumed);
    if (r.framing.kind == BodyKind::kContentLength) {
      LengthDecoder body(r.framing.length);
      EXPECT_EQ(body.take(buf), "hi");
      EXPECT_TRUE(body.done());
      buf.erase(0, 2);
    }
    if (i == 2) {
      EXPECT_FALSE(r.keep_alive);
    }
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/echo/world?x=1", "/b", "/c"}));
  EXPECT_TRUE(buf.empty());
}

TEST(RequestHeadParser, ReusedHeadIsFullyReplaced) {
  RequestHead head;
  ASSERT_EQ(parseRequestHead(kGet, head).status, ParseStatus::kComplete);
  ASSERT_EQ(head.headers.size(), 3u);
  HeadResult r = parseRequestHead("PUT http://a:1/z HTTP/1.0\r\nX-Only: 1\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.method, "PUT");
  EXPECT_EQ(head.version, Version::kHttp10);
  EXPECT_EQ(head.authority, "a:1");
  ASSERT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(head.headers.entries()[0], (Headers::Entry{"X-Only", "1"}));
  ASSERT_EQ(parseRequestHead(kGet, head).status, ParseStatus::kComplete);
  EXPECT_EQ(head.scheme, "");
  EXPECT_EQ(head.authority, "provider:8080");
  EXPECT_EQ(head.headers.size(), 3u);
}

TEST(RequestHeadParser, LimitsGive414And431) {
  Limits limits;
  limits.max_request_line = 32;
  limits.max_head_bytes = 128;
  limits.max_headers = 3;
  RequestHead head;
  std::string long_line = "GET /" + std::string(40, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(parseRequestHead(long_line, head, limits).error.status, 414);
  // Detected before the line ends: an attacker cannot make us wait for a CRLF.
  EXPECT_EQ(parseRequestHead("GET /" + std::string(40, 'a'), head, limits).error.status, 414);
  std::string fits = "GET /" + std::string(18, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(parseRequestHead(fits, head, limits).status, ParseStatus::kComplete);

  std::string many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  EXPECT_EQ(parseRequestHead(many, head, limits).error.status, 431);
  std::string three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  EXPECT_EQ(parseRequestHead(three, head, limits).status, ParseStatus::kComplete);

  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nA: " + std::string(200, 'x') + "\r\n\r\n";
  EXPECT_EQ(parseRequestHead(big, head, limits).error.status, 431);
  // Without ever finishing the head.
  EXPECT_EQ(parseRequestHead(big.substr(0, 150), head, limits).error.status, 431);
}

TEST(ResponseHeadParser, ParsesStatusLineReasonAndHeaders) {
  ResponseHead head;
  HeadResult r =
      parseResponseHead("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nX-A: b\r\n\r\nnope!", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "Not Found");
  EXPECT_EQ(head.version, Version::kHttp11);
  EXPECT_EQ(*head.headers.get("x-a"), "b");
  EXPECT_EQ(r.framing.kind, BodyKind::kContentLength);
  EXPECT_EQ(r.framing.length, 5u);
  EXPECT_TRUE(r.keep_alive);

  r = parseResponseHead("HTTP/1.0 200\r\n\r\n", head);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error.reason;
  EXPECT_EQ(head.reason, "");
  EXPECT_EQ(r.framing.kind, BodyKind::kUntilClose);
  EXPECT_FALSE(r.keep_alive);
}

TEST(ResponseHeadParser, RejectsMalformedWith502) {
  ResponseHead head;
  for (std::string raw :
       {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\nX: 1\r\n\r\n", "HTTP/1.1 099 OK\r\n\r\n"}) {
    HeadResult r = parseResponseHead(raw, head);
    ASSERT_EQ(r.status, ParseStatus::kError) << raw;
    EXPECT_EQ(r.error.status, 502) << raw;
  }
}

TEST(ResponseHeadParser, SameResultWhateverTheSplitPoint) {
  std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
  ResponseHead whole;
  HeadResult expected = parseResponseHead(raw, whole);
  ASSERT_EQ(expected.status, ParseStatus::kComplete);
  for (size_t cut = 0; cut <= raw.size(); ++cut) {
    ResponseHeadParser parser;
    ResponseHead head;
    HeadResult r = parser.parse(std::string_view(raw).substr(0, cut), head);
    if (r.status == ParseStatus::kIncomplete) r = parser.parse(raw, head);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << cut;
    EXPECT_EQ(r.consumed, raw.size());
    EXPECT_EQ(head.headers.entries(), whole.headers.entries());
    EXPECT_EQ(r.framing.kind, BodyKind::kChunked);
  }
}

// RFC 9112 §6.3 decision table.
TEST(Framing, ResponseTable) {
  struct Row {
    std::string head;
    bool request_was_head;
    BodyKind kind;
    uint64_t length;
  };
  std::vector<Row> rows = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", true, BodyKind::kNone, 0},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false, BodyKind::kNone, 0},
      {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, BodyKind::kNone,
       0},
      {"HTTP/1.1 100 Continue\r\n\r\n", false, BodyKind::kNone, 0},
      {"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, BodyKind::kNone, 0},
      {"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", false, BodyKind::kContentLength, 7},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, BodyKind::kChunked, 0},
      {"HTTP/1.1 200 OK\r\n\r\n", false, BodyKind::kUntilClose, 0},
      {"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", false, BodyKind::kContentLength, 0},
  };
  for (const Row& row : rows) {
    ResponseHead head;
    HeadResult r = parseResponseHead(row.head, head, row.request_was_head);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << row.head << r.error.reason;
    EXPECT_EQ(r.framing.kind, row.kind) << row.head;
    EXPECT_EQ(r.framing.length, row.length) << row.head;
    FramingResult f = responseFraming(head, row.request_was_head);
    ASSERT_EQ(f.status, ParseStatus::kComplete);
    EXPECT_EQ(f.framing.kind, row.kind) << row.head;
  }
}

TEST(Framing, RequestFramingFromBuiltHeads) {
  RequestHead head;
  head.headers.add("Host", "h");
  EXPECT_EQ(requestFraming(head).framing.kind, BodyKind::kNone);
  head.headers.add("Content-Length", "12");
  EXPECT_EQ(requestFraming(head).framing.kind, BodyKind::kContentLength);
  EXPECT_EQ(requestFraming(head).framing.length, 12u);
  head.headers.add("Transfer-Encoding", "chunked");
  EXPECT_EQ(requestFraming(head).status, ParseStatus::kError);
  head.headers.remove("Content-Length");
  EXPECT_EQ(requestFraming(head).framing.kind, BodyKind::kChunked);
  head.headers.set("Transfer-Encoding", "br");
  EXPECT_EQ(requestFraming(head).error.status, 501);
}

TEST(ConnectionHelpers, KeepAliveRules) {
  Headers h;
  EXPECT_TRUE(keepAlive(Version::kHttp11, h));
  EXPECT_FALSE(keepAlive(Version::kHttp10, h));
  h.add("Connection", "Keep-Alive");
  EXPECT_TRUE(keepAlive(Version::kHttp10, h));
  h.add("connection", "upgrade, CLOSE");
  EXPECT_FALSE(keepAlive(Version::kHttp11, h));
  EXPECT_TRUE(connectionHas(h, "upgrade"));
}

TEST(ConnectionHelpers, RemovesHopByHopButKeepsEndToEndAndFraming) {
  Headers h;
  h.add("Host", "h");
  h.add("Connection", "X-Secret, keep-alive, Host, Content-Length");
  h.add("Keep-Alive", "timeout=5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("TE", "trailers");
  h.add("Transfer-Encoding", "chunked");
  h.add("Upgrade", "websocket");
  h.add("Trailer", "X-T");
  h.add("X-Secret", "1");
  h.add("Proxy-Authorization", "Basic x");
  h.add("Content-Length", "3");
  h.add("X-Request-Id", "abc");
  removeHopByHop(h);
  std::vector<std::string> names;
  for (const auto& e : h.entries()) names.push_back(e.first);
  EXPECT_EQ(names, (std::vector<std::string>{"Host", "Proxy-Authorization", "Content-Length",
                                             "X-Request-Id"}));
}

TEST(Serializer, RoundTripsRequestAndResponseHeads) {
  RequestHead req;
  ASSERT_EQ(parseRequestHead(kGet, req).status, ParseStatus::kComplete);
  std::string out;
  serializeRequestHead(req, out);
  EXPECT_EQ(out, kGet);

  ResponseHead resp;
  resp.status = 201;
  resp.headers.add("Content-Length", "0");
  out.clear();
  serializeResponseHead(resp, out);
  EXPECT_EQ(out, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  resp.reason = "Made";
  resp.version = Version::kHttp10;
  out.clear();
  serializeResponseHead(resp, out);
  EXPECT_EQ(out, "HTTP/1.0 201 Made\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace sluice::http
