#include "proxy/protocol_sniffer.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

TEST(ProtocolSniffer, CompleteRequestLinesAreHttp) {
  EXPECT_EQ(sniffHttp("GET / HTTP/1.1\r\n"), Sniffed::kHttp);
  EXPECT_EQ(sniffHttp("POST /echo/x?y=1 HTTP/1.0\r\nHost: a\r\n\r\n"), Sniffed::kHttp);
  EXPECT_EQ(sniffHttp("GET http://svc:8070/x HTTP/1.1\n"), Sniffed::kHttp);
  EXPECT_EQ(sniffHttp("PROPFIND /dav HTTP/1.1\r\n"), Sniffed::kHttp);
}

TEST(ProtocolSniffer, EveryProperPrefixOfARequestLineNeedsMore) {
  const std::string line = "GET /nacos/v1/ns/instance/list?serviceName=x HTTP/1.1\r\n";
  for (size_t n = 0; n + 1 < line.size(); ++n) {
    EXPECT_EQ(sniffHttp(std::string_view(line).substr(0, n)), Sniffed::kNeedMore) << n;
  }
  EXPECT_EQ(sniffHttp(line), Sniffed::kHttp);
}

TEST(ProtocolSniffer, NonHttpIsRecognisedAtTheFirstImpossibleByte) {
  EXPECT_EQ(sniffHttp(std::string_view("\x16\x03\x01\x02\x00", 5)), Sniffed::kOther);  // TLS
  EXPECT_EQ(sniffHttp("get / HTTP/1.1\r\n"), Sniffed::kOther);  // methods are upper case
  EXPECT_EQ(sniffHttp("PING\r\n"), Sniffed::kOther);
  EXPECT_EQ(sniffHttp("GET  / HTTP/1.1\r\n"), Sniffed::kOther);  // empty target
  EXPECT_EQ(sniffHttp("GET / HTTP/1.2\r\n"), Sniffed::kOther);
  EXPECT_EQ(sniffHttp("GET / HTTP/1.1\rX"), Sniffed::kOther);
  EXPECT_EQ(sniffHttp("GET / SSH-2.0\r\n"), Sniffed::kOther);
  EXPECT_EQ(sniffHttp(std::string(30, 'A')), Sniffed::kOther);  // no method is that long
  EXPECT_EQ(sniffHttp(std::string_view("\0\0\0\x08", 4)), Sniffed::kOther);
}

TEST(ProtocolSniffer, TheHttp2PrefaceIsHttp2AndEachProperPrefixWaits) {
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  EXPECT_EQ(sniffHttp(preface), Sniffed::kHttp2);
  EXPECT_EQ(sniffHttp(preface + "\0\0\x12\x04"), Sniffed::kHttp2);  // SETTINGS follows
  for (size_t n = 1; n < preface.size(); ++n) {
    EXPECT_EQ(sniffHttp(preface.substr(0, n)), Sniffed::kNeedMore) << n;
  }
  EXPECT_EQ(sniffHttp("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), Sniffed::kOther);
  EXPECT_EQ(sniffHttp("POST / HTTP/1.1\r\n"), Sniffed::kHttp);
}

TEST(ProtocolSniffer, AnOverlongTargetIsHttpSoTheCodecAnswers414) {
  std::string line = "GET /" + std::string(kMaxSniffedLine, 'a');
  EXPECT_EQ(sniffHttp(line), Sniffed::kHttp);
}

}  // namespace
}  // namespace sluice::proxy
