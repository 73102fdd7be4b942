// The server codec interface (http/codec.h ServerCodec) over HTTP/1.1: bytes in, one callback
// per request head or protocol error, at every split of the input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/codec.h"

namespace sluice::http {
namespace {

struct Recorder final : ServerCodecCallbacks {
  std::vector<std::string> events;
  HeadResult last;
  void onRequestHead(RequestHead& head, const HeadResult& r) override {
    events.push_back(head.method + " " + head.target);
    last = r;
  }
  void onProtocolError(const HeadResult& r) override {
    events.push_back("error " + std::to_string(r.error.status));
    last = r;
  }
};

TEST(ServerCodec, OneRequestHeadCallbackAtEverySplit) {
  const std::string wire = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    auto codec = makeHttp1ServerCodec(Limits{});
    Recorder rec;
    RequestHead head;
    codec->onIngress(std::string_view(wire).substr(0, cut), head, rec);
    if (rec.events.empty()) codec->onIngress(wire, head, rec);
    ASSERT_EQ(rec.events, std::vector<std::string>{"POST /a"}) << cut;
    EXPECT_EQ(rec.last.framing.kind, BodyKind::kContentLength);
    EXPECT_EQ(rec.last.framing.length, 3u);
    EXPECT_EQ(wire.substr(rec.last.consumed), "abc");
  }
}

TEST(ServerCodec, PipelinedHeadsComeOneCallPerHead) {
  const std::string wire = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  auto codec = makeHttp1ServerCodec(Limits{});
  Recorder rec;
  RequestHead head;
  std::string_view rest = wire;
  codec->onIngress(rest, head, rec);
  rest.remove_prefix(rec.last.consumed);
  codec->onIngress(rest, head, rec);
  EXPECT_EQ(rec.events, (std::vector<std::string>{"GET /1", "GET /2"}));
}

TEST(ServerCodec, MalformedInputIsOneProtocolErrorWithItsStatus) {
  auto codec = makeHttp1ServerCodec(Limits{});
  Recorder rec;
  RequestHead head;
  codec->onIngress("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                   head, rec);
  ASSERT_EQ(rec.events, std::vector<std::string>{"error 400"});
  EXPECT_FALSE(rec.last.error.reason.empty());
}

TEST(ServerCodec, NoCallbackWhileTheHeadIsIncomplete) {
  auto codec = makeHttp1ServerCodec(Limits{});
  Recorder rec;
  RequestHead head;
  codec->onIngress("GET / HTTP/1.1\r\nHo", head, rec);
  EXPECT_TRUE(rec.events.empty());
}

}  // namespace
}  // namespace sluice::http
