#include "net/dns_message.h"

#include <gtest/gtest.h>

namespace sluice::net::dns {
namespace {

// A stub resolver's query: id 0x1234, RD set, one question.
std::string makeQuery(std::string_view name, uint16_t type, uint16_t id = 0x1234) {
  std::string p = {
      static_cast<char>(id >> 8), static_cast<char>(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    p.push_back(static_cast<char>(dot - start));
    p.append(name.substr(start, dot - start));
    start = dot + 1;
  }
  p.push_back('\0');
  p.push_back(static_cast<char>(type >> 8));
  p.push_back(static_cast<char>(type & 0xFF));
  p.push_back(0);
  p.push_back(1);
  return p;
}

TEST(DnsMessage, ParsesAQuestionLowerCased) {
  auto q = parseQuery(makeQuery("Service-Provider.default.svc.cluster.local", 1));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_TRUE(q->recursionDesired());
  EXPECT_EQ(q->question.name, "service-provider.default.svc.cluster.local");
  EXPECT_EQ(q->question.type, 1);
  EXPECT_EQ(q->question.klass, 1);
}

TEST(DnsMessage, AnswerCarriesARecordsPointingAtTheQuestion) {
  auto q = parseQuery(makeQuery("service-provider", 1));
  ASSERT_TRUE(q);
  auto ip = *IpAddress::parse("240.240.0.7");
  auto r = buildResponse(*q, ResponseCode::kNoError, {ip}, 30);
  ASSERT_GE(r.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(r[0]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>(r[1]), 0x34);
  EXPECT_TRUE(static_cast<uint8_t>(r[2]) & 0x80);   // QR
  EXPECT_EQ(static_cast<uint8_t>(r[3]) & 0x0F, 0);  // NOERROR
  EXPECT_EQ(r[7], 1);                               // ANCOUNT
  EXPECT_EQ(r.substr(r.size() - 4), std::string("\xF0\xF0\x00\x07", 4));
  // The answer's name is a pointer to offset 12.
  size_t answer = makeQuery("service-provider", 1).size();
  EXPECT_EQ(static_cast<uint8_t>(r[answer]), 0xC0);
  EXPECT_EQ(static_cast<uint8_t>(r[answer + 1]), 12);
}

TEST(DnsMessage, NxdomainHasNoAnswers) {
  auto q = parseQuery(makeQuery("nope.example", 1));
  ASSERT_TRUE(q);
  auto r = buildResponse(*q, ResponseCode::kNameError, {});
  EXPECT_EQ(static_cast<uint8_t>(r[3]) & 0x0F, 3);
  EXPECT_EQ(r[7], 0);
}

TEST(DnsMessage, RejectsBrokenPacketsWithoutReadingPastTheEnd) {
  EXPECT_FALSE(parseQuery(""));
  EXPECT_FALSE(parseQuery(std::string(11, '\0')));
  auto good = makeQuery("a.b", 1);
  for (size_t cut = 12; cut < good.size(); ++cut) {
    EXPECT_FALSE(parseQuery(good.substr(0, cut))) << "cut at " << cut;
  }
  // Label longer than 63.
  auto long_label = makeQuery(std::string(64, 'x'), 1);
  auto r = parseQuery(long_label);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("label too long"), std::string::npos);
  // A pointer to itself (loop) and a forward pointer.
  std::string loop =
      good.substr(0, 12) + std::string("\xC0\x0C", 2) + std::string("\x00\x01\x00\x01", 4);
  EXPECT_FALSE(parseQuery(loop));
  // Two questions.
  auto two = good;
  two[5] = 2;
  EXPECT_FALSE(parseQuery(two));
  // A response is not a query.
  auto resp = good;
  resp[2] = static_cast<char>(0x81);
  EXPECT_FALSE(parseQuery(resp));
  // Name over 255 bytes.
  std::string huge_name;
  for (int i = 0; i < 5; ++i) huge_name += std::string(60, 'a') + ".";
  huge_name += "b";
  EXPECT_FALSE(parseQuery(makeQuery(huge_name, 1)));
}

// Found by fuzzing (tests/fuzz/corpus/dns_message/regress-dot-inside-label): one label
// "service-provider.default" read as the name of two labels, answered with a question that
// differs from the one asked.
TEST(DnsMessage, RefusesADotInsideALabel) {
  std::string p = makeQuery("x", 1);
  std::string label = "service-provider.default";
  p.replace(12, 2, std::string(1, static_cast<char>(label.size())) + label);
  auto q = parseQuery(p);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message.find("label contains '.'"), std::string::npos) << q.error().message;
}

TEST(DnsMessage, FormatErrorEchoesTheId) {
  auto r = formatError(0xBEEF);
  ASSERT_EQ(r.size(), 12u);
  EXPECT_EQ(peekId(r), 0xBEEF);
  EXPECT_EQ(static_cast<uint8_t>(r[3]) & 0x0F, 1);
}

}  // namespace
}  // namespace sluice::net::dns
